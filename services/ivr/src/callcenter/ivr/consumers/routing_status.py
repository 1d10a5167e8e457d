"""Consumes ``callcenter.routing``: routing's queues (for flow checks), its waiting
calls (the position and wait a caller on hold hears) and the call events the
provider must hear about (into the webhook outbox)."""

from __future__ import annotations

import json

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
    ContactAbandoned,
    OutboundCallRequested,
    QueueConfigured,
    QueueRemoved,
)
from callcenter.events.envelope import Envelope, format_time
from callcenter.ivr import outbound, recordings, surveys
from callcenter.ivr.domain.connection import follow
from callcenter.ivr.outbound import LegRequest
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import webhooks

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
    ContactAbandoned,
)
# What moves the caller once out of the IVR (domain/connection.py).
FOLLOWED = (CallQueued, CallAnswered, CallTransferred, CallEnded)
# The events whose callback tells the provider what the caller does next.
INSTRUCTING = (CallTransferred, CallEnded, ContactAbandoned)


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
        if isinstance(data, OutboundCallRequested):
            leg = LegRequest(
                call_id=data.call_id,
                number=data.number,
                caller_id=data.caller_id,
                queue_id=data.queue_id,
                campaign_id=data.campaign_id,
                contact_id=data.contact_id,
                agent_id=data.agent_id,
                detect_machine=data.detect_machine,
                timeout=data.timeout,
            )
            await outbound.request(conn, envelope.tenant, leg, clock())
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
        if not await queries.is_ours(conn, envelope.tenant, call_id):
            return  # not a call that came through this IVR, nor a leg it placed
        connection = None
        if isinstance(data, ContactAbandoned):
            await outbound.abandoned(conn, envelope.tenant, call_id, clock())
            connection = await queries.load_connection(conn, envelope.tenant, call_id)
        elif isinstance(data, FOLLOWED):
            before = await queries.load_connection(conn, envelope.tenant, call_id)
            connection = follow(before, data)
            if connection is not None and isinstance(data, CallEnded):
                connection = await surveys.offer(conn, envelope.tenant, data, connection, clock())
            if connection is not None:
                await queries.save_connection(conn, envelope.tenant, connection, clock())
        recording = None
        if isinstance(data, CallAnswered):
            recording = await recordings.started(conn, envelope.tenant, data, clock())
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
        if recording is not None:  # the provider records the agent's part, reports the file
            body["recording"] = {
                "recording_id": recording,
                "report_to": f"/v1/recordings/{recording}/stopped",
                "twilio_status_callback": "/v1/twilio/recording-status"
                f"?tenant={envelope.tenant}&recording_id={recording}",
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
