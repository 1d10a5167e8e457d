"""Routing's HTTP API: queues, agents, calls, callbacks and settings."""

from callcenter.routing.api import agents, calls, queues, supervisors, tenant_settings

ROUTERS = [queues.router, agents.router, calls.router, tenant_settings.router, supervisors.router]
