"""``callcenter-analytics migrate|serve``."""

from callcenter.events.kit.cli import service_command
from callcenter.analytics.app import create_app
from callcenter.analytics.settings import Settings

main = service_command("callcenter.analytics", Settings, create_app)
