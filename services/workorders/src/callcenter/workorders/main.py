"""``callcenter-workorders migrate|serve``."""

from callcenter.events.kit.cli import service_command
from callcenter.workorders.app import create_app
from callcenter.workorders.settings import Settings

main = service_command("callcenter.workorders", Settings, create_app)
