from fastapi import FastAPI

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime
from callcenter.ivr.settings import Settings

DESCRIPTION = "The call-control edge and the IVR flow engine: every call enters here."


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or Settings(), publishes=True)
    return create_service_app(runtime, title="IVR", description=DESCRIPTION)
