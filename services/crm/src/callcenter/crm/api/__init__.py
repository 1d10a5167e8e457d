"""The CRM's HTTP API: customers, the screen pop, notes and the timeline."""

from callcenter.crm.api import customers, export, screen_pop, timeline

ROUTERS = [customers.router, screen_pop.router, timeline.router, export.router]
