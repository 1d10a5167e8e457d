"""Work orders: tickets and their workflow: open, dispatch, reply, follow up, close, cancel; SLA timers."""
