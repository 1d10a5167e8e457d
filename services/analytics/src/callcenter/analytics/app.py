from fastapi import FastAPI

from callcenter.analytics.api_staffing import router as staffing_router
from callcenter.analytics.settings import Settings
from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime

DESCRIPTION = "KPIs folded from every topic, the live wallboard and Erlang C staffing."


def create_app(settings: Settings | None = None) -> FastAPI:
    # Analytics reads every topic and publishes nothing.
    runtime = Runtime(settings or Settings(), publishes=False)
    return create_service_app(
        runtime, title="Analytics", description=DESCRIPTION, routers=[staffing_router]
    )
