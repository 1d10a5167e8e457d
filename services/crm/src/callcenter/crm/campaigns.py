"""Screening campaign contacts: routing's CampaignContactsAdded names the numbers a
campaign will dial; the CRM matches each to a customer (the number read as E.164 with the
tenant's region, as for callers) and answers with one CampaignContactsScreened per batch:
each contact's customer, or none, and that customer's consent flags. The dialer calls
no one whose consent forbids it.

Erased customers match nothing (their numbers leave the phone index; a contact naming
one by id is not matched either); a merged customer's numbers belong to the survivor.
The answer (in parts of ``RESULTS_PER_EVENT`` for a large batch) is appended in the
consumer's transaction to the stream
``campaign:<tenant>:<campaign_id>`` and the relay publishes it; each batch (routing's
event id) is screened once, even when routing's topic is replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.phones import e164_or_none
from callcenter.crm.store.tables import customer_phones, customers, screened_batches
from callcenter.events import store
from callcenter.events.catalogue import crm, routing
from callcenter.events.envelope import Envelope, format_time

SOURCE = "crm"
CONSENT_FLAGS = ("calls", "sms", "email", "marketing")
CHUNK = 500  # numbers or ids per query
# Results per CampaignContactsScreened: a batch larger than this is answered in several
# events (about 130 bytes a result), so no message outgrows the broker's limit (1 MB).
RESULTS_PER_EVENT = 2_000

Match = tuple[str, dict[str, Any]]  # (customer id, stored consent)


def stream_id(tenant: str, campaign_id: str) -> str:
    return f"campaign:{tenant}:{campaign_id}"


def consent_flags(stored: Mapping[str, Any]) -> dict[str, bool]:
    """Every flag, false unless the customer gave it."""
    return {flag: bool(stored.get(flag, False)) for flag in CONSENT_FLAGS}


def screen_results(
    contacts: Iterable[Mapping[str, Any]],
    normalize: Callable[[str], str | None],
    by_phone: Mapping[str, Match],
    by_id: Mapping[str, Match],
) -> list[dict[str, Any]]:
    """Each contact's customer: the one holding its number, else the one the contact
    names (if the CRM holds them, live), else none (and no consent)."""
    results = []
    for contact in contacts:
        contact_id = contact.get("contact_id")
        if not contact_id:
            continue
        e164 = normalize(str(contact.get("number") or ""))
        match = by_phone.get(e164) if e164 else None
        if match is None and contact.get("customer_id"):
            match = by_id.get(str(contact["customer_id"]))
        results.append(
            {
                "contact_id": str(contact_id),
                "customer_id": match[0] if match else None,
                "consent": consent_flags(match[1]) if match else {},
            }
        )
    return results


def _parts(values: list[Any], size: int) -> list[list[Any]]:
    """``values`` in lists of ``size`` at most (one empty list when there are none)."""
    return [values[start : start + size] for start in range(0, len(values), size)] or [[]]


async def _by_phone(conn: AsyncConnection, tenant: str, numbers: set[str]) -> dict[str, Match]:
    found: dict[str, Match] = {}
    for chunk in _parts(sorted(numbers), CHUNK):
        rows = await conn.execute(
            select(customer_phones.c.e164, customers.c.id, customers.c.consent)
            .join(
                customers,
                (customers.c.tenant == customer_phones.c.tenant)
                & (customers.c.id == customer_phones.c.customer_id),
            )
            .where(
                customer_phones.c.tenant == tenant,
                customer_phones.c.e164.in_(chunk),
                customers.c.erased_at.is_(None),
            )
        )
        found |= {row.e164: (row.id, dict(row.consent)) for row in rows}
    return found


async def _by_id(conn: AsyncConnection, tenant: str, ids: set[str]) -> dict[str, Match]:
    """Live customers by id; a merged one stands for its survivor."""
    found: dict[str, Match] = {}
    survivors: dict[str, str] = {}
    for chunk in _parts(sorted(ids), CHUNK):
        rows = await conn.execute(
            select(customers.c.id, customers.c.consent, customers.c.merged_into).where(
                customers.c.tenant == tenant,
                customers.c.id.in_(chunk),
                customers.c.erased_at.is_(None),
            )
        )
        for row in rows:
            if row.merged_into is None:
                found[row.id] = (row.id, dict(row.consent))
            else:
                survivors[row.id] = row.merged_into
    if survivors:
        live = await _by_id(conn, tenant, set(survivors.values()) - found.keys())
        live |= found
        found |= {old: live[new] for old, new in survivors.items() if new in live}
    return found


async def screen(
    conn: AsyncConnection, envelope: Envelope, added: routing.CampaignContactsAdded, region: str
) -> None:
    """Answer the batch with CampaignContactsScreened, once (a batch screened before is
    left alone)."""
    tenant = envelope.tenant
    seen = await conn.scalar(
        select(screened_batches.c.event_id).where(
            screened_batches.c.tenant == tenant, screened_batches.c.event_id == envelope.id
        )
    )
    if seen is not None:
        return

    read: dict[str, str | None] = {}

    def normalize(number: str) -> str | None:
        if number not in read:
            read[number] = e164_or_none(number, region)
        return read[number]

    numbers = {normalize(str(c.get("number") or "")) for c in added.contacts}
    ids = {str(c["customer_id"]) for c in added.contacts if c.get("customer_id")}
    results = screen_results(
        added.contacts,
        normalize,
        await _by_phone(conn, tenant, {n for n in numbers if n}),
        await _by_id(conn, tenant, ids) if ids else {},
    )
    stream = stream_id(tenant, added.campaign_id)
    await store.append_to_stream(
        conn,
        stream,
        await store.stream_version(conn, stream),
        [
            crm.CampaignContactsScreened(campaign_id=added.campaign_id, results=part)
            for part in _parts(results, RESULTS_PER_EVENT)
        ],
        source=SOURCE,
        tenant=tenant,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.id,
    )
    await conn.execute(
        screened_batches.insert().values(
            tenant=tenant,
            event_id=envelope.id,
            campaign_id=added.campaign_id,
            contacts=len(results),
            screened_at=format_time(envelope.time),
        )
    )
