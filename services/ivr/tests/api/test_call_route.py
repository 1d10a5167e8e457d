"""The call-control routes decode requests themselves (``CallRoute``): what they answer
is what FastAPI's own handling of the same endpoints answers, errors included."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role
from callcenter.events.kit.problems import install_problem_handlers
from callcenter.ivr.api import calls
from callcenter.ivr.api.call_route import CallRoute
from callcenter.ivr.app import create_app
from callcenter.ivr.settings import Settings

from .test_calls_api import bind, publish

NEW = {"from": "+33612345678", "to": "+15551234"}
JSON = {"content-type": "application/json"}


def fastapis(app: FastAPI) -> FastAPI:
    """The same endpoints routed by FastAPI's own ``APIRoute``, sharing ``app``'s state."""
    reference = FastAPI()
    install_problem_handlers(reference)
    router = APIRouter()
    for route in calls.control.routes:
        router.add_api_route(
            route.path,
            route.endpoint,
            methods=route.methods,
            status_code=route.status_code,
            response_model=route.response_model,
        )
    reference.include_router(router, prefix="/v1")
    for name in ("ivr", "signing_key", "jwt_audience", "revocations"):
        setattr(reference.state, name, getattr(app.state, name))
    return reference


def cases(bearer) -> list[tuple[str, str, str | bytes, dict[str, str]]]:
    admin = {**JSON, **bearer()}
    good = json.dumps({**NEW, "call_id": "c1"})
    return [
        ("POST", "/v1/calls", good, JSON),
        ("POST", "/v1/calls", good, {**JSON, "Authorization": "Basic abc"}),
        ("POST", "/v1/calls", good, {**JSON, "Authorization": "Bearer   "}),
        ("POST", "/v1/calls", good, {**JSON, "Authorization": "Bearer a.b.c"}),
        ("POST", "/v1/calls", good, {**JSON, **bearer("acme", Role.AGENT)}),
        ("POST", "/v1/calls", "{", JSON),
        ("POST", "/v1/calls", '{"from": }', admin),
        ("POST", "/v1/calls", "{}", JSON),
        ("POST", "/v1/calls", "null", admin),
        ("POST", "/v1/calls", "[]", admin),
        ("POST", "/v1/calls", "", admin),
        ("POST", "/v1/calls", good, bearer()),
        ("POST", "/v1/calls", good, {**bearer(), "content-type": "text/plain"}),
        ("POST", "/v1/calls", good, {**bearer(), "content-type": "application/json/x"}),
        ("POST", "/v1/calls", b'{"from": "\xff"}', admin),
        ("POST", "/v1/calls", "{}", admin),
        ("POST", "/v1/calls", '{"from": "abc", "to": 15551234, "call_id": "a b"}', admin),
        ("POST", "/v1/calls", json.dumps({**NEW, "to": "+19999"}), admin),
        ("POST", "/v1/calls", json.dumps(NEW), {**JSON, **bearer("globex")}),
        ("POST", "/v1/calls", good, {**admin, "Idempotency-Key": ""}),
        ("POST", "/v1/calls", good, {**admin, "Idempotency-Key": "k" * 201}),
        ("POST", "/v1/calls", good, admin),  # exists
        ("POST", "/v1/calls/" + "x" * 65 + "/input", '{"digits": "1"}', admin),
        ("POST", "/v1/calls/a%20b/input", '{"digits": "x", "timeout": "maybe"}', admin),
        ("POST", "/v1/calls/a%20b/input", "", admin),
        ("POST", "/v1/calls/c1/input", '{"digits": 12}', admin),
        ("POST", "/v1/calls/nope/input", '{"digits": "1"}', admin),
        ("POST", "/v1/calls/c1/input", '{"digits": "1"}', {**JSON, **bearer("globex")}),
        ("POST", "/v1/calls/a%20b/hangup", "", bearer()),
        ("POST", "/v1/calls/c1/hangup", "", {}),
        ("POST", "/v1/calls/zz/hangup", "{", admin),
        ("POST", "/v1/calls/c1/recording", '{"recording_url": "ftp://x", "duration": -1}', admin),
        ("POST", "/v1/calls/c1/recording", '{"recording_url": "https://x", "duration": 1}', admin),
        ("GET", "/v1/calls", "", bearer()),
        ("PUT", "/v1/calls/c1/input", '{"digits": "1"}', admin),
    ]


def on_the_loop_of(client: TestClient, app: FastAPI) -> Callable[..., httpx.Response]:
    """Requests to ``app`` on ``client``'s event loop (where the shared state lives)."""

    async def send(method: str, path: str, **options) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.request(method, path, **options)

    return lambda method, path, **options: client.portal.call(lambda: send(method, path, **options))


