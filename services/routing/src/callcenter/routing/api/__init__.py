"""Routing's HTTP API: queues, agents, calls, callbacks and settings."""

from callcenter.routing.api import agents, calls, queues, tenant_settings

ROUTERS = [queues.router, agents.router, calls.router, tenant_settings.router]
