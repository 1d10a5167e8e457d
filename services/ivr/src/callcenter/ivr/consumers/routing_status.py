"""Consumes ``callcenter.routing``: routing's queues (for flow checks), its waiting
calls (the position and wait a caller on hold hears) and the call events the
provider must hear about (into the webhook outbox)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.catalogue.routing import (
    CallAbandoned,
    CallAnswered,
    CallbackCompleted,
    CallbackOffered,
    CallbackRequested,
    CallEnded,
    CallExitedQueue,
    CallOffered,
    CallQueued,
    CallTransferred,
    QueueConfigured,
    QueueRemoved,
)
from callcenter.events.envelope import Envelope, format_time
from callcenter.ivr.domain.connection import follow
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import calls, webhooks

# A call out of the queue: the calls behind it move up.
LEFT_QUEUE = (CallAnswered, CallAbandoned, CallExitedQueue, CallEnded, CallbackCompleted)
# What a provider acts on: connect, announce position and EWT, offer a callback, end.
NOTIFIED = (
    CallQueued,
    CallOffered,
    CallAnswered,
    CallAbandoned,
    CallExitedQueue,
    CallEnded,
    CallbackRequested,
    CallbackOffered,
    CallbackCompleted,
    CallTransferred,
)
# What moves the caller once out of the IVR (domain/connection.py).
FOLLOWED = (CallQueued, CallAnswered, CallTransferred, CallEnded)
# The events whose callback tells the provider what the caller does next.
INSTRUCTING = (CallTransferred, CallEnded)


def make_handler(clock):  # type: ignore[no-untyped-def]
    """``clock()`` gives unix seconds (injected so tests control retries)."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, QueueConfigured):
            await queries.save_queue(conn, envelope.tenant, data.queue_id, data.name)
            return
        if isinstance(data, QueueRemoved):
            await queries.remove_queue(conn, envelope.tenant, data.queue_id)
            return
        if isinstance(data, CallQueued):
            queued_at = envelope.time.timestamp()
            await queries.join_queue(
                conn,
                envelope.tenant,
                data.call_id,
                data.queue_id,
                data.position,
                data.ewt,
                queued_at,
            )
        elif isinstance(data, LEFT_QUEUE):
            await queries.leave_queue(conn, envelope.tenant, data.call_id)
        if not isinstance(data, NOTIFIED):
            return
        call_id = data.call_id
        known = await conn.scalar(
            select(calls.c.call_id).where(
                calls.c.tenant == envelope.tenant, calls.c.call_id == call_id
            )
        )
        if known is None:
            return  # not a call that came through this IVR
        connection = None
        if isinstance(data, FOLLOWED):
            before = await queries.load_connection(conn, envelope.tenant, call_id)
            connection = follow(before, data)
            if connection is not None:
                await queries.save_connection(conn, envelope.tenant, connection, clock())
        settings = await queries.load_telephony(conn, envelope.tenant)
        if not settings.status_callback_url:
            return
        body = {
            "id": envelope.id,
            "type": envelope.type,
            "time": format_time(envelope.time),
            "tenant": envelope.tenant,
            "call_id": call_id,
            "data": envelope.data_json(),
        }
        if isinstance(data, INSTRUCTING) and connection is not None:
            # What the caller does next ([]: stays as is, e.g. after the agent's part of
            # a transfer ended).
            said = connection.instructions if _changed(data) else None
            body["instructions"] = [item.model_dump(mode="json") for item in said or ()]
        await conn.execute(
            webhooks.insert().values(
                event_id=envelope.id,
                tenant=envelope.tenant,
                call_id=call_id,
                url=settings.status_callback_url,
                body=json.dumps(body, separators=(",", ":"), sort_keys=True),
                status="pending",
                attempts=0,
                next_attempt_at=clock(),
            )
        )

    return handle


def _changed(data: object) -> bool:
    """The event gives the caller new instructions (not the end of a transferring agent's part)."""
    return not (isinstance(data, CallEnded) and data.transferred)
