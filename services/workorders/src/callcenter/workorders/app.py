from fastapi import FastAPI

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime
from callcenter.workorders.settings import Settings

DESCRIPTION = (
    "Tickets and their workflow: open, dispatch, reply, follow up, close, cancel; SLA timers."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or Settings(), publishes=True)
    return create_service_app(runtime, title="Work orders", description=DESCRIPTION)
