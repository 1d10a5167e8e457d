"""``callcenter-analytics migrate|serve|fold``."""

from callcenter.analytics import offline
from callcenter.analytics.app import create_app
from callcenter.analytics.settings import Settings
from callcenter.events.kit.cli import service_command

main = service_command("callcenter.analytics", Settings, create_app, tools={"fold": offline.main})
