import asyncio

import httpx
import pytest
from fastapi import FastAPI

from callcenter.events.kit.health import Check, health_router
from callcenter.events.kit.problems import install_problem_handlers


async def passing() -> None:
    return None


async def failing() -> None:
    raise ConnectionRefusedError("database refused the connection")


async def hanging() -> None:
    await asyncio.sleep(60)


def client(checks: dict[str, Check]) -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(health_router(checks))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.asyncio
async def test_ready_when_every_check_passes_including_checks_added_later() -> None:
    checks: dict[str, Check] = {}
    async with client(checks) as http:
        checks["database"] = passing
        checks["broker"] = passing
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.asyncio
async def test_not_ready_names_the_failed_and_timed_out_checks() -> None:
    checks = {"database": failing, "broker": hanging, "cache": passing}
    async with client(checks) as http:
        started = asyncio.get_running_loop().time()
        response = await http.get("/readyz")
        elapsed = asyncio.get_running_loop().time() - started

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "Failed checks: database, broker"
    assert body["checks"] == {
        "database": "ConnectionRefusedError: database refused the connection",
        "broker": "timed out after 2s",
        "cache": "ok",
    }
    assert elapsed < 3


@pytest.mark.asyncio
async def test_alive_even_when_not_ready() -> None:
    async with client({"database": failing}) as http:
        response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
