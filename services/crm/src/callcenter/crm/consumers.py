"""What the CRM takes from the IVR: identify each arriving caller (with the agent who last
answered them, for routing), record each call's IVR path and its CSAT answers. From
routing: the timeline's events (``history``) and campaign contacts to screen
(``campaigns``).

Handlers run inside the consumer's transaction (the consumer deduplicates deliveries),
so the events they append, the rows they write and the offsets commit together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import campaigns, dispositions, history, segments
from callcenter.crm.customers import find_by_phone, merged_ids
from callcenter.crm.phones import e164_or_none
from callcenter.crm.settings import Settings
from callcenter.crm.store.tables import call_ivr_steps, call_routing, calls, csat_answers, customers
from callcenter.events import store
from callcenter.events.catalogue import crm, ivr, routing
from callcenter.events.envelope import Envelope, format_time

SOURCE = "crm"


def call_stream(call_id: str) -> str:
    return f"call:{call_id}"


async def identify_caller(
    conn: AsyncConnection, envelope: Envelope, arrived: ivr.CallArrived, region: str
) -> None:
    tenant = envelope.tenant
    seen = await conn.scalar(
        select(calls.c.call_id).where(calls.c.tenant == tenant, calls.c.call_id == arrived.call_id)
    )
    if seen is not None:
        return
    e164 = e164_or_none(arrived.ani, region)
    found = await find_by_phone(conn, tenant, e164) if e164 is not None else None
    await conn.execute(
        insert(calls).values(
            tenant=tenant,
            call_id=arrived.call_id,
            ani=e164 or arrived.ani,
            customer_id=found.id if found else None,
            arrived_at=format_time(arrived.at or envelope.time),
        )
    )
    if found:  # a disposition that arrived first kept its notes plain until now
        await dispositions.seal_pending(conn, tenant, arrived.call_id, found.id)
    tier = found.tier if found else None
    rules = await segments.rules_of(conn, tenant) if found else None
    if found and rules is not None:  # one more call may move the customer up a tier
        await segments.recompute(conn, tenant, found.id, arrived.at or envelope.time, rules)
        tier = await conn.scalar(
            select(customers.c.tier).where(customers.c.tenant == tenant, customers.c.id == found.id)
        )
    event: crm.CustomerIdentified | crm.CallerUnknown = (
        crm.CustomerIdentified(
            call_id=arrived.call_id,
            customer_id=found.id,
            tier=tier,
            preferred_agent_id=await last_agent(conn, tenant, found.id),
        )
        if found
        else crm.CallerUnknown(call_id=arrived.call_id)
    )
    stream = call_stream(arrived.call_id)
    await store.append_to_stream(
        conn,
        stream,
        await store.stream_version(conn, stream),
        [event],
        source=SOURCE,
        tenant=tenant,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.id,
    )


async def last_agent(conn: AsyncConnection, tenant: str, customer_id: str) -> str | None:
    """The agent who answered the customer's latest answered call (theirs or of a customer
    merged into them), if any."""
    ids = [customer_id, *await merged_ids(conn, tenant, customer_id)]
    return await conn.scalar(
        select(call_routing.c.agent_id)
        .join(calls, (calls.c.tenant == call_routing.c.tenant)
              & (calls.c.call_id == call_routing.c.call_id))
        .where(call_routing.c.tenant == tenant, calls.c.customer_id.in_(ids),
               call_routing.c.agent_id.is_not(None))
        .order_by(calls.c.arrived_at.desc())
        .limit(1)
    )  # fmt: skip


async def caller_erased(conn: AsyncConnection, tenant: str, call_id: str) -> bool:
    erased_at = await conn.scalar(
        select(customers.c.erased_at)
        .join(
            calls, (calls.c.tenant == customers.c.tenant) & (calls.c.customer_id == customers.c.id)
        )
        .where(calls.c.tenant == tenant, calls.c.call_id == call_id)
    )
    return erased_at is not None


async def record_ivr_step(
    conn: AsyncConnection,
    envelope: Envelope,
    step: ivr.IvrNodeEntered | ivr.IvrInputReceived,
) -> None:
    is_input = isinstance(step, ivr.IvrInputReceived)
    # Digits may be an account number: none are kept of an erased customer's call (replays).
    keep_digits = is_input and not await caller_erased(conn, envelope.tenant, step.call_id)
    await conn.execute(
        insert(call_ivr_steps).values(
            tenant=envelope.tenant,
            call_id=step.call_id,
            kind="input" if is_input else "node",
            node_id=step.node_id,
            node_type=step.node_type,
            digits=step.digits if keep_digits else "",
            timeout=step.timeout if is_input else False,
            at=format_time(envelope.time),
        )
    )


async def record_csat(
    conn: AsyncConnection, envelope: Envelope, answer: ivr.SurveyAnswered
) -> None:
    await store.upsert(
        conn,
        csat_answers,
        {"tenant": envelope.tenant, "call_id": answer.call_id, "question": answer.question},
        {"score": answer.score, "agent_id": answer.agent_id, "at": format_time(envelope.time)},
    )
    customer_id = await segments.customer_of_call(conn, envelope.tenant, answer.call_id)
    await segments.recompute_customer(conn, envelope.tenant, customer_id, envelope.time)


def ivr_handler(settings: Settings) -> Callable[[AsyncConnection, Envelope], Awaitable[None]]:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, ivr.CallArrived):
            await identify_caller(conn, envelope, data, settings.region_for(envelope.tenant))
        elif isinstance(data, ivr.IvrNodeEntered | ivr.IvrInputReceived):
            await record_ivr_step(conn, envelope, data)
        elif isinstance(data, ivr.SurveyAnswered):
            await record_csat(conn, envelope, data)

    return handle


def routing_handler(settings: Settings) -> Callable[[AsyncConnection, Envelope], Awaitable[None]]:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, routing.CampaignContactsAdded):
            region = settings.region_for(envelope.tenant)
            await campaigns.screen(conn, envelope, data, region)
        else:
            await history.on_routing(conn, envelope)

    return handle
