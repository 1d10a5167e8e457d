"""The ACD's writer takes the inbox's commands when the consumers say they filled it,
without polling for them, however many wait."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from callcenter.events.catalogue.ivr import CallHungUp
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope, utcnow
from callcenter.events.kit.migrations import upgrade
from callcenter.routing import acd as acd_module
from callcenter.routing.acd import Acd
from callcenter.routing.consumers import record_in_inbox
from callcenter.routing.store.tables import inbox


async def inbox_size(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(inbox)) or 0)


@pytest.fixture
def routing_url(database_url: str) -> str:
    upgrade("callcenter.routing", database_url)
    return database_url


async def test_once_told_the_writer_takes_every_inbox_command_even_past_a_full_batch(
    routing_url, monkeypatch
):
    monkeypatch.setattr(acd_module, "INBOX_POLL_SECONDS", 3600.0)  # no polling to lean on
    db = Database(routing_url)
    acd = Acd(db, max_batch=2)
    stop = asyncio.Event()
    writer = asyncio.create_task(acd.run(stop))
    try:
        await asyncio.sleep(0.2)  # its first look at the inbox: empty
        async with db.transaction() as conn:
            for n in range(5):
                hung_up = CallHungUp(call_id=f"c{n}", by="caller", at=utcnow())
                envelope = new_envelope(
                    hung_up,
                    source="callcenter/ivr",
                    tenant="acme",
                    stream_id=f"ivr.call:acme:c{n}",
                    stream_version=1,
                    correlation_id=f"c{n}",
                )
                await record_in_inbox(conn, envelope)
        assert await inbox_size(db) == 5

        acd.inbox_filled()

        for _ in range(100):
            if await inbox_size(db) == 0:
                break
            await asyncio.sleep(0.1)
        # Each command decided once (unknown calls: refused and consumed), in three batches.
        assert await inbox_size(db) == 0
    finally:
        stop.set()
        await asyncio.wait_for(writer, 10)
        await db.dispose()
