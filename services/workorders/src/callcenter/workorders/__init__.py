"""Work orders: tickets, their workflow (open, dispatch, reply, follow up, close,
cancel) and SLA timers."""
