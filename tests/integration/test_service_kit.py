"""Every service stands on the kit: migrations, health, readiness, metrics,
problem+json errors, bearer auth with tenants, and its own event log."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callcenter.events import store
from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue.ivr import IvrNodeEntered
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade

SERVICES = ["routing", "ivr", "crm", "workorders", "analytics"]
PUBLISHERS = [name for name in SERVICES if name != "analytics"]
KEY = "a-test-signing-key-of-32-bytes-or-more"


def make_app(name: str, database_url: str, kafka: KafkaSettings, tmp_path: Path):
    upgrade(f"callcenter.{name}", database_url)
    settings_module = importlib.import_module(f"callcenter.{name}.settings")
    app_module = importlib.import_module(f"callcenter.{name}.app")
    settings = settings_module.Settings(
        database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY
    )
    return app_module.create_app(settings)


def bearer(tenant: str = "acme", *roles: Role) -> dict[str, str]:
    token = issue_token(KEY, subject="sam", tenant=tenant, roles=roles or (Role.SUPERVISOR,))
    return {"Authorization": f"Bearer {token}"}


def append_directly(database_url: str, tenant: str, stream: str, count: int) -> None:
    async def append() -> None:
        db = Database(database_url)
        async with db.transaction() as conn:
            version = await store.stream_version(conn, stream)
            steps = [
                IvrNodeEntered(call_id="c1", node_id=f"a{n}", node_type="menu")
                for n in range(count)
            ]
            await store.append_to_stream(
                conn, stream, version, steps, source="test", tenant=tenant, correlation_id=stream
            )
        await db.dispose()

    asyncio.run(append())


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_is_live_ready_and_measured(name, database_url, kafka, tmp_path):
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        metrics = client.get("/metrics").text
        assert (
            f'callcenter_http_requests_total{{method="GET",route="/readyz",service="{name}"'
            in metrics
        )
        assert client.get("/openapi.json").json()["info"]["title"]


@pytest.mark.parametrize("name", ["routing", "analytics"])
def test_readiness_fails_when_the_broker_is_gone(
    name, database_url, embedded_broker, kafka, tmp_path
):
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        embedded_broker.kill()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        assert "broker" in ready.json()["checks"]
        assert ready.json()["checks"]["database"] == "ok"
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("name", PUBLISHERS)
def test_the_event_log_is_per_tenant_and_paginated(name, database_url, kafka, tmp_path):
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        append_directly(database_url, "acme", "stream-a", 3)
        append_directly(database_url, "globex", "stream-g", 2)

        first = client.get("/v1/events?limit=2", headers=bearer("acme"))
        assert first.status_code == 200, first.text
        page = first.json()
        assert [item["streamversion"] for item in page["items"]] == ["1", "2"]
        rest = client.get(f"/v1/events?limit=2&after={page['next_cursor']}", headers=bearer("acme"))
        assert [item["streamversion"] for item in rest.json()["items"]] == ["3"]
        assert rest.json()["next_cursor"] is None
        assert {item["tenant"] for item in page["items"]} == {"acme"}
        theirs = client.get("/v1/events", headers=bearer("globex")).json()["items"]
        assert [item["streamid"] for item in theirs] == ["stream-g", "stream-g"]


@pytest.mark.parametrize("name", ["ivr"])
def test_the_event_log_refuses_missing_wrong_and_forged_tokens(name, database_url, kafka, tmp_path):
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        missing = client.get("/v1/events")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.headers["content-type"].startswith("application/problem+json")

        agent = client.get("/v1/events", headers=bearer("acme", Role.AGENT))
        assert agent.status_code == 403
        assert "supervisor" in agent.json()["detail"]

        forged = issue_token("another-key", subject="eve", tenant="acme", roles=[Role.ADMIN])
        assert (
            client.get("/v1/events", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )


@pytest.mark.parametrize("name", ["workorders"])
def test_bad_input_is_a_problem_naming_the_field(name, database_url, kafka, tmp_path):
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        response = client.get("/v1/events?limit=many", headers=bearer())
        assert response.status_code == 422
        problem = response.json()
        assert problem["errors"][0]["field"] == "query.limit"
        assert "query.limit" in problem["detail"]
        unknown = client.get("/v1/nothing-here")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")


def test_only_the_configured_origins_may_call_from_a_browser(database_url, kafka, tmp_path):
    """The agent console (routing's origin) calls the CRM with a bearer token."""
    upgrade("callcenter.crm", database_url)
    settings_module = importlib.import_module("callcenter.crm.settings")
    app_module = importlib.import_module("callcenter.crm.app")
    console = "http://console.example:8001"
    settings = settings_module.Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path,
                                        signing_key=KEY, cors_origins=[console])  # fmt: skip
    with TestClient(app_module.create_app(settings)) as client:
        preflight = {"Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"}  # fmt: skip
        allowed = client.options("/v1/kb/favorites", headers={"Origin": console, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == console
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        elsewhere = {"Origin": "http://elsewhere.example", **preflight}
        other = client.options("/v1/kb/favorites", headers=elsewhere)
        assert "access-control-allow-origin" not in other.headers
        read = client.get("/v1/kb/favorites", headers={"Origin": console, **bearer()})
        assert read.headers["access-control-allow-origin"] == console


@pytest.mark.parametrize("name", SERVICES)
def test_a_migrated_sqlite_database_is_in_wal_mode(name, tmp_path):
    """Before a service opens it: switching later wants the file to itself, and a
    connection opened beside the running service (a tool, a test) failed at once."""
    path = tmp_path / f"{name}.db"
    upgrade(f"callcenter.{name}", f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
