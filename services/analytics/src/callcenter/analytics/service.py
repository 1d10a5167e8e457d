"""The live fold: the consumer archives every event; one loop folds them in commit order.

The archive is the backbone's ``events`` table (``store.keep``, in the consumer's
transaction, so an event is archived exactly once). At start-up the fold is
rebuilt by replaying the archive, then it follows it. Readers wait on
``changes`` to learn that the fold moved (the wallboard's push).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.analytics.fold import Fold
from callcenter.analytics.kpis import KpiSettings
from callcenter.analytics.scorecards import ExamScore
from callcenter.analytics.store.tables import exam_scores, kpi_settings
from callcenter.events import store
from callcenter.events.aio import sleep_or_stop
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope, format_time, utcnow
from callcenter.events.kit.changes import Changes

log = logging.getLogger(__name__)

TOPICS = ["callcenter.ivr", "callcenter.routing", "callcenter.crm", "callcenter.workorders"]
BATCH = 5_000


async def archive(conn: AsyncConnection, envelope: Envelope) -> None:
    """The consumer's handler: keep the event; the fold loop takes it from there."""
    await store.keep(conn, [envelope])


class Analytics:
    def __init__(
        self, db: Database, *, poll_seconds: float = 0.1, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.fold = Fold()
        self.position = 0
        self.settings: dict[str, KpiSettings] = {}
        self.exams: dict[str, list[ExamScore]] = {}
        self.caught_up = asyncio.Event()
        self.changes = Changes()  # moves with the fold and the settings (the wallboard's push)

    def settings_of(self, tenant: str) -> KpiSettings:
        return self.settings.get(tenant) or KpiSettings()

    async def run(self, stop: asyncio.Event) -> None:
        loaded = False
        while not stop.is_set():
            try:
                if not loaded:
                    await self._load_inputs()
                    loaded = True
                folded = await self.catch_up()
            except Exception as error:  # noqa: BLE001 - a database hiccup must not stop the fold
                log.warning("analytics fold will retry after: %s", error)
                folded = 0
            if loaded:
                self.caught_up.set()
            if not folded:
                await sleep_or_stop(stop, self.poll_seconds)

    async def catch_up(self) -> int:
        """Fold every archived event after the last one folded; returns how many."""
        total = 0
        while True:
            async with self.db.read() as conn:
                rows = await store.read_all(conn, self.position, BATCH)
            for row in rows:
                try:
                    self.fold.apply(row.attributes, row.data)
                except (KeyError, TypeError, ValueError) as error:
                    # Validated by the consumer; a fold bug must not stall every KPI.
                    log.error("event %s not folded: %s", row.event_id, error)
                self.position = row.position
            total += len(rows)
            if len(rows) < BATCH:
                break
        if total:
            self.changes.notify()
        return total

    async def save_settings(self, tenant: str, settings: KpiSettings, by: str) -> None:
        values = {
            "settings": settings.model_dump_json(),
            "updated_by": by,
            "updated_at": format_time(utcnow()),
        }
        async with self.db.transaction() as conn:
            await store.upsert(conn, kpi_settings, {"tenant": tenant}, values)
        self.settings[tenant] = settings
        self.changes.notify()

    async def record_exam(self, tenant: str, exam: ExamScore, by: str) -> None:
        values = {
            "tenant": tenant,
            "agent_id": exam.agent_id,
            "exam": exam.exam,
            "score": exam.score,
            "taken_at": format_time(datetime.fromtimestamp(exam.taken_at, UTC)),
            "recorded_by": by,
        }
        async with self.db.transaction() as conn:
            await conn.execute(exam_scores.insert().values(**values))
        self.exams.setdefault(tenant, []).append(exam)

    async def _load_inputs(self) -> None:
        async with self.db.read() as conn:
            rows = await conn.execute(select(kpi_settings.c.tenant, kpi_settings.c.settings))
            self.settings = {
                row.tenant: KpiSettings.model_validate(json.loads(row.settings)) for row in rows
            }
            self.exams = {}
            for row in await conn.execute(select(exam_scores).order_by(exam_scores.c.id)):
                taken_at = datetime.fromisoformat(row.taken_at).timestamp()
                exam = ExamScore(row.agent_id, row.exam, row.score, taken_at)
                self.exams.setdefault(row.tenant, []).append(exam)
