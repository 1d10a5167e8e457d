from fastapi import FastAPI

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime
from callcenter.routing.settings import Settings

DESCRIPTION = (
    "Queues, agents, skills, strategies, overflow and timers: the automatic call distributor."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or Settings(), publishes=True)
    return create_service_app(runtime, title="Routing (ACD)", description=DESCRIPTION)
