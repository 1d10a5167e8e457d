"""The CRM's HTTP API: customers and the screen pop."""

from callcenter.crm.api import customers, screen_pop

ROUTERS = [customers.router, screen_pop.router]
