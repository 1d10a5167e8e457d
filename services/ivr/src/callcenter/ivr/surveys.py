"""Post-call surveys: offered on routing's CallEnded, asked on the call or an outbound leg.

Per queue a policy (``ivr_survey_policies``): ``sample_rate``, ``questions``,
``channel`` (``ivr``: the caller stays on the line and is asked; ``outbound``:
after ``delay`` seconds an outbound leg is placed to the caller's number and asks
when answered). The survey's events go to the stream ``ivr.survey:<tenant>:<call>``:
``SurveyOffered`` once, then a ``SurveyAnswered`` per answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.aio import sleep_or_stop
from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import SurveyOffered
from callcenter.events.catalogue.routing import CallEnded
from callcenter.events.db import Database
from callcenter.events.envelope import format_time
from callcenter.ivr import outbound
from callcenter.ivr.desk import Idempotency, KeyReused
from callcenter.ivr.domain import survey as core
from callcenter.ivr.domain.connection import Connection
from callcenter.ivr.domain.instructions import Hangup, Instruction
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import idempotency, outbound_legs, survey_policies, surveys

log = logging.getLogger(__name__)


def survey_stream(tenant: str, call_id: str) -> str:
    return f"ivr.survey:{tenant}:{call_id}"


def leg_id(call_id: str) -> str:
    """The outbound survey leg's call id (at most 64 characters, like any call id)."""
    if len(call_id) <= 61:
        return f"{call_id}.sv"
    return f"sv.{hashlib.sha256(call_id.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Reply:
    """A survey's answer to a key (or to being asked where it stands)."""

    call_id: str  # the call surveyed
    answer_id: str  # the call the answers come on
    position: str  # the question now asked (a retried answer names the one before)
    asking: bool
    instructions: list[Instruction]


async def load_policy(conn: AsyncConnection, tenant: str, queue_id: str) -> dict[str, Any] | None:
    query = select(survey_policies.c.policy).where(
        survey_policies.c.tenant == tenant, survey_policies.c.queue_id == queue_id
    )
    return await conn.scalar(query)


async def save_policy(
    conn: AsyncConnection, tenant: str, queue_id: str, policy: dict[str, Any], at: datetime
) -> None:
    key = {"tenant": tenant, "queue_id": queue_id}
    values = {"policy": policy, "updated_at": format_time(at)}
    await store.upsert(conn, survey_policies, key, values)


def _survey(row: Any) -> core.Survey:
    return core.Survey(
        call_id=row.call_id,
        queue_id=row.queue_id,
        agent_id=row.agent_id,
        channel=row.channel,
        questions=tuple(core.Question(q["id"], q["prompt"]) for q in row.questions),
        language=row.language,
        index=row.position,
        attempt=row.attempt,
        status=row.status,
    )


async def _by_answer(conn: AsyncConnection, tenant: str, answer_id: str) -> Any:
    query = select(surveys).where(surveys.c.tenant == tenant, surveys.c.answer_id == answer_id)
    return (await conn.execute(query)).first()


async def _append(
    conn: AsyncConnection, tenant: str, call_id: str, events: list[Event], now: datetime
) -> None:
    stream = survey_stream(tenant, call_id)
    version = await store.stream_version(conn, stream)
    await store.append_to_stream(conn, stream, version, events, source="callcenter.ivr",
                                 tenant=tenant, correlation_id=call_id, subject=call_id,
                                 time=now)  # fmt: skip


async def _caller_number(conn: AsyncConnection, tenant: str, call_id: str) -> str:
    row = await queries.load_call(conn, tenant, call_id)
    if row is not None:
        return str(row.snapshot.get("variables", {}).get("ani", ""))
    leg = await outbound.load_leg(conn, tenant, call_id)
    return leg.number if leg is not None else ""


