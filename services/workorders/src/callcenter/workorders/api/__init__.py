"""The work orders HTTP API: tickets and ticket types."""

from callcenter.workorders.api import tickets, types

ROUTERS = [tickets.router, types.router]
