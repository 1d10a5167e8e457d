"""Work orders: tickets, their workflow (open, dispatch, reply, follow up, close,
cancel) and SLA timers."""

from fastapi import FastAPI

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime
from callcenter.workorders.api import ROUTERS
from callcenter.workorders.consumers import ticket_opener
from callcenter.workorders.settings import Settings
from callcenter.workorders.tickets import Tickets

DESCRIPTION = (
    "Tickets and their workflow: open, dispatch, reply, follow up, pending, resolve, close, "
    "cancel, reopen, merge; per-tenant ticket types; SLA clocks on business-hours calendars "
    "that pause while pending on the customer, with warnings, breaches and escalation."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, publishes=True)
    service = Tickets(runtime.db, on_commit=runtime.committed, tick_seconds=settings.tick_seconds)
    runtime.background("timers", service.tick_loop)
    opener = ticket_opener(settings)
    runtime.consume("ivr", ["callcenter.ivr"], opener)
    runtime.consume("routing", ["callcenter.routing"], opener)
    app = create_service_app(runtime, title="Work orders", description=DESCRIPTION, routers=ROUTERS)
    app.state.tickets = service
    app.state.settings = settings
    return app