async def offer(
    conn: AsyncConnection, tenant: str, ended: CallEnded, connection: Connection, at: float
) -> Connection:
    """On routing's CallEnded of one of our calls (in the consumer's transaction): a sampled
    call is offered the survey. Channel ivr: its questions replace the hang-up."""
    if ended.transferred or ended.ended_by != "agent":
        return connection
    queue_id = ended.queue_id or connection.queue_id
    policy = await load_policy(conn, tenant, queue_id) if queue_id else None
    if policy is None or not core.sampled(ended.call_id, float(policy["sample_rate"])):
        return connection
    existing = select(surveys.c.call_id).where(
        surveys.c.tenant == tenant, surveys.c.call_id == ended.call_id
    )
    if await conn.scalar(existing) is not None:
        return connection  # offered before (an earlier end of this call)
    number = await _caller_number(conn, tenant, ended.call_id)
    channel = policy["channel"]
    if channel == "outbound" and not number:
        return connection  # nobody to call back (an anonymous caller)
    survey = core.Survey(
        call_id=ended.call_id,
        queue_id=queue_id,
        agent_id=ended.agent_id,
        channel=channel,
        questions=tuple(core.Question(q["id"], q["prompt"]) for q in policy["questions"]),
        language=policy.get("language") or "en-US",
        status="asking" if channel == "ivr" else "pending",
    )
    await conn.execute(
        surveys.insert().values(
            tenant=tenant,
            call_id=survey.call_id,
            answer_id=survey.call_id if channel == "ivr" else leg_id(survey.call_id),
            queue_id=survey.queue_id,
            agent_id=survey.agent_id,
            channel=channel,
            number=number,
            questions=list(policy["questions"]),
            language=survey.language,
            position=0,
            attempt=1,
            status=survey.status,
            due_at=at + float(policy.get("delay") or 0) if channel == "outbound" else at,
        )
    )
    offered = SurveyOffered(
        call_id=survey.call_id, queue_id=queue_id, agent_id=ended.agent_id, channel=channel
    )
    await _append(conn, tenant, survey.call_id, [offered], datetime.fromtimestamp(at, UTC))
    if channel != "ivr":
        return connection
    return replace(connection, instructions=tuple(core.ask(survey)))


async def on_leg(
    conn: AsyncConnection, tenant: str, answer_id: str, leg: Any, changed: bool
) -> list[Instruction]:
    """An outbound survey leg was reported: answered, it asks; else the survey is over."""
    row = await _by_answer(conn, tenant, answer_id)
    if row is None:
        return []
    survey = _survey(row)
    if changed and row.status == "dialing":
        status = "asking" if leg.outcome == "answered" else "unreached"
        await conn.execute(
            update(surveys)
            .where(surveys.c.tenant == tenant, surveys.c.call_id == row.call_id)
            .values(status=status)
        )
        survey = replace(survey, status=status)
    if leg.ended or leg.outcome not in ("answered", "machine"):
        return []
    if survey.status != "asking":
        return [Hangup()]
    return core.ask(survey, again=survey.attempt > 1)


async def _keyed(conn: AsyncConnection, tenant: str, key: Idempotency) -> Reply | None:
    """The survey's first answer to a request with this Idempotency-Key, if any."""
    query = select(idempotency).where(idempotency.c.tenant == tenant, idempotency.c.key == key.key)
    row = (await conn.execute(query)).first()
    if row is None or not isinstance(row.answer, dict) or "survey" not in row.answer:
        return None
    if row.fingerprint != key.fingerprint:
        raise KeyReused(f"Idempotency-Key {key.key!r} was used for another request")
    kept = row.answer["survey"]
    return Reply(
        call_id=kept["call_id"],
        answer_id=kept["answer_id"],
        position=kept["position"],
        asking=kept["asking"],
        instructions=queries.instructions_from_json(kept["instructions"]),
    )


async def _keep_key(
    conn: AsyncConnection, tenant: str, key: Idempotency, reply: Reply, at: float
) -> None:
    kept = {
        "call_id": reply.call_id,
        "answer_id": reply.answer_id,
        "position": reply.position,
        "asking": reply.asking,
        "instructions": [item.model_dump(mode="json") for item in reply.instructions],
    }
    await conn.execute(
        idempotency.insert().values(
            tenant=tenant,
            key=key.key,
            call_id=reply.answer_id,
            fingerprint=key.fingerprint,
            answer={"survey": kept},
            created_at=at,
        )
    )


