"""Load shedding: a bound on the requests a service handles at once.

Past ``max_in_flight_requests`` a request is refused at once with ``429 Too Many
Requests`` (problem+json, ``Retry-After``) instead of queueing behind the others:
callers back off and retry, latency of what is accepted stays bounded, and the
process does not pile up work it cannot finish. Health, readiness and metrics
are never shed (probes must answer under load). A slot is held until the
response starts, so a long-lived event stream does not hold one.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.events.kit.problems import send_problem

SHED = Counter(
    "callcenter_http_shed_requests_total",
    "Requests refused with 429 because the service had too many in flight",
    ["service"],
)
NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class LoadSheddingMiddleware:
    def __init__(
        self, app: ASGIApp, *, service: str, limit: int, retry_after_seconds: int = 1
    ) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.app = app
        self.service = service
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            SHED.labels(self.service).inc()
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.in_flight -= 1

        async def send_releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            release()

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = (f"The service is handling {self.limit} requests; retry after "
                  f"{self.retry_after_seconds} s.")  # fmt: skip
        retry_after = {"retry-after": str(self.retry_after_seconds)}
        await send_problem(scope, send, 429, detail, retry_after)
