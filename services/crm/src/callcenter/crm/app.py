from fastapi import FastAPI

from callcenter.crm import history
from callcenter.crm.api import ROUTERS
from callcenter.crm.consumers import ivr_handler, routing_handler
from callcenter.crm.kb.api import router as kb_router
from callcenter.crm.kb.demo import demo_loader
from callcenter.crm.settings import Settings
from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime

DESCRIPTION = (
    "Customers (phones as E.164, duplicate detection, tiers, tags) and the screen pop: "
    "each arriving caller identified by number, with the card an agent sees."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, publishes=True)
    runtime.consume("ivr", ["callcenter.ivr"], ivr_handler(settings))
    runtime.consume("routing", ["callcenter.routing"], routing_handler(settings))
    runtime.consume("workorders", ["callcenter.workorders"], history.on_workorders)
    if settings.demo_tenant:
        runtime.background("demo-articles", demo_loader(runtime.db, settings.demo_tenant))
    app = create_service_app(
        runtime, title="CRM", description=DESCRIPTION, routers=[*ROUTERS, kb_router]
    )
    app.state.settings = settings
    return app
