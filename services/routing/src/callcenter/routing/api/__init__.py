"""Routing's HTTP API: queues, agents, calls and callbacks."""

from callcenter.routing.api import agents, calls, queues

ROUTERS = [queues.router, agents.router, calls.router]
