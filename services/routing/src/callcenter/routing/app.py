from fastapi import FastAPI

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.changes import Changes
from callcenter.events.kit.runtime import Runtime
from callcenter.routing.acd import Acd
from callcenter.routing.api import ROUTERS, console
from callcenter.routing.consumers import record_in_inbox
from callcenter.routing.settings import Settings

DESCRIPTION = (
    "The automatic call distributor: queues with skills and levels, agents and their states, "
    "eight strategies, tiered overflow, priority with aging, preferred agents, callbacks, "
    "and an explanation for every assignment."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings)
    changes = Changes()  # the console's streams wait on it

    def committed() -> None:
        runtime.committed()
        changes.notify()

    acd = Acd(runtime.db, on_commit=committed, snapshot_every=settings.snapshot_every)
    runtime.background("acd", acd.run)
    runtime.background("timers", acd.tick_loop)
    runtime.consume("ivr", ["callcenter.ivr"], record_in_inbox, on_commit=acd.inbox_filled)
    runtime.consume("crm", ["callcenter.crm"], record_in_inbox, on_commit=acd.inbox_filled)
    app = create_service_app(
        runtime, title="Routing (ACD)", description=DESCRIPTION, routers=ROUTERS
    )
    app.state.acd = acd
    app.state.changes = changes
    app.include_router(console.page)
    return app