@pytest.fixture
def apps(client, queues, bearer, menu_flow):
    publish(client, bearer, menu_flow())
    bind(client, bearer, "+15551234", 1)
    started = client.post("/v1/calls", json={**NEW, "call_id": "c1"}, headers=bearer())
    assert started.status_code == 201
    return client.request, on_the_loop_of(client, fastapis(client.app))


def test_the_call_routes_are_call_routes():
    assert {type(route) for route in calls.control.routes} == {CallRoute}
    assert all("POST" in route.methods for route in calls.control.routes)


def test_refusals_are_fastapis(apps, bearer):
    ours, theirs = apps
    for method, path, body, headers in cases(bearer):
        mine = ours(method, path, content=body, headers=headers)
        reference = theirs(method, path, content=body, headers=headers)
        assert mine.status_code >= 400, (path, body, mine.text)
        assert (mine.status_code, mine.headers["content-type"], mine.json()) == (
            reference.status_code,
            reference.headers["content-type"],
            reference.json(),
        ), (path, body, headers)


def test_answers_are_fastapis(apps, bearer):
    ours, theirs = apps
    steps = [("/v1/calls", NEW), ("/input", {"digits": "9"}), ("/input", {"digits": "1"})]
    for call_id, send in (("mine", ours), ("theirs", theirs)):
        answers = []
        for path, body in steps:
            url = "/v1/calls" if path == "/v1/calls" else f"/v1/calls/{call_id}{path}"
            sent = {**body, "call_id": call_id} if path == "/v1/calls" else body
            key = {"Idempotency-Key": f"{call_id}{len(answers)}"}
            for _ in range(2):  # the retry gets the same answer
                answer = send("POST", url, json=sent, headers={**bearer(), **key})
                answers.append((answer.status_code, answer.headers["content-type"], answer.text))
        hung_up = send("POST", f"/v1/calls/{call_id}/hangup", headers=bearer())
        answers.append((hung_up.status_code, hung_up.headers["content-type"], hung_up.text))
        if call_id == "mine":
            mine = answers
        else:
            assert [
                (code, kind, text.replace("theirs", "mine")) for code, kind, text in answers
            ] == mine
    assert [status for status, _, _ in mine] == [201, 201, 200, 200, 200, 200, 200]


def test_what_the_kit_does_for_any_route_it_does_for_the_call_routes(apps, bearer):
    ours, _ = apps
    answered = ours("POST", "/v1/calls/c1/input", json={"digits": "1"}, headers=bearer())
    assert answered.status_code == 200
    assert answered.headers["x-correlation-id"]
    told = ours("POST", "/v1/calls/c1/hangup", headers={**bearer(), "X-Correlation-Id": "corr-1"})
    assert told.headers["x-correlation-id"] == "corr-1"
    metrics = ours("GET", "/metrics").text
    for route, status in (("/v1/calls/{call_id}/input", 200), ("/v1/calls", 201)):
        label = f'method="POST",route="{route}",service="ivr",status="{status}"'
        assert f"callcenter_http_requests_total{{{label}}}" in metrics


def test_a_call_route_that_fails_is_a_logged_server_error(ivr_settings: Settings, bearer):
    app = create_app(ivr_settings)
    with TestClient(app, raise_server_exceptions=False) as client:

        async def broken(*args, **kwargs):
            raise RuntimeError("the desk is gone")

        app.state.ivr.control.hang_up = broken
        failed = client.post("/v1/calls/c1/hangup", headers=bearer())
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers["x-correlation-id"]
        assert failed.json()["title"] == "Internal Server Error"
        metrics = client.get("/metrics").text
        label = 'method="POST",route="/v1/calls/{call_id}/hangup",service="ivr",status="500"'
        assert f"callcenter_http_requests_total{{{label}}}" in metrics
