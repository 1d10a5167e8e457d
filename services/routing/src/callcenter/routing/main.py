"""``callcenter-routing migrate|serve|simulate``."""

from callcenter.events.kit.cli import service_command
from callcenter.routing import simulate
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings

main = service_command("callcenter.routing", Settings, create_app, {"simulate": simulate.main})
