"""Tickets opened from other services' events, in the consumer's transaction.

Triggers: a voicemail left in the IVR, a callback routing gave up on, a call
from a known customer abandoned in queue, a call an agent dispositioned with a
follow-up. Each tenant's rule per trigger (in ``workorders_ticket_rules``, else
the service's settings) names the ticket type and priority, or no ticket; a
follow-up's type may also depend on the disposition (``workorders_follow_up_types``).
The ticket's id is derived from the event's subject (``vm-<call>``,
``cb-<callback>``, ``ab-<call>``, ``fu-<call>``), so the event and the ticket
are one to one; the consumer dedupes deliveries, and an id already taken is
treated as done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.catalogue import ivr, routing
from callcenter.events.envelope import Envelope, utcnow
from callcenter.workorders.domain.commands import Open
from callcenter.workorders.domain.errors import TicketError
from callcenter.workorders.settings import Settings
from callcenter.workorders.store.tables import follow_up_types, ticket_rules, waiting_calls
from callcenter.workorders.tickets import apply, ticket_type

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
TRIGGERS = ("voicemail", "failed_callback", "abandoned_call", "follow_up")
SOURCES = {"voicemail": "voicemail", "failed_callback": "callback",
           "abandoned_call": "abandoned_call", "follow_up": "call"}  # fmt: skip
TITLE_LENGTH = 500


@dataclass(frozen=True)
class Rule:
    ticket_type: str | None
    priority: str = "normal"


def default_rule(settings: Settings, trigger: str) -> Rule:
    name = getattr(settings, f"{trigger}_ticket_type")
    return Rule(name or None)


async def rule_for(conn: AsyncConnection, settings: Settings, tenant: str, trigger: str) -> Rule:
    row = (
        await conn.execute(
            select(ticket_rules).where(
                ticket_rules.c.tenant == tenant, ticket_rules.c.trigger == trigger
            )
        )
    ).first()
    return Rule(row.ticket_type, row.priority) if row else default_rule(settings, trigger)


async def types_by_disposition(conn: AsyncConnection, tenant: str) -> dict[str, str]:
    rows = await conn.execute(select(follow_up_types).where(follow_up_types.c.tenant == tenant))
    return {row.disposition: row.ticket_type for row in rows}


def follow_up_type(disposition: str, by_disposition: dict[str, str], rule: Rule) -> str | None:
    """The type of the follow-up ticket of a call dispositioned so: the tenant's type for
    the disposition, else the ``follow_up`` rule's (None: no ticket)."""
    return by_disposition.get(disposition, rule.ticket_type)


def follow_up_title(disposition: str) -> str:
    return f"Follow-up: {disposition}"[:TITLE_LENGTH]


@dataclass(frozen=True)
class Wanted:
    trigger: str
    ticket_id: str
    title: str
    call_id: str
    customer_id: str | None
    description: str = ""
    disposition: str | None = None  # a follow-up's


async def _wanted(conn: AsyncConnection, envelope: Envelope) -> Wanted | None:
    data, tenant = envelope.data, envelope.tenant
    if isinstance(data, ivr.VoicemailRecorded):
        return Wanted("voicemail", f"vm-{data.call_id}", f"Voicemail ({data.duration:.0f} s)",
                      data.call_id, data.customer_id)  # fmt: skip
    if isinstance(data, routing.CallbackCompleted) and data.outcome == "gave_up":
        return Wanted("failed_callback", f"cb-{data.callback_id}",
                      f"Callback to {data.number} not completed", data.call_id, None)  # fmt: skip
    if isinstance(data, routing.CallDispositioned) and data.follow_up:
        return Wanted("follow_up", f"fu-{data.call_id}", follow_up_title(data.disposition),
                      data.call_id, data.customer_id, description=data.notes,
                      disposition=data.disposition)  # fmt: skip
    if isinstance(data, routing.CallQueued) and data.customer_id:
        await conn.execute(waiting_calls.delete().where(
            waiting_calls.c.tenant == tenant, waiting_calls.c.call_id == data.call_id
        ))  # fmt: skip
        await conn.execute(waiting_calls.insert().values(
            tenant=tenant, call_id=data.call_id, customer_id=data.customer_id
        ))  # fmt: skip
        return None
    if isinstance(data, routing.CallAnswered | routing.CallExitedQueue | routing.CallAbandoned):
        where = (waiting_calls.c.tenant == tenant) & (waiting_calls.c.call_id == data.call_id)
        customer_id = await conn.scalar(select(waiting_calls.c.customer_id).where(where))
        await conn.execute(waiting_calls.delete().where(where))
        if isinstance(data, routing.CallAbandoned) and customer_id is not None:
            return Wanted("abandoned_call", f"ab-{data.call_id}",
                          f"Abandoned after {data.wait:.0f} s in queue {data.queue_id}",
                          data.call_id, customer_id)  # fmt: skip
    return None


def ticket_opener(settings: Settings) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        wanted = await _wanted(conn, envelope)
        if wanted is None:
            return
        tenant = envelope.tenant
        rule = await rule_for(conn, settings, tenant, wanted.trigger)
        name = rule.ticket_type
        if wanted.disposition is not None:
            mapped = await types_by_disposition(conn, tenant)
            name = follow_up_type(wanted.disposition, mapped, rule)
        kind = await ticket_type(conn, tenant, name) if name is not None else None
        if kind is None:
            return
        command = Open(
            wanted.ticket_id, kind, by="system", priority=rule.priority, title=wanted.title,
            description=wanted.description, customer_id=wanted.customer_id,
            call_id=wanted.call_id, source=SOURCES[wanted.trigger],
        )  # fmt: skip
        try:
            await apply(
                conn, envelope.tenant, wanted.ticket_id, command, utcnow(),
                correlation_id=envelope.correlation_id, causation_id=envelope.id,
            )  # fmt: skip
        except TicketError:
            return  # already opened (a redelivery before the consumer's checkpoint)

    return handle
