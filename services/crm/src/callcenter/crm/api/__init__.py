"""The CRM's HTTP API: customers, the screen pop, notes and the timeline, segments."""

from callcenter.crm.api import customers, export, screen_pop, segments, timeline

ROUTERS = [
    customers.router,
    screen_pop.router,
    timeline.router,
    export.router,
    segments.router,
]
