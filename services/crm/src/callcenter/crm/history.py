"""What the CRM keeps of other services' events for the timeline: what routing did with
each call (queue, wait, agent, talk time, outcome), how agents dispositioned calls,
callbacks, and work orders with their steps. No personal data is kept from them
(numbers and ticket titles stay out) but the agents' disposition notes, sealed with the
customer's key (``dispositions``).

Handlers run inside the consumer's transaction; the consumer deduplicates deliveries by
stream version, so each event is applied once. The tables are rebuilt by replaying the
topics (``reset_history`` then a restart: the consumers read from the beginning).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import dispositions as dispositioned
from callcenter.crm import segments
from callcenter.crm.store.tables import (
    call_ivr_steps,
    call_routing,
    callbacks,
    csat_answers,
    dispositions,
    work_order_steps,
    work_orders,
)
from callcenter.events import store
from callcenter.events.catalogue import routing, workorders
from callcenter.events.envelope import Envelope, format_time

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
CONSUMERS = ("crm.ivr", "crm.routing", "crm.workorders")


async def _routed(conn: AsyncConnection, tenant: str, call_id: str, **values: object) -> None:
    await store.upsert(conn, call_routing, {"tenant": tenant, "call_id": call_id}, values)


async def on_routing(conn: AsyncConnection, envelope: Envelope) -> None:
    data, tenant = envelope.data, envelope.tenant
    if isinstance(data, routing.CallQueued):
        await _routed(
            conn,
            tenant,
            data.call_id,
            queue_id=data.queue_id,
            outcome="queued",
            agent_id=None,
            wait=None,
            talk=None,
            queued_at=format_time(data.at),
            ended_at=None,
        )
    elif isinstance(data, routing.CallAnswered | routing.CallAbandoned | routing.CallExitedQueue):
        outcome = {
            routing.CallAnswered: "answered",
            routing.CallAbandoned: "abandoned",
            routing.CallExitedQueue: "exited",
        }[type(data)]
        queued_at = format_time(data.at - timedelta(seconds=data.wait))
        await _routed(
            conn,
            tenant,
            data.call_id,
            queue_id=data.queue_id,
            outcome=outcome,
            agent_id=getattr(data, "agent_id", None),
            wait=data.wait,
            queued_at=queued_at,
            ended_at=None if outcome == "answered" else format_time(data.at),
        )
        if outcome == "abandoned":  # a churn signal
            customer_id = await segments.customer_of_call(conn, tenant, data.call_id)
            await segments.recompute_customer(conn, tenant, customer_id, data.at)
    elif isinstance(data, routing.CallDispositioned | routing.ContactDispositioned):
        await dispositioned.record(conn, envelope, data)
    elif isinstance(data, routing.CallEnded):
        await conn.execute(
            update(call_routing)
            .where(call_routing.c.tenant == tenant, call_routing.c.call_id == data.call_id)
            .values(talk=data.talk, ended_at=format_time(data.at))
        )
    elif isinstance(data, routing.CallbackRequested):
        at = format_time(data.at)
        await store.upsert(
            conn,
            callbacks,
            {"tenant": tenant, "callback_id": data.callback_id},
            {
                "call_id": data.call_id,
                "queue_id": data.queue_id,
                "agent_id": None,
                "outcome": "requested",
                "attempts": 0,
                "requested_at": at,
                "updated_at": at,
            },
        )
    elif isinstance(data, routing.CallbackOffered | routing.CallbackCompleted):
        values: dict[str, object] = {"agent_id": data.agent_id, "updated_at": format_time(data.at)}
        if isinstance(data, routing.CallbackCompleted):
            values |= {"outcome": data.outcome, "attempts": data.attempt}
        else:
            values["outcome"] = "offered"
        await conn.execute(
            update(callbacks)
            .where(callbacks.c.tenant == tenant, callbacks.c.callback_id == data.callback_id)
            .values(**values)
        )


STATUS = {
    workorders.TicketResolved: "resolved",
    workorders.TicketClosed: "closed",
    workorders.TicketCancelled: "cancelled",
    workorders.TicketReopened: "open",
    workorders.TicketsMerged: "merged",
}
# The steps shown in the timeline (clock bookkeeping and warnings are left out).
STEPS = (
    workorders.TicketOpened,
    workorders.TicketDispatched,
    workorders.TicketReplied,
    workorders.TicketFollowedUp,
    workorders.TicketPendingCustomer,
    workorders.TicketResumed,
    workorders.TicketResolved,
    workorders.TicketClosed,
    workorders.TicketCancelled,
    workorders.TicketReopened,
    workorders.TicketsMerged,
    workorders.TicketSlaBreached,
    workorders.TicketEscalated,
    workorders.TicketPriorityChanged,
)


async def on_workorders(conn: AsyncConnection, envelope: Envelope) -> None:
    data, tenant = envelope.data, envelope.tenant
    if not isinstance(data, STEPS):
        return
    ticket_id = data.ticket_id
    at = format_time(getattr(data, "at", None) or envelope.time)
    where = (work_orders.c.tenant == tenant, work_orders.c.ticket_id == ticket_id)
    if isinstance(data, workorders.TicketOpened):
        await store.upsert(
            conn,
            work_orders,
            {"tenant": tenant, "ticket_id": ticket_id},
            {
                "customer_id": data.customer_id,
                "call_id": data.call_id,
                "type": data.type,
                "priority": data.priority,
                "status": "open",
                "breached": False,
                "opened_at": at,
                "updated_at": at,
            },
        )
    elif type(data) in STATUS:
        await conn.execute(
            update(work_orders).where(*where).values(status=STATUS[type(data)], updated_at=at)
        )
    elif isinstance(data, workorders.TicketPriorityChanged):
        await conn.execute(
            update(work_orders).where(*where).values(priority=data.priority, updated_at=at)
        )
    elif isinstance(data, workorders.TicketSlaBreached):
        await conn.execute(update(work_orders).where(*where).values(breached=True, updated_at=at))
    await conn.execute(
        insert(work_order_steps).values(
            tenant=tenant,
            ticket_id=ticket_id,
            step=data.event_type,
            by=getattr(data, "by", "system"),
            at=at,
        )
    )
    # Complaints and work orders past their SLA are churn signals.
    customer_id = await segments.customer_of_ticket(conn, tenant, ticket_id)
    await segments.recompute_customer(
        conn, tenant, customer_id, getattr(data, "at", None) or envelope.time
    )


async def reset_history(conn: AsyncConnection) -> None:
    """Forget what was taken from other services' topics, and where the consumers were:
    at their next start they read every topic again from the beginning. The calls and
    their identification stay (they are the CRM's own decisions, on ``call:`` streams)."""
    for table in (
        call_ivr_steps,
        call_routing,
        callbacks,
        csat_answers,
        dispositions,
        work_orders,
        work_order_steps,
    ):
        await conn.execute(delete(table))
    for table in (store.consumer_offsets, store.consumer_streams):
        await conn.execute(delete(table).where(table.c.consumer.in_(CONSUMERS)))
