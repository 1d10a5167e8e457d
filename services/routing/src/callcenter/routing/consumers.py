"""What routing takes from other services' events, into the inbox: the IVR's
calls, and the CRM's identification of callers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.catalogue import crm, ivr
from callcenter.events.envelope import Envelope, format_time, utcnow
from callcenter.routing.acd import command_json
from callcenter.routing.domain import commands as cmd
from callcenter.routing.store.tables import inbox


def inbox_command(data: object) -> cmd.Command | None:
    if isinstance(data, ivr.CallEnqueueRequested):
        return cmd.EnqueueCall(
            call_id=data.call_id,
            queue_id=data.queue_id,
            priority=data.priority,
            skills=dict(data.skills),
            customer_id=data.customer_id,
            ani=data.ani,
        )
    if isinstance(data, ivr.CallHungUp):
        return cmd.HangUp(data.call_id, by="caller" if data.by == "caller" else "system")
    if isinstance(data, ivr.CallbackOfferAccepted):
        return cmd.RequestCallback(data.call_id, data.number)
    if isinstance(data, ivr.OutboundCallStatus):
        return cmd.ReportOutbound(data.call_id, data.status)
    if isinstance(data, crm.CampaignContactsScreened):
        return cmd.ApplyScreening(data.campaign_id, [dict(r) for r in data.results])
    if isinstance(data, crm.CustomerIdentified):
        return cmd.IdentifyCustomer(data.call_id, data.customer_id, data.preferred_agent_id)
    return None


async def record_in_inbox(conn: AsyncConnection, envelope: Envelope) -> None:
    """Into the inbox, in the consumer's transaction; the ACD's writer decides it."""
    command = inbox_command(envelope.data)
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
