"""Per-tenant rate limit: one tenant's burst of requests cannot take a service from
the others.

Each tenant has a token bucket of ``burst`` requests refilled at ``rate`` per second;
the tenant is the one of the request's bearer token (header, or ``access_token`` on
event streams) once verified, so a forged token cannot spend another tenant's
budget. A request without a valid token spends its client address's bucket. Past
the budget: ``429 Too Many Requests`` problem+json with ``Retry-After``. Health,
readiness and metrics are never limited. The buckets are per process: a service
with N replicas lets a tenant make N times the rate.
"""

from __future__ import annotations

import math
import time
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from callcenter.events.kit.auth import verified_tokens
from callcenter.events.kit.problems import ProblemError, send_problem
from callcenter.events.kit.shedding import NEVER_SHED

Client = tuple[str, str]  # ("tenant", name) or ("address", host)


class TokenBuckets:
    """A bucket per client, the least recently seen forgotten past ``size`` clients
    (a forgotten bucket starts full again, as a new client's does)."""

    def __init__(self, rate: float, burst: int, size: int = 65536) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.size = size
        self._buckets: dict[Client, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: Client, now: float) -> float:
        """Takes a token: 0 when there was one, else the seconds until there is."""
        tokens, at = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)  # last in the dict: the most recently seen
        if len(self._buckets) > self.size:
            del self._buckets[next(iter(self._buckets))]
        return wait


class TenantRateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(_client_of(scope), time.monotonic())
        if wait:
            await _refuse(scope, send, math.ceil(wait))
            return
        await self.app(scope, receive, send)


def _client_of(scope: Scope) -> Client:
    token = _bearer_token(scope)
    if token:
        try:
            return ("tenant", verified_tokens(scope["app"].state).principal(token).tenant)
        except ProblemError:
            pass  # answered 401 further in, if the route needs a token
    client = scope.get("client")
    return ("address", client[0] if client else "")


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("access_token", [""])[0].strip() or None


async def _refuse(scope: Scope, send: Send, retry_after: int) -> None:
    detail = f"Past this tenant's request rate; retry after {retry_after} s."
    await send_problem(scope, send, 429, detail, {"retry-after": str(retry_after)})


def add_tenant_rate_limit(app: FastAPI, rate: float, burst: int) -> None:
    """The limit on ``app`` (nothing when ``rate`` is 0); ``burst`` 0 is one second's worth."""
    if rate > 0:
        app.add_middleware(
            TenantRateLimitMiddleware, rate=rate, burst=burst or max(1, math.ceil(rate))
        )
