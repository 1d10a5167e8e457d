"""Reads and writes of the IVR's tables (SQLAlchemy Core, in the caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.ivr.domain.connection import Connection
from callcenter.ivr.domain.instructions import Instruction
from callcenter.ivr.store import telephony_secrets
from callcenter.ivr.store.tables import (
    calls,
    connections,
    flows,
    numbers,
    outbound_legs,
    queues,
    telephony,
    waiting,
)


@dataclass(frozen=True)
class StoredFlow:
    flow_id: str
    version: int
    document: dict[str, Any]
    created_at: str
    created_by: str


@dataclass(frozen=True)
class Binding:
    number: str
    tenant: str
    flow_id: str
    flow_version: int


@dataclass(frozen=True)
class CallRow:
    stream_version: int
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class Telephony:
    twilio_auth_token: str | None = None
    status_callback_url: str | None = None
    status_callback_secret: str | None = None
    twilio_account_sid: str | None = None
    outbound_caller_id: str | None = None
    abandon_message: str | None = None

    @property
    def twilio(self) -> bool:
        """Outbound legs go through Twilio's REST API (else the JSON status callback)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)


@dataclass(frozen=True)
class Waiting:
    queue_id: str
    position: int
    ewt: float | None
    queued_at: float


def _flow(row: Any) -> StoredFlow:
    return StoredFlow(row.flow_id, row.version, row.document, row.created_at, row.created_by)


