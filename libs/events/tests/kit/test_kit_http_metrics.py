import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY

from callcenter.events.kit.http_metrics import MetricsMiddleware, metrics_endpoint
from callcenter.events.kit.problems import install_problem_handlers


def make_app(service: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(MetricsMiddleware, service=service)
    calls = APIRouter(prefix="/calls")

    @calls.get("/{call_id}")
    async def get_call(call_id: str) -> dict[str, str]:
        if call_id == "boom":
            raise RuntimeError("boom")
        return {"call_id": call_id}

    @app.get("/version")
    async def version() -> str:
        return "1"

    app.include_router(calls, prefix="/v1")
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    return app


def requests_total(service: str, method: str, route: str, status: str) -> float | None:
    labels = {"service": service, "method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("callcenter_http_requests_total", labels)


@pytest.mark.asyncio
async def test_requests_are_counted_under_their_route_template() -> None:
    service = f"svc-{uuid.uuid4().hex}"
    transport = httpx.ASGITransport(app=make_app(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for call_id in ("a", "b", "c"):
            await http.get(f"/v1/calls/{call_id}")
        await http.get("/version")
        await http.get("/v1/calls/boom")
        await http.get("/nowhere")
        await http.post("/version")

    assert requests_total(service, "GET", "/v1/calls/{call_id}", "200") == 3
    assert requests_total(service, "GET", "/version", "200") == 1
    assert requests_total(service, "GET", "/v1/calls/{call_id}", "500") == 1
    assert requests_total(service, "GET", "unmatched", "404") == 1
    assert requests_total(service, "POST", "/version", "405") == 1
    latency = {"service": service, "method": "GET", "route": "/v1/calls/{call_id}"}
    assert REGISTRY.get_sample_value("callcenter_http_request_seconds_count", latency) == 4


@pytest.mark.asyncio
async def test_metrics_endpoint_exposes_the_default_registry() -> None:
    service = f"svc-{uuid.uuid4().hex}"
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.get("/v1/calls/a")
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    expected = (
        f'callcenter_http_requests_total{{method="GET",route="/v1/calls/{{call_id}}",'
        f'service="{service}",status="200"}} 1.0'
    )
    assert expected in response.text
