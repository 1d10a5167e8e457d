"""Routing's HTTP API: queues, agents, calls, callbacks and settings."""

from callcenter.routing.api import (
    agents,
    calls,
    campaigns,
    console,
    queues,
    supervisors,
    tenant_settings,
)

ROUTERS = [
    queues.router,
    agents.router,
    calls.router,
    tenant_settings.router,
    console.router,
    supervisors.router,
    campaigns.router,
]
