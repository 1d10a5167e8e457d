"""``callcenter-crm migrate|serve``."""

from callcenter.crm.app import create_app
from callcenter.crm.settings import Settings
from callcenter.events.kit.cli import service_command

main = service_command("callcenter.crm", Settings, create_app)
