"""Call recordings: settings per tenant, started when an agent answers, stopped with the
provider's file, shown to supervisors and admins (each look audited), purged after
their retention.

Events go to the stream ``ivr.recording:<tenant>:<recording id>``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import RecordingPaused, RecordingResumed, RecordingStarted
from callcenter.events.catalogue.routing import CallAnswered
from callcenter.events.db import Database
from callcenter.events.envelope import format_time
from callcenter.events.kit.auth import Principal
from callcenter.ivr.domain import recording as core
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import recording_audit, recording_settings, recordings, webhooks

DEFAULT_RETENTION_DAYS = 90


class RecordingNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = False
    consent_prompt: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    language: str = "en-US"
    scope: str = "agent"  # or "call": the whole call from its start


def recording_stream(tenant: str, recording_id: str) -> str:
    return f"ivr.recording:{tenant}:{recording_id}"


def load_settings_sync(conn: Connection, tenant: str) -> RecordingSettings:
    query = select(recording_settings).where(recording_settings.c.tenant == tenant)
    row = conn.execute(query).first()
    if row is None:
        return RecordingSettings()
    return RecordingSettings(
        bool(row.enabled), row.consent_prompt, row.retention_days, scope=row.scope
    )


async def load_settings(conn: AsyncConnection, tenant: str) -> RecordingSettings:
    return await conn.run_sync(load_settings_sync, tenant)


async def save_settings(conn: AsyncConnection, tenant: str, settings: RecordingSettings) -> None:
    values = {
        "enabled": int(settings.enabled),
        "consent_prompt": settings.consent_prompt,
        "retention_days": settings.retention_days,
        "scope": settings.scope,
    }
    await store.upsert(conn, recording_settings, {"tenant": tenant}, values)


async def _append(
    conn: AsyncConnection, tenant: str, recording_id: str, events: list[Event], now: datetime
) -> None:
    stream = recording_stream(tenant, recording_id)
    version = await store.stream_version(conn, stream)
    correlation = getattr(events[0], "call_id", recording_id) if events else recording_id
    await store.append_to_stream(conn, stream, version, events, source="callcenter.ivr",
                                 tenant=tenant, correlation_id=correlation,
                                 subject=recording_id, time=now)  # fmt: skip


async def _row(conn: AsyncConnection, tenant: str, recording_id: str) -> Any:
    query = select(recordings).where(
        recordings.c.tenant == tenant, recordings.c.recording_id == recording_id
    )
    return (await conn.execute(query)).first()


async def started(
    conn: AsyncConnection, tenant: str, answered: CallAnswered, at: float
) -> str | None:
    """An agent answered one of our calls (consumer's transaction): its recording starts,
    when the tenant records. Returns the recording's id."""
    settings = await load_settings(conn, tenant)
    if not settings.enabled or settings.scope != "agent":
        return None  # not recorded, or recorded whole since it started
    return await _start(
        conn, tenant, answered.call_id, answered.agent_id, answered.queue_id, settings, at
    )


async def _start(
    conn: AsyncConnection,
    tenant: str,
    call_id: str,
    agent_id: str,
    queue_id: str,
    settings: RecordingSettings,
    at: float,
) -> str:
    rid = core.recording_id(tenant, call_id, agent_id)
    if await _row(conn, tenant, rid) is not None:
        return rid
    now = datetime.fromtimestamp(at, UTC)
    await conn.execute(
        recordings.insert().values(
            tenant=tenant,
            recording_id=rid,
            call_id=call_id,
            agent_id=agent_id,
            queue_id=queue_id,
            status="recording",
            started_at=format_time(now),
            retention_days=settings.retention_days,
        )
    )
    event = RecordingStarted(call_id=call_id, recording_id=rid, at=now)
    await _append(conn, tenant, rid, [event], now)
    return rid


async def call_started(
    db: Database, tenant: str, call_id: str, settings: RecordingSettings, at: float
) -> str | None:
    """A call started: recorded whole when the tenant's scope is "call"."""
    if not settings.enabled or settings.scope != "call":
        return None
    async with db.transaction() as conn:
        return await _start(conn, tenant, call_id, "", "", settings, at)


async def sensitive(
    db: Database, tenant: str, call_id: str, moves: list[core.Move], at: float
) -> bool:
    """The call entered or left a sensitive node: its live recordings pause or resume
    (and the provider is told by the status callback). True when events were appended."""
    async with db.transaction() as conn:
        rows = (
            await conn.execute(
                select(recordings).where(
                    recordings.c.tenant == tenant,
                    recordings.c.call_id == call_id,
                    recordings.c.status.in_(("recording", "paused")),
                )
            )
        ).all()
        if not rows:
            return False
        now = datetime.fromtimestamp(at, UTC)
        telephony = await queries.load_telephony(conn, tenant)
        appended = False
        for row in rows:
            status = row.status
            for move in moves:
                event: Event
                if move == "pause" and status == "recording":
                    event = RecordingPaused(call_id=call_id, recording_id=row.recording_id, at=now)
                    status = "paused"
                elif move == "resume" and status == "paused":
                    event = RecordingResumed(call_id=call_id, recording_id=row.recording_id, at=now)
                    status = "recording"
                else:
                    continue
                await _append(conn, tenant, row.recording_id, [event], now)
                appended = True
                await _tell(conn, tenant, call_id, event, telephony, at)
            await conn.execute(
                update(recordings)
                .where(
                    recordings.c.tenant == tenant,
                    recordings.c.recording_id == row.recording_id,
                )
                .values(status=status)
            )
    return appended


async def _tell(
    conn: AsyncConnection,
    tenant: str,
    call_id: str,
    event: Event,
    telephony: queries.Telephony,
    at: float,
) -> None:
    """The provider pauses or resumes its recording: a signed status callback."""
    if not telephony.status_callback_url:
        return
    kind = type(event).__name__
    event_id = uuid.uuid4().hex
    body = {
        "id": event_id,
        "type": kind,
        "time": format_time(datetime.fromtimestamp(at, UTC)),
        "tenant": tenant,
        "call_id": call_id,
        "data": event.model_dump(mode="json"),
        "recording": {
            "recording_id": event.recording_id,  # type: ignore[attr-defined]
            "action": "pause" if isinstance(event, RecordingPaused) else "resume",
        },
    }
    await conn.execute(
        webhooks.insert().values(
            event_id=event_id,
            tenant=tenant,
            call_id=call_id,
            url=telephony.status_callback_url,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            status="pending",
            attempts=0,
            next_attempt_at=at,
        )
    )


async def stopped(
    db: Database, tenant: str, recording_id: str, uri: str, duration: float, at: float
) -> tuple[dict[str, Any], bool]:
    """The provider's file of a recording: ``RecordingStopped`` once. (view, appended)."""
    async with db.transaction() as conn:
        row = await _row(conn, tenant, recording_id)
        if row is None:
            raise RecordingNotFound(recording_id)
        now = datetime.fromtimestamp(at, UTC)
        events = core.stop(
            core.Recording(row.recording_id, row.call_id, row.status),
            uri,
            duration,
            now,
            row.retention_days,
        )
        if events:
            await _append(conn, tenant, recording_id, list(events), now)
            until = events[0].retain_until
            await conn.execute(
                update(recordings)
                .where(recordings.c.tenant == tenant, recordings.c.recording_id == recording_id)
                .values(
                    status="stopped",
                    stopped_at=format_time(now),
                    uri=uri,
                    duration=events[0].duration,
                    retain_until=until.timestamp() if until else None,
                )
            )
        row = await _row(conn, tenant, recording_id)
    return view(row), bool(events)


def view(row: Any) -> dict[str, Any]:
    until = row.retain_until
    return {
        "recording_id": row.recording_id,
        "call_id": row.call_id,
        "agent_id": row.agent_id,
        "queue_id": row.queue_id,
        "status": row.status,
        "started_at": row.started_at,
        "stopped_at": row.stopped_at,
        "uri": row.uri,
        "duration": row.duration,
        "retain_until": format_time(datetime.fromtimestamp(until, UTC)) if until else None,
    }


async def look(db: Database, principal: Principal, recording_id: str) -> dict[str, Any]:
    """A supervisor or admin looks at a recording: its metadata, and who looked, when."""
    async with db.transaction() as conn:
        row = await _row(conn, principal.tenant, recording_id)
        if row is None:
            raise RecordingNotFound(recording_id)
        await conn.execute(
            recording_audit.insert().values(
                tenant=principal.tenant,
                recording_id=recording_id,
                subject=principal.subject,
                roles=",".join(sorted(role.value for role in principal.roles)),
                at=format_time(datetime.now(UTC)),
                action="viewed",
            )
        )
    return view(row)


async def audit(db: Database, tenant: str, recording_id: str) -> list[dict[str, str]]:
    async with db.read() as conn:
        if await _row(conn, tenant, recording_id) is None:
            raise RecordingNotFound(recording_id)
        query = (
            select(recording_audit)
            .where(
                recording_audit.c.tenant == tenant,
                recording_audit.c.recording_id == recording_id,
            )
            .order_by(recording_audit.c.id)
        )
        rows = (await conn.execute(query)).all()
    return [
        {"subject": row.subject, "roles": row.roles, "at": row.at, "action": row.action}
        for row in rows
    ]


async def purge_due(db: Database, now: float, batch: int = 500) -> int:
    """Recordings past their retention lose their file (the URI) and say so in the audit."""
    async with db.transaction() as conn:
        rows = (
            await conn.execute(
                select(recordings.c.tenant, recordings.c.recording_id)
                .where(recordings.c.status == "stopped", recordings.c.retain_until < now)
                .limit(batch)
            )
        ).all()
        at = format_time(datetime.fromtimestamp(now, UTC))
        for row in rows:
            await conn.execute(
                update(recordings)
                .where(
                    recordings.c.tenant == row.tenant,
                    recordings.c.recording_id == row.recording_id,
                )
                .values(status="purged", uri=None)
            )
            await conn.execute(
                recording_audit.insert().values(
                    tenant=row.tenant,
                    recording_id=row.recording_id,
                    subject="system",
                    roles="",
                    at=at,
                    action="purged",
                )
            )
    return len(rows)
