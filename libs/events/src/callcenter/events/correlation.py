"""The correlation id of the work in hand (an HTTP request, an event being applied).

Set by the HTTP middleware and by consumers around each handler; JSON logs print it.
"""

from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
