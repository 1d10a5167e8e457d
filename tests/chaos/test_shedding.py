"""Load shedding in the service kit: past the in-flight limit a request gets 429
problem+json with Retry-After at once; probes are never shed; the slots free up."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from callcenter.events.kit.settings import ServiceSettings
from callcenter.events.kit.shedding import LoadSheddingMiddleware


def slow_app(limit: int, release: asyncio.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/slow")
    async def slow() -> dict[str, bool]:
        await release.wait()
        return {"ok": True}

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(LoadSheddingMiddleware, service="test", limit=limit)
    return app


async def test_past_the_limit_requests_are_shed_with_retry_after_then_served_again():
    release = asyncio.Event()
    transport = httpx.ASGITransport(app=slow_app(3, release))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        held = [asyncio.create_task(client.get("/v1/slow")) for _ in range(3)]
        await asyncio.sleep(0.05)  # the three are in flight
        shed = await client.get("/v1/slow")
        assert shed.status_code == 429
        assert shed.headers["retry-after"] == "1"
        assert shed.headers["content-type"] == "application/problem+json"
        assert shed.json()["status"] == 429 and shed.json()["instance"] == "/v1/slow"
        assert (await client.get("/healthz")).status_code == 200  # probes always answer
        release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200, 200]
        assert (await client.get("/v1/slow")).status_code == 200  # the slots came back


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("CALLCENTER_MAX_IN_FLIGHT_REQUESTS", "7")
    assert ServiceSettings(service="x", port=1).max_in_flight_requests == 7
    given = ServiceSettings(service="x", port=1, max_in_flight_requests=3)
    assert given.max_in_flight_requests == 3
