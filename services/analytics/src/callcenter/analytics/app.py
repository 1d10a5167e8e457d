"""Analytics: KPIs folded from every topic, the live wallboard and Erlang C staffing."""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from callcenter.analytics import api, gauges
from callcenter.analytics.api_staffing import router as staffing_router
from callcenter.analytics.service import TOPICS, Analytics, archive
from callcenter.analytics.settings import Settings
from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime

DESCRIPTION = "KPIs folded from every topic, the live wallboard and Erlang C staffing."
WALLBOARD = files("callcenter.analytics").joinpath("wallboard.html")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Analytics reads every topic and publishes nothing.
    runtime = Runtime(settings, publishes=False)
    analytics = Analytics(runtime.db)
    # One consumer for every topic: its transactions, hence archive positions, are serial.
    runtime.consume("events", TOPICS, archive)
    runtime.background("fold", analytics.run)
    app = create_service_app(
        runtime, title="Analytics", description=DESCRIPTION, routers=[api.router, staffing_router]
    )
    app.state.analytics = analytics
    gauges.expose(analytics)

    @app.get("/wallboard", response_class=HTMLResponse, include_in_schema=False)
    async def wallboard() -> str:
        return WALLBOARD.read_text()

    return app
