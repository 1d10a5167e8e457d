"""Tenants' telephony secrets at rest: the IVR's database holds the Twilio auth token
and the status-callback secret sealed (AES-256-GCM with the IVR's secrets key), never in
clear; the service still checks Twilio's signatures and signs callbacks with them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text, update
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from callcenter.events.db import Database
from callcenter.events.kit import sealing
from callcenter.events.kit.auth import Role
from callcenter.events.kit.migrations import downgrade, upgrade
from callcenter.ivr.store import queries, telephony_secrets
from callcenter.ivr.store.tables import telephony
from tests.integration.test_service_kit import bearer, make_app
from tests.security.test_webhooks import FLOW, NUMBER

TOKEN = "twilio-token-8f3a1c9e77d04b52"
SECRET = "callback-secret-5e0b2d4c19a6f873"
ADMIN = bearer("acme", Role.ADMIN)


def _database_dump(database_url: str) -> str:
    """Every row of every table, as text."""

    async def dump() -> str:
        db = Database(database_url)
        async with db.read() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            rows = [
                repr((await conn.execute(text(f'SELECT * FROM "{name}"'))).all()) for name in names
            ]
        await db.dispose()
        return "\n".join(rows)

    return asyncio.run(dump())


def _sqlite_files(database_url: str) -> bytes:
    """The database file and its write-ahead log, byte for byte (empty on PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return b""
    path = Path(url.database)
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(file.read_bytes() for file in files if file.exists())


def _bind_number(client: TestClient) -> None:
    assert client.put("/v1/flows/main", json=FLOW, headers=ADMIN).status_code == 201
    bind = {"flow_id": "main", "version": 1}
    assert client.put(f"/v1/numbers/{NUMBER}", json=bind, headers=ADMIN).status_code == 200


def _twilio_call(client: TestClient, call_sid: str, token: str):
    call = {"CallSid": call_sid, "From": "+12349013030", "To": NUMBER}
    mac = RequestValidator(token).compute_signature("http://testserver/v1/twilio/voice", call)
    return client.post("/v1/twilio/voice", data=call, headers={"X-Twilio-Signature": mac})


def _stored_telephony(client: TestClient) -> queries.Telephony:
    """What the running service reads back (its own database, its own key)."""

    async def load() -> queries.Telephony:
        async with client.app.state.ivr.db.read() as conn:
            return await queries.load_telephony(conn, "acme")

    return client.portal.call(load)


def test_secrets_are_sealed_in_the_database_and_still_work(database_url, kafka, tmp_path):
    settings = {
        "twilio_auth_token": TOKEN,
        "status_callback_url": "https://example.com/callbacks",
        "status_callback_secret": SECRET,
    }
    with TestClient(make_app("ivr", database_url, kafka, tmp_path)) as client:
        _bind_number(client)
        put = client.put("/v1/telephony", json=settings, headers=ADMIN)
        assert put.status_code == 200, put.text
        read = client.get("/v1/telephony", headers=ADMIN)
        for answer in (put, read):  # write-only: never answered
            assert TOKEN not in answer.text and SECRET not in answer.text
        assert read.json()["twilio_signature_required"] is True
        assert read.json()["status_callbacks_signed"] is True

        assert _twilio_call(client, "CA1", TOKEN).status_code == 200
        assert _twilio_call(client, "CA2", "another-token").status_code == 403
        stored = _stored_telephony(client)
        assert stored.status_callback_secret == SECRET  # what callbacks are signed with

        dump, files = _database_dump(database_url), _sqlite_files(database_url)
        for secret in (TOKEN, SECRET):
            assert secret not in dump
            assert secret.encode() not in files
        assert telephony_secrets.SEALED in dump


def test_secrets_stored_in_clear_before_are_sealed_by_the_migration(
    monkeypatch, database_url, kafka, tmp_path
):
    monkeypatch.setenv("CALLCENTER_IVR_SECRETS_KEY", "the-deployment-s-ivr-secrets-key")
    upgrade("callcenter.ivr", database_url, "0009")
    clear = {"tenant": "acme", "twilio_auth_token": TOKEN, "status_callback_secret": SECRET}
    _insert(database_url, clear)

    upgrade("callcenter.ivr", database_url)
    dump = _database_dump(database_url)
    assert TOKEN not in dump and SECRET not in dump
    with TestClient(make_app("ivr", database_url, kafka, tmp_path)) as client:
        _bind_number(client)
        assert _twilio_call(client, "CA1", TOKEN).status_code == 200
        assert _twilio_call(client, "CA2", "another-token").status_code == 403
        assert _stored_telephony(client).status_callback_secret == SECRET

    downgrade("callcenter.ivr", database_url, "0009")  # the previous release reads them
    dump = _database_dump(database_url)
    assert TOKEN in dump and SECRET in dump


def test_a_sealed_secret_copied_to_another_tenant_does_not_open(database_url, kafka, tmp_path):
    with TestClient(make_app("ivr", database_url, kafka, tmp_path)) as client:
        put = client.put("/v1/telephony", json={"twilio_auth_token": TOKEN}, headers=ADMIN)
        assert put.status_code == 200
        other = bearer("globex", Role.ADMIN)
        assert client.put("/v1/telephony", json={}, headers=other).status_code == 200

        async def copy_to_globex() -> None:
            db = client.app.state.ivr.db
            async with db.transaction() as conn:
                sealed = await conn.scalar(
                    text("SELECT twilio_auth_token FROM ivr_telephony WHERE tenant = 'acme'")
                )
                copied = update(telephony).where(telephony.c.tenant == "globex")
                await conn.execute(copied.values(twilio_auth_token=sealed))
            async with db.read() as conn:
                with pytest.raises(sealing.Unopenable):
                    await queries.load_telephony(conn, "globex")

        client.portal.call(copy_to_globex)


def _insert(database_url: str, row: dict[str, str]) -> None:
    async def insert() -> None:
        db = Database(database_url)
        async with db.transaction() as conn:
            await conn.execute(telephony.insert().values(row))
        await db.dispose()

    asyncio.run(insert())