class Surveys:
    def __init__(
        self,
        db: Database,
        *,
        committed: Callable[[], None],
        clock: Callable[[], float] = time.time,
        batch: int = 50,
    ) -> None:
        self.db = db
        self.committed = committed
        self.clock = clock
        self.batch = batch

    async def current(self, tenant: str, answer_id: str) -> Reply | None:
        """The question a survey under way on this call asks now (None: no survey asks)."""
        async with self.db.read() as conn:
            row = await _by_answer(conn, tenant, answer_id)
        if row is None or row.status != "asking":
            return None
        survey = _survey(row)
        said = core.ask(survey, again=survey.attempt > 1)
        return Reply(survey.call_id, answer_id, survey.position, True, said)

    async def input(
        self,
        tenant: str,
        answer_id: str,
        digits: str,
        position: str | None = None,
        key: Idempotency | None = None,
    ) -> Reply | None:
        """A key for the survey asking on this call; None when no survey asks (the flow's).

        ``position`` names the question the key answers (Twilio's gather URL): a retry
        for a question already answered changes nothing and hears the current one. An
        Idempotency-Key does the same for the JSON API (its first answer, again).
        """
        # Most keys are the flow's: a read (never SQLite's write lock) finds no survey.
        async with self.db.read() as conn:
            if key is not None and (done := await _keyed(conn, tenant, key)) is not None:
                return done
            asking = await conn.scalar(
                select(surveys.c.status).where(
                    surveys.c.tenant == tenant,
                    surveys.c.answer_id == answer_id,
                    surveys.c.status == "asking",
                )
            )
        if asking is None:
            return None
        for attempt in (1, 2):
            try:
                async with self.db.transaction() as conn:
                    if key is not None and (done := await _keyed(conn, tenant, key)) is not None:
                        return done  # the same request, done meanwhile
                    reply, appended = await self._input(conn, tenant, answer_id, digits, position)
                    if key is not None and reply is not None:
                        await _keep_key(conn, tenant, key, reply, self.clock())
                break
            except (store.ConcurrencyError, IntegrityError):
                if attempt == 2:
                    raise
        if appended:
            self.committed()
        return reply

    async def _input(
        self,
        conn: AsyncConnection,
        tenant: str,
        answer_id: str,
        digits: str,
        position: str | None,
    ) -> tuple[Reply | None, bool]:
        row = await _by_answer(conn, tenant, answer_id)
        if row is None or row.status != "asking":
            return None, False
        survey = _survey(row)
        if position is not None and position != survey.position:
            said = core.ask(survey, again=survey.attempt > 1)
            return Reply(survey.call_id, answer_id, survey.position, True, said), False
        step = core.answer(survey, digits)
        after = step.survey
        now = datetime.fromtimestamp(self.clock(), UTC)
        if step.events:
            await _append(conn, tenant, survey.call_id, list(step.events), now)
        await conn.execute(
            update(surveys)
            .where(surveys.c.tenant == tenant, surveys.c.call_id == survey.call_id)
            .values(position=after.index, attempt=after.attempt, status=after.status)
        )
        before = await queries.load_connection(conn, tenant, answer_id)
        if before is not None:  # what the caller does next, for GET /next
            said = tuple(step.instructions)
            await queries.save_connection(
                conn, tenant, replace(before, instructions=said), self.clock()
            )
        asking = after.status == "asking"
        reply = Reply(survey.call_id, answer_id, after.position, asking, step.instructions)
        return reply, bool(step.events)

    # -- outbound surveys: the leg is placed when the delay is over ------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                dialed = await self.dial_due()
            except Exception as error:  # noqa: BLE001 - go on after a database hiccup
                log.warning("placing survey legs failed: %s", error)
                dialed = 0
            if dialed < self.batch:
                await sleep_or_stop(stop, 1.0)

    async def dial_due(self) -> int:
        """Ask for the legs of the outbound surveys due (each once); returns how many."""
        now = self.clock()
        async with self.db.transaction() as conn:
            rows = (
                await conn.execute(
                    select(surveys)
                    .where(surveys.c.status == "pending", surveys.c.due_at <= now)
                    .order_by(surveys.c.due_at)
                    .limit(self.batch)
                )
            ).all()
            for row in rows:
                leg = outbound.LegRequest(
                    call_id=row.answer_id,
                    number=row.number,
                    queue_id=row.queue_id,
                    purpose="survey",
                )
                await outbound.request(conn, row.tenant, leg, now)
                done = await conn.scalar(
                    select(outbound_legs.c.outcome).where(
                        outbound_legs.c.tenant == row.tenant,
                        outbound_legs.c.call_id == row.answer_id,
                    )
                )
                status = "unreached" if done is not None else "dialing"
                await conn.execute(
                    update(surveys)
                    .where(surveys.c.tenant == row.tenant, surveys.c.call_id == row.call_id)
                    .values(status=status)
                )
        if rows:
            self.committed()
        return len(rows)
