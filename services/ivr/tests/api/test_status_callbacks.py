"""Routing's call events become signed webhooks to the provider, retried until delivered."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from callcenter.events.catalogue.routing import CallAnswered, CallQueued
from callcenter.events.db import Database
from callcenter.ivr.store.tables import webhooks
from callcenter.ivr.webhooks.sender import MAX_ATTEMPTS, WebhookSender

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SECRET = "a-callback-secret-for-tests"


def test_routing_events_of_our_calls_are_delivered_signed_with_retries(
    client, queues, bearer, menu_flow, deliver, database_url, ivr_database
):
    assert client.put("/v1/flows/main", json=menu_flow(), headers=bearer()).status_code == 201
    client.put("/v1/numbers/+15551234", json={"flow_id": "main", "version": 1}, headers=bearer())
    settings = {"status_callback_url": "https://pbx.example/cb", "status_callback_secret": SECRET}
    assert client.put("/v1/telephony", json=settings, headers=bearer()).status_code == 200
    client.post(
        "/v1/calls",
        json={"from": "+15557654321", "to": "+15551234", "call_id": "c1"},
        headers=bearer(),
    )
    deliver(
        database_url,
        "acme",
        CallQueued(call_id="c1", queue_id="sales", position=3, ewt=45.0, at=AT),
        CallQueued(call_id="someone-else", queue_id="sales", position=4, at=AT),
        CallAnswered(call_id="c1", agent_id="a7", queue_id="sales", wait=30, ring=2, at=AT),
        clock=lambda: 1000.0,
    )

    received: list[httpx.Request] = []
    failures = {"left": 1}

    def provider(request: httpx.Request) -> httpx.Response:
        if failures["left"]:
            failures["left"] -= 1
            return httpx.Response(503)
        received.append(request)
        return httpx.Response(204)

    now = {"t": 1000.0}

    async def run() -> list[int]:
        db = ivr_database()
        async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
            sender = WebhookSender(db, http, clock=lambda: now["t"])
            tried = [await sender.deliver_due()]  # the first fails with 503
            tried.append(await sender.deliver_due())  # the failed one waits for its backoff
            now["t"] += 1.0
            tried.append(await sender.deliver_due())
        await db.dispose()
        return tried

    assert asyncio.run(run()) == [2, 0, 1]
    bodies = [json.loads(request.content) for request in received]
    assert sorted(body["type"] for body in bodies) == ["CallAnswered", "CallQueued"]
    queued = next(body for body in bodies if body["type"] == "CallQueued")
    assert (queued["data"]["position"], queued["data"]["ewt"]) == (3, 45.0)
    for request in received:
        stamp, mac = request.headers["x-callcenter-signature"].split(",")
        timestamp = stamp.removeprefix("t=")
        expected = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + request.content, hashlib.sha256
        ).hexdigest()
        assert mac == f"v1={expected}"


def test_a_webhook_is_given_up_after_max_attempts(
    database_url, client, deliver, bearer, queues, menu_flow
):
    client.put("/v1/flows/main", json=menu_flow(), headers=bearer())
    client.put("/v1/numbers/+15551234", json={"flow_id": "main", "version": 1}, headers=bearer())
    client.put(
        "/v1/telephony", json={"status_callback_url": "https://down.example/cb"}, headers=bearer()
    )
    client.post(
        "/v1/calls",
        json={"from": "+15557654321", "to": "+15551234", "call_id": "c1"},
        headers=bearer(),
    )
    deliver(database_url, "acme", CallQueued(call_id="c1", queue_id="sales", position=1, at=AT))

    async def run() -> tuple[str, int]:
        db = Database(database_url)
        transport = httpx.MockTransport(lambda request: httpx.Response(500))
        async with httpx.AsyncClient(transport=transport) as http:
            ticks = iter(range(10**6, 10**9, 1000))  # each look at the clock: past any backoff
            sender = WebhookSender(db, http, clock=lambda: float(next(ticks)))
            for _ in range(MAX_ATTEMPTS + 2):
                await sender.deliver_due()
        async with db.read() as conn:
            row = (await conn.execute(select(webhooks))).one()
        await db.dispose()
        return row.status, row.attempts

    assert asyncio.run(run()) == ("failed", MAX_ATTEMPTS)
