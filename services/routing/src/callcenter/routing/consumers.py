"""What routing takes from other services' events: the IVR's calls, into the inbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.catalogue import ivr
from callcenter.events.envelope import Envelope, format_time, utcnow
from callcenter.routing.acd import command_json
from callcenter.routing.domain import commands as cmd
from callcenter.routing.store.tables import inbox


def ivr_command(data: object) -> cmd.Command | None:
    if isinstance(data, ivr.CallEnqueueRequested):
        return cmd.EnqueueCall(
            call_id=data.call_id,
            queue_id=data.queue_id,
            priority=data.priority,
            skills=dict(data.skills),
            customer_id=data.customer_id,
        )
    if isinstance(data, ivr.CallHungUp):
        return cmd.HangUp(data.call_id, by="caller" if data.by == "caller" else "system")
    if isinstance(data, ivr.CallbackOfferAccepted):
        return cmd.RequestCallback(data.call_id, data.number)
    return None


async def record_ivr_event(conn: AsyncConnection, envelope: Envelope) -> None:
    """Into the inbox, in the consumer's transaction; the ACD's writer decides it."""
    command = ivr_command(envelope.data)
    if command is None:
        return
    await conn.execute(
        inbox.insert().values(
            tenant=envelope.tenant,
            event_id=envelope.id,
            correlation_id=envelope.correlation_id,
            command=command_json(command),
            received_at=format_time(utcnow()),
        )
    )