async def latest_flow(conn: AsyncConnection, tenant: str, flow_id: str) -> StoredFlow | None:
    query = (
        select(flows)
        .where(flows.c.tenant == tenant, flows.c.flow_id == flow_id)
        .order_by(flows.c.version.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _flow(row) if row else None


def flow_version_sync(
    conn: SyncConnection, tenant: str, flow_id: str, version: int
) -> StoredFlow | None:
    query = select(flows).where(
        flows.c.tenant == tenant, flows.c.flow_id == flow_id, flows.c.version == version
    )
    row = conn.execute(query).first()
    return _flow(row) if row else None


async def flow_version(
    conn: AsyncConnection, tenant: str, flow_id: str, version: int
) -> StoredFlow | None:
    return await conn.run_sync(flow_version_sync, tenant, flow_id, version)


async def flow_versions(conn: AsyncConnection, tenant: str, flow_id: str) -> list[int]:
    query = (
        select(flows.c.version)
        .where(flows.c.tenant == tenant, flows.c.flow_id == flow_id)
        .order_by(flows.c.version)
    )
    return list((await conn.scalars(query)).all())


async def add_flow_version(conn: AsyncConnection, tenant: str, flow: StoredFlow) -> None:
    await conn.execute(
        flows.insert().values(
            tenant=tenant,
            flow_id=flow.flow_id,
            version=flow.version,
            document=flow.document,
            created_at=flow.created_at,
            created_by=flow.created_by,
        )
    )


async def binding(conn: AsyncConnection, number: str) -> Binding | None:
    row = (await conn.execute(select(numbers).where(numbers.c.number == number))).first()
    return Binding(row.number, row.tenant, row.flow_id, row.flow_version) if row else None


async def bind_number(conn: AsyncConnection, bound: Binding, at: str) -> None:
    values = {"flow_id": bound.flow_id, "flow_version": bound.flow_version, "updated_at": at}
    await store.upsert(conn, numbers, {"number": bound.number, "tenant": bound.tenant}, values)


async def load_call(conn: AsyncConnection, tenant: str, call_id: str) -> CallRow | None:
    query = select(calls.c.stream_version, calls.c.snapshot).where(
        calls.c.tenant == tenant, calls.c.call_id == call_id
    )
    row = (await conn.execute(query)).first()
    return CallRow(row.stream_version, row.snapshot) if row else None


async def known_queues(conn: AsyncConnection, tenant: str) -> set[str]:
    query = select(queues.c.queue_id).where(queues.c.tenant == tenant)
    return set((await conn.scalars(query)).all())


async def count_queues(conn: AsyncConnection, tenant: str) -> int:
    query = select(func.count()).select_from(queues).where(queues.c.tenant == tenant)
    return int(await conn.scalar(query) or 0)


async def save_queue(conn: AsyncConnection, tenant: str, queue_id: str, name: str) -> None:
    await store.upsert(conn, queues, {"tenant": tenant, "queue_id": queue_id}, {"name": name})


async def remove_queue(conn: AsyncConnection, tenant: str, queue_id: str) -> None:
    gone = delete(queues).where(queues.c.tenant == tenant, queues.c.queue_id == queue_id)
    await conn.execute(gone)


async def load_telephony(conn: AsyncConnection, tenant: str) -> Telephony:
    row = (await conn.execute(select(telephony).where(telephony.c.tenant == tenant))).first()
    if row is None:
        return Telephony()
    return Telephony(
        twilio_auth_token=telephony_secrets.unseal_on(
            conn, tenant, "twilio_auth_token", row.twilio_auth_token
        ),
        status_callback_url=row.status_callback_url,
        status_callback_secret=telephony_secrets.unseal_on(
            conn, tenant, "status_callback_secret", row.status_callback_secret
        ),
        twilio_account_sid=row.twilio_account_sid,
        outbound_caller_id=row.outbound_caller_id,
        abandon_message=row.abandon_message,
    )


async def save_telephony(conn: AsyncConnection, tenant: str, settings: Telephony) -> None:
    values = {
        "twilio_auth_token": telephony_secrets.seal_on(
            conn, tenant, "twilio_auth_token", settings.twilio_auth_token
        ),
        "status_callback_url": settings.status_callback_url,
        "status_callback_secret": telephony_secrets.seal_on(
            conn, tenant, "status_callback_secret", settings.status_callback_secret
        ),
        "twilio_account_sid": settings.twilio_account_sid,
        "outbound_caller_id": settings.outbound_caller_id,
        "abandon_message": settings.abandon_message,
    }
    await store.upsert(conn, telephony, {"tenant": tenant}, values)


async def join_queue(
    conn: AsyncConnection,
    tenant: str,
    call_id: str,
    queue_id: str,
    position: int,
    ewt: float | None,
    queued_at: float,
) -> None:
    """A call queued at ``position``: the calls from there on move one back."""
    await leave_queue(conn, tenant, call_id)  # queued again (an offer declined)
    behind = waiting.c.tenant == tenant, waiting.c.queue_id == queue_id
    await conn.execute(
        update(waiting)
        .where(*behind, waiting.c.position >= position)
        .values(position=waiting.c.position + 1)
    )
    await conn.execute(
        waiting.insert().values(
            tenant=tenant,
            call_id=call_id,
            queue_id=queue_id,
            position=position,
            ewt=ewt,
            queued_at=queued_at,
        )
    )


async def leave_queue(conn: AsyncConnection, tenant: str, call_id: str) -> None:
    """A call out of its queue: the calls behind it move one up."""
    gone = await waiting_call(conn, tenant, call_id)
    if gone is None:
        return
    await conn.execute(
        delete(waiting).where(waiting.c.tenant == tenant, waiting.c.call_id == call_id)
    )
    await conn.execute(
        update(waiting)
        .where(
            waiting.c.tenant == tenant,
            waiting.c.queue_id == gone.queue_id,
            waiting.c.position > gone.position,
        )
        .values(position=waiting.c.position - 1)
    )


async def waiting_call(conn: AsyncConnection, tenant: str, call_id: str) -> Waiting | None:
    query = select(waiting).where(waiting.c.tenant == tenant, waiting.c.call_id == call_id)
    row = (await conn.execute(query)).first()
    return Waiting(row.queue_id, row.position, row.ewt, row.queued_at) if row else None


_INSTRUCTIONS: TypeAdapter[list[Instruction]] = TypeAdapter(list[Instruction])


async def load_connection(conn: AsyncConnection, tenant: str, call_id: str) -> Connection | None:
    query = select(connections).where(
        connections.c.tenant == tenant, connections.c.call_id == call_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    said = row.instructions
    return Connection(
        call_id=row.call_id,
        state=row.state,
        queue_id=row.queue_id,
        agent_id=row.agent_id,
        last_agent_id=row.last_agent_id,
        ended_by=row.ended_by,
        instructions=None if said is None else tuple(_INSTRUCTIONS.validate_python(said)),
    )


async def save_connection(
    conn: AsyncConnection, tenant: str, connection: Connection, at: float
) -> None:
    values = {**connection.to_row(), "updated_at": at}
    key = {"tenant": tenant, "call_id": connection.call_id}
    await store.upsert(conn, connections, key, values)


async def is_ours(conn: AsyncConnection, tenant: str, call_id: str) -> bool:
    """A call that came through this IVR, or an outbound leg it placed."""
    for table in (calls, outbound_legs):
        found = await conn.scalar(
            select(table.c.call_id).where(table.c.tenant == tenant, table.c.call_id == call_id)
        )
        if found is not None:
            return True
    return False


def instructions_from_json(said: list[dict[str, Any]]) -> list[Instruction]:
    return _INSTRUCTIONS.validate_python(said)
