"""The timeline through the real broker: routing's, the IVR's and work orders' events,
relayed from their own stores, reach the CRM's consumers. A restart applies nothing twice;
forgetting the consumed tables and replaying the topics rebuilds them the same."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from callcenter.crm.app import create_app
from callcenter.crm.history import reset_history
from callcenter.crm.store.tables import (
    call_ivr_steps,
    call_routing,
    callbacks,
    csat_answers,
    dispositions,
    work_order_steps,
    work_orders,
)
from callcenter.events.catalogue import ivr, routing, workorders
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.testing import publish_streams

pytestmark = pytest.mark.broker

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
BEARER = issue_token(KEY, subject="alice", tenant="acme", roles=[Role.AGENT])
AGENT = {"Authorization": f"Bearer {BEARER}"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLES = (call_ivr_steps, call_routing, callbacks, csat_answers, dispositions, work_orders,
          work_order_steps)  # fmt: skip


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def publish(kafka, tmp_path, client: TestClient) -> None:
    publish_streams(
        kafka,
        tmp_path / "ivr.db",
        "ivr",
        {
            "call-c1": [
                ivr.CallArrived(call_id="c1", ani="+33628123456", dnis="+3311", at=at(0)),
                ivr.IvrNodeEntered(call_id="c1", node_id="welcome", node_type="menu"),
                ivr.SurveyAnswered(call_id="c1", agent_id="bob", question="overall", score=4),
            ]
        },
    )
    # Routing's topic after the call is identified: a disposition handled in the same
    # instant as its call's arrival (two consumers catching up) may find no customer to
    # seal its notes for, and keep them plain (erasure blanks them all the same).
    deadline = time.monotonic() + 30
    while client.get("/v1/screen-pop/c1", headers=AGENT).status_code == 404:
        assert time.monotonic() < deadline, "c1 not identified"
        time.sleep(0.05)
    publish_streams(
        kafka,
        tmp_path / "routing.db",
        "routing",
        {
            "acme": [
                routing.CallQueued(call_id="c1", queue_id="billing", position=1, at=at(1)),
                routing.CallAnswered(
                    call_id="c1", agent_id="bob", queue_id="billing", wait=20, ring=2, at=at(1.5)
                ),
                routing.CallEnded(
                    call_id="c1",
                    agent_id="bob",
                    queue_id="billing",
                    talk=90,
                    ended_by="agent",
                    at=at(3),
                ),
                routing.CallDispositioned(
                    call_id="c1",
                    agent_id="bob",
                    queue_id="billing",
                    disposition="refund_promised",
                    notes="Refund by Friday",
                    follow_up=True,
                    at=at(3.5),
                ),
                routing.CallbackRequested(
                    callback_id="cb1",
                    call_id="c1",
                    number="+33628123456",
                    queue_id="billing",
                    at=at(4),
                ),
            ]
        },
    )
    publish_streams(
        kafka,
        tmp_path / "workorders.db",
        "workorders",
        {
            "ticket-t1": [
                workorders.TicketOpened(ticket_id="t1", type="complaint", call_id="c1", at=at(5)),
                workorders.TicketReplied(ticket_id="t1", by="bob", at=at(6)),
            ]
        },
    )


def snapshot(database_url: str) -> dict[str, list[tuple]]:
    async def go() -> dict[str, list[tuple]]:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                found = {}
                for table in TABLES:
                    # Sealed notes differ on each sealing (a fresh nonce): the timeline
                    # compares them opened.
                    columns = [c for c in table.columns if c.name not in ("position", "notes")]
                    rows = await conn.execute(select(*columns))
                    found[table.name] = sorted(tuple(row) for row in rows)
                return found
        finally:
            await db.dispose()

    return asyncio.run(go())


def wait_until_complete(client: TestClient, customer_id: str) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        entries = client.get(f"/v1/customers/{customer_id}/timeline", headers=AGENT).json()
        calls = [e for e in entries if e["kind"] == "call"]
        orders = [e for e in entries if e["kind"] == "work_order"]
        if (
            calls
            and calls[0].get("duration")
            and calls[0]["csat"]
            and calls[0]["ivr_path"]
            and any(e["kind"] == "callback" for e in entries)
            and any(e["kind"] == "disposition" for e in entries)
            and orders
            and len(orders[0]["steps"]) == 2
        ):
            return entries
        assert time.monotonic() < deadline, entries
        time.sleep(0.1)


def test_the_timeline_is_fed_by_every_topic_and_rebuilt_by_replay(
    crm_settings, database_url, kafka, tmp_path
):
    with TestClient(create_app(crm_settings())) as client:
        lea = client.post(
            "/v1/customers",
            headers=AGENT,
            json={"last_name": "Martin", "phones": ["06 28 12 34 56"]},
        ).json()
        publish(kafka, tmp_path, client)
        entries = wait_until_complete(client, lea["id"])
    assert [e["kind"] for e in entries] == ["work_order", "callback", "disposition", "call"]
    assert (entries[2]["disposition"], entries[2]["notes"]) == (
        "refund_promised",
        "Refund by Friday",
    )
    call = entries[3]
    assert (
        call["queue_id"],
        call["wait"],
        call["agent_id"],
        call["duration"],
        call["outcome"],
    ) == ("billing", 20, "bob", 90, "answered")
    before = snapshot(database_url)

    with TestClient(create_app(crm_settings())) as client:  # a restart: nothing twice
        time.sleep(3)
        assert wait_until_complete(client, lea["id"]) == entries
    assert snapshot(database_url) == before

    async def forget() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await reset_history(conn)
        finally:
            await db.dispose()

    asyncio.run(forget())
    assert all(rows == [] for rows in snapshot(database_url).values())
    with TestClient(create_app(crm_settings())) as client:  # replays every topic
        assert wait_until_complete(client, lea["id"]) == entries
    assert snapshot(database_url) == before
