"""The right to erasure in an event-sourced CRM (crypto-shredding): once an admin erases a
customer, their name, numbers, emails and notes are nowhere to be read, not in the tables,
not in the events (replayed or not), not in the logs; the counts stay."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, inspect, select, text

from callcenter.crm import shredding
from callcenter.crm.consumers import ivr_handler, routing_handler
from callcenter.crm.rebuild import rebuild_customers
from callcenter.crm.settings import Settings
from callcenter.crm.store.tables import calls, customers, notes
from callcenter.events import store
from callcenter.events.catalogue import ivr, routing
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.logs import JsonFormatter

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Each marker is long enough not to turn up by chance in ids, keys or timestamps (a CI run
# once found "4242" in some random value after an erasure).
PII = ["Léa", "Martin", "Lea", "martin", "Boulangerie", "boulangerie", "628123456",
       "611223344", "lea@example.fr", "lea.pro@example.fr", "C-1234", "invoice",
       "90417253"]  # fmt: skip


def headers(role: Role = Role.AGENT) -> dict[str, str]:
    bearer = issue_token(KEY, subject="alice", tenant="acme", roles=[role])
    return {"Authorization": f"Bearer {bearer}"}


AGENT, ADMIN = headers(), headers(Role.ADMIN)


def ivr_event(call_id: str, data, version: int) -> Envelope:
    return Envelope(source="ivr", type=data.event_type, tenant="acme", correlation_id=call_id,
                    stream_id=f"call-{call_id}", stream_version=version, data=data)  # fmt: skip


def routing_event(data, version: int) -> Envelope:
    return Envelope(source="routing", type=data.event_type, tenant="acme", correlation_id="x",
                    stream_id="acme", stream_version=version, data=data)  # fmt: skip


async def deliver(database_url: str, envelopes: list[Envelope]) -> None:
    """What the IVR's and routing's consumers do with each delivery, in its own transaction."""
    handlers = {"ivr": ivr_handler(Settings()), "routing": routing_handler(Settings())}
    db = Database(database_url)
    try:
        for envelope in envelopes:
            async with db.transaction() as conn:
                await handlers[envelope.source](conn, envelope)
    finally:
        await db.dispose()


async def everything_stored(db: Database) -> str:
    """Every row of every table, as text (blobs too: the full-text index's pages)."""
    async with db.read() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        dump = []
        for name in names:
            for row in await conn.execute(text(f'SELECT * FROM "{name}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    dump.append(str(value))
        return "\n".join(dump)


def leaks(dump: str) -> list[str]:
    return [value for value in PII if value in dump]


def test_erasure_leaves_no_personal_data_while_counts_stay(crm_offline, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    with crm_offline() as client:
        lea = client.post("/v1/customers", headers=AGENT, json={
            "first_name": "Léa", "last_name": "Martin", "company": "Boulangerie Martin",
            "phones": ["06 28 12 34 56"], "emails": ["lea@example.fr"], "tier": "key_important",
            "tags": ["vip"], "attributes": {"contract_no": "C-1234"},
        }).json()  # fmt: skip
        pro = client.post("/v1/customers", headers=AGENT, json={
            "last_name": "Martin", "phones": ["06 11 22 33 44"], "emails": ["lea.pro@example.fr"],
        }).json()  # fmt: skip
        other = client.post("/v1/customers", headers=AGENT,
                            json={"last_name": "Durand", "tier": "small"}).json()  # fmt: skip
        client.patch(f"/v1/customers/{lea['id']}", headers=AGENT, json={"first_name": "Lea"})
        client.post(f"/v1/customers/{lea['id']}/notes", headers=AGENT,
                    json={"text": "Asked about her invoice"})  # fmt: skip
        merged = client.post(f"/v1/customers/{lea['id']}/merge", json={"merged_id": pro["id"]},
                             headers=headers(Role.SUPERVISOR))  # fmt: skip
        assert merged.status_code == 200, merged.text
        asyncio.run(deliver(database_url, [
            ivr_event("c1", ivr.CallArrived(call_id="c1", ani="+33628123456", dnis="+3311"), 1),
            ivr_event("c1", ivr.IvrInputReceived(call_id="c1", node_id="account",
                                                 node_type="collect", digits="90417253"), 2),
        ]))  # fmt: skip
        asyncio.run(deliver(database_url, [
            routing_event(routing.CallDispositioned(
                call_id="c1", agent_id="bob", queue_id="q", disposition="billing",
                notes="Checked her invoice", at=T0), 1),
            routing_event(routing.ContactDispositioned(  # the merged customer's
                campaign_id="k", contact_id="k1", call_id="o1", agent_id="bob",
                disposition="sale", completed=True, notes="Card ends 90417253",
                customer_id=pro["id"], at=T0), 2),
        ]))  # fmt: skip
        assert client.get("/v1/screen-pop/c1", headers=AGENT).json()["identified"] is True
        timeline = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert {e.get("notes") for e in timeline} >= {"Checked her invoice", "Card ends 90417253"}

        url = f"/v1/customers/{lea['id']}"
        assert client.delete(url, headers=AGENT).status_code == 403
        assert client.delete(f"/v1/customers/{other['id']}x", headers=ADMIN).status_code == 404
        erased = client.delete(url, headers=ADMIN)
        assert erased.status_code == 200, erased.text
        gone = client.get(url, headers=AGENT)
        assert gone.status_code == 410
        assert gone.headers["content-type"] == "application/problem+json"
        assert client.delete(url, headers=ADMIN).status_code == 410
        assert client.get(f"/v1/customers/{pro['id']}", headers=AGENT).status_code == 404
        assert client.get("/v1/customers", params={"name": "martin"},
                          headers=AGENT).json()["items"] == []  # fmt: skip
        pop = client.get("/v1/screen-pop/c1", headers=AGENT).json()
        assert pop["identified"] is False
        assert [step["digits"] for step in pop["ivr_path"]] == [""]
        if database_url.startswith("sqlite"):  # nor in the files' bytes (log, free pages)
            path = Path(database_url.removeprefix("sqlite:///"))
            for file in (path, path.with_name(path.name + "-wal")):
                if file.exists():
                    raw = file.read_bytes().decode("utf-8", "replace")
                    assert leaks(raw) == [], file.name
        # Her numbers are free: the next call from one is a stranger's, and may be reused.
        asyncio.run(deliver(database_url, [
            ivr_event("c2", ivr.CallArrived(call_id="c2", ani="+33611223344", dnis="+3311"), 1),
        ]))  # fmt: skip
        assert client.get("/v1/screen-pop/c2", headers=AGENT).json()["identified"] is False
        client.delete(f"/v1/customers/{other['id']}", headers=AGENT)  # refused: an agent

    async def check() -> None:
        db = Database(database_url)
        try:
            # c2's number is an unknown caller's; the erased customers' are blanked.
            async with db.transaction() as conn:
                await conn.execute(calls.update().where(calls.c.call_id == "c2").values(ani=""))
            assert leaks(await everything_stored(db)) == []
            async with db.read() as conn:
                tiers = dict(
                    (
                        await conn.execute(
                            select(customers.c.tier, func.count()).group_by(customers.c.tier)
                        )
                    ).all()
                )
                events = await store.read_all(conn)
            assert tiers == {"key_important": 1, "ordinary": 1, "small": 1}  # counts stay
            for stored in events:
                envelope = stored.envelope()
                if envelope.stream_id.startswith("customer:"):
                    customer_id = envelope.stream_id.removeprefix("customer:")
                    opened = shredding.personal_fields(envelope.data, None, customer_id)
                    assert leaks(str(opened)) == []
            types = [e.envelope().type for e in events if e.stream_id == f"customer:{lea['id']}"]
            assert types[-1] == "CustomerErased"

            # Replay: the erased customers come back erased, their notes empty.
            async with db.transaction() as conn:
                assert await rebuild_customers(conn) == 3
            async with db.read() as conn:
                rows = {r.id: r for r in await conn.execute(select(customers))}
                note_texts = (await conn.execute(select(notes.c.text))).scalars().all()
            assert leaks(await everything_stored(db)) == []
            for erased_id in (lea["id"], pro["id"]):
                assert rows[erased_id].erased_at is not None
                assert (rows[erased_id].first_name, rows[erased_id].last_name) == ("", "")
                assert rows[erased_id].phones == rows[erased_id].emails == []
            assert rows[lea["id"]].tier == "key_important"
            assert rows[other["id"]].last_name == "Durand"
            assert note_texts == [""]
        finally:
            await db.dispose()

    asyncio.run(check())
    formatter = JsonFormatter("crm")
    logged = "\n".join(formatter.format(r) for r in caplog.records if r.name != "httpx")
    assert leaks(logged) == []
