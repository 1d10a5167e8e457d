import logging

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from callcenter.events.kit.logs import CorrelationIdMiddleware
from callcenter.events.kit.problems import ProblemError, install_problem_handlers


class NewCall(BaseModel):
    ani: str
    dnis: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(CorrelationIdMiddleware)

    @app.post("/v1/calls")
    async def create_call(call: NewCall) -> NewCall:
        return call

    @app.get("/v1/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, str]:
        if call_id == "taken":
            raise ProblemError(409, "Conflict", "Call taken already", owner="agent-7")
        if call_id == "limited":
            raise HTTPException(429, "Slow down", headers={"Retry-After": "3"})
        raise RuntimeError("database password is hunter2")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_problem(response: httpx.Response, status: int, path: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["instance"] == path
    assert body["title"] and body["detail"]
    return body


@pytest.mark.asyncio
async def test_validation_error_names_each_bad_field() -> None:
    async with client(make_app()) as http:
        response = await http.post("/v1/calls", json={"dnis": 3})

    body = assert_problem(response, 422, "/v1/calls")
    assert body["title"] == "Invalid request"
    assert body["detail"] == "body.ani: Field required (and 1 more)"
    assert body["errors"] == [
        {"field": "body.ani", "reason": "Field required"},
        {"field": "body.dnis", "reason": "Input should be a valid string"},
    ]


@pytest.mark.asyncio
async def test_malformed_json_is_a_problem_naming_the_body() -> None:
    async with client(make_app()) as http:
        response = await http.post(
            "/v1/calls", content=b'{"ani": ', headers={"Content-Type": "application/json"}
        )

    body = assert_problem(response, 422, "/v1/calls")
    assert body["errors"][0]["field"] == "body"
    assert body["detail"].startswith("body: Invalid JSON at position 8")


@pytest.mark.asyncio
async def test_unknown_route_and_wrong_method_are_problems() -> None:
    async with client(make_app()) as http:
        missing = await http.get("/v1/nowhere")
        wrong_method = await http.delete("/v1/calls")

    assert assert_problem(missing, 404, "/v1/nowhere")["detail"] == "Not Found: GET /v1/nowhere"
    assert_problem(wrong_method, 405, "/v1/calls")
    assert wrong_method.headers["Allow"] == "POST"


@pytest.mark.asyncio
async def test_problem_error_carries_its_extensions() -> None:
    async with client(make_app()) as http:
        response = await http.get("/v1/calls/taken")

    body = assert_problem(response, 409, "/v1/calls/taken")
    assert body["title"] == "Conflict"
    assert body["detail"] == "Call taken already"
    assert body["owner"] == "agent-7"


@pytest.mark.asyncio
async def test_http_exception_keeps_its_detail_and_headers() -> None:
    async with client(make_app()) as http:
        response = await http.get("/v1/calls/limited")

    body = assert_problem(response, 429, "/v1/calls/limited")
    assert body["title"] == "Too Many Requests"
    assert body["detail"] == "Slow down"
    assert response.headers["Retry-After"] == "3"


@pytest.mark.asyncio
async def test_unhandled_error_is_logged_but_not_leaked(caplog: pytest.LogCaptureFixture) -> None:
    async with client(make_app()) as http:
        response = await http.get("/v1/calls/boom", headers={"X-Correlation-Id": "c-500"})

    body = assert_problem(response, 500, "/v1/calls/boom")
    assert "hunter2" not in response.text
    assert body["title"] == "Internal Server Error"
    assert response.headers["X-Correlation-Id"] == "c-500"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info and "hunter2" in str(record.exc_info[1])
