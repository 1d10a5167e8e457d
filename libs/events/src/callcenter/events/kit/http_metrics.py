"""Prometheus HTTP metrics, labelled by route template rather than raw path."""

import time

from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "callcenter_http_requests_total",
    "HTTP requests handled",
    ["service", "method", "route", "status"],
)
LATENCY = Histogram(
    "callcenter_http_request_seconds",
    "HTTP request handling time",
    ["service", "method", "route"],
)

UNMATCHED = "unmatched"


def _route_template(scope: Scope) -> str:
    """The template of the route the app selected, e.g. ``/v1/calls/{call_id}``.

    Since FastAPI 0.137, ``scope["route"]`` of a route added through
    ``include_router`` has its path without the include prefixes; the full
    template is found by walking the app's effective routes. A route inside a
    mounted sub-application keeps its own, mount-relative, template.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    for context in iter_route_contexts(scope["app"].routes):
        if context.original_route is route and context.path_format:
            return context.path_format
    return getattr(route, "path_format", UNMATCHED)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        # A route's template, found once: the walk over the app's routes costs
        # more than the rest of the middleware. Keyed by id (routes are not
        # hashable), the route kept beside it so that an id is never reused.
        self._templates: dict[int, tuple[object, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before responding

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route = self._template(scope)
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        known = self._templates.get(id(route))
        if known is None:
            known = self._templates[id(route)] = (route, _route_template(scope))
        return known[1]


async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
