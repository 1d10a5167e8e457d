from fastapi import FastAPI

from callcenter.crm.settings import Settings
from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime

DESCRIPTION = "Customers, screen pop, the interaction timeline, segments and the knowledge base."


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or Settings(), publishes=True)
    return create_service_app(runtime, title="CRM", description=DESCRIPTION)
