"""``callcenter-routing migrate|serve``."""

from callcenter.events.kit.cli import service_command
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings

main = service_command("callcenter.routing", Settings, create_app)
