"""Tickets opened from other services' events, in the consumer's transaction.

A voicemail left in the IVR, or a callback routing gave up on, opens a ticket
whose id is derived from the call, so the event and the ticket are one to one.
The consumer dedupes deliveries; an id already taken is also treated as done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.catalogue import ivr, routing
from callcenter.events.envelope import Envelope, utcnow
from callcenter.workorders.domain.commands import Open
from callcenter.workorders.domain.errors import TicketError
from callcenter.workorders.settings import Settings
from callcenter.workorders.tickets import apply, ticket_type

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]


def ticket_opener(settings: Settings, on_open: Callable[[], None] = lambda: None) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, ivr.VoicemailRecorded) and settings.voicemail_ticket_type:
            type_name, source = settings.voicemail_ticket_type, "voicemail"
            ticket_id, title = f"vm-{data.call_id}", f"Voicemail ({data.duration:.0f} s)"
            customer_id, call_id = data.customer_id, data.call_id
        elif (
            isinstance(data, routing.CallbackCompleted)
            and data.outcome == "gave_up"
            and settings.failed_callback_ticket_type
        ):
            type_name, source = settings.failed_callback_ticket_type, "callback"
            ticket_id, title = f"cb-{data.callback_id}", f"Callback to {data.number} not completed"
            customer_id, call_id = None, data.call_id
        else:
            return
        kind = await ticket_type(conn, envelope.tenant, type_name)
        if kind is None:
            return
        command = Open(ticket_id, kind, by="system", title=title, customer_id=customer_id,
                       call_id=call_id, source=source)  # fmt: skip
        try:
            await apply(
                conn, envelope.tenant, ticket_id, command, utcnow(),
                correlation_id=envelope.correlation_id, causation_id=envelope.id,
            )  # fmt: skip
        except TicketError:
            return  # already opened (a redelivery before the consumer's checkpoint)
        on_open()

    return handle
