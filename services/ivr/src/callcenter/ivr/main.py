"""``callcenter-ivr migrate|serve``."""

from callcenter.events.kit.cli import service_command
from callcenter.ivr.app import create_app
from callcenter.ivr.settings import Settings

main = service_command("callcenter.ivr", Settings, create_app)
