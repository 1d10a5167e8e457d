"""``callcenter-crm migrate|serve``."""

from callcenter.events.kit.cli import service_command
from callcenter.crm.app import create_app
from callcenter.crm.settings import Settings

main = service_command("callcenter.crm", Settings, create_app)
