"""Ends the calls the provider never reported ending, forgets old Idempotency-Keys, and
purges the recordings past their retention.

A call's deadline (``ivr_call_deadlines``) is written when it starts and deleted
in the transaction that ends it, so a call is reaped at most once, whether the
service restarted meanwhile or several replicas reap at the same time (the
second hang-up of a call is refused by the engine).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import delete, select

from callcenter.events.aio import sleep_or_stop
from callcenter.events.db import Database
from callcenter.ivr import recordings
from callcenter.ivr.calls import CallControl
from callcenter.ivr.desk import CallNotFound
from callcenter.ivr.domain.engine import CommandRejected
from callcenter.ivr.store.tables import deadlines, idempotency

log = logging.getLogger(__name__)
REASON = "max_age"


class Reaper:
    def __init__(
        self,
        db: Database,
        control: CallControl,
        *,
        interval: float,
        key_ttl: float,
        clock: Callable[[], float] = time.time,
        batch: int = 200,
    ) -> None:
        self.db = db
        self.control = control
        self.interval = interval
        self.key_ttl = key_ttl
        self.clock = clock
        self.batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                reaped = await self.reap_due()
                await self.forget_keys()
                await recordings.purge_due(self.db, self.clock())
            except Exception as error:  # noqa: BLE001 - go on after a database hiccup
                log.warning("reaping calls failed: %s", error)
                reaped = 0
            if reaped < self.batch:
                await sleep_or_stop(stop, self.interval)

    async def reap_due(self, now: float | None = None) -> int:
        """Hang up the calls past their deadline at ``now`` (default: the clock's time), one
        batch; returns how many were due."""
        now = self.clock() if now is None else now
        async with self.db.read() as conn:
            due = (
                await conn.execute(
                    select(deadlines.c.tenant, deadlines.c.call_id)
                    .where(deadlines.c.due_at <= now)
                    .order_by(deadlines.c.due_at)
                    .limit(self.batch)
                )
            ).all()
        outcomes = await asyncio.gather(
            *(self._hang_up(row.tenant, row.call_id) for row in due), return_exceptions=True
        )
        for row, outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.warning("could not end call %s: %s", row.call_id, outcome)
        return len(due)

    async def _hang_up(self, tenant: str, call_id: str) -> None:
        try:
            await self.control.hang_up(tenant, call_id, by="system", reason=REASON)
            log.info("ended call %s: no hang-up from the provider in time", call_id)
        except (CommandRejected, CallNotFound):
            # ended meanwhile (its deadline went with it) or never stored: nothing to end
            async with self.db.transaction() as conn:
                await conn.execute(
                    delete(deadlines).where(
                        deadlines.c.tenant == tenant, deadlines.c.call_id == call_id
                    )
                )

    async def forget_keys(self) -> None:
        """Providers retry within minutes: keys older than ``key_ttl`` are dropped."""
        async with self.db.transaction() as conn:
            await conn.execute(
                delete(idempotency).where(idempotency.c.created_at < self.clock() - self.key_ttl)
            )
