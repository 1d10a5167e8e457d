"""The customer aggregate: events on ``customer:<id>`` and the read model, in one transaction."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import search, shredding
from callcenter.crm.store.tables import (
    call_ivr_steps,
    calls,
    customer_emails,
    customer_phones,
    customer_tags,
    customers,
    dispositions,
    interactions,
    notes,
)
from callcenter.events import store
from callcenter.events.catalogue import crm
from callcenter.events.envelope import Envelope, format_time

SOURCE = "crm"


def stream_id(customer_id: str) -> str:
    return f"customer:{customer_id}"


@dataclass
class Customer:
    id: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    tier: str = "ordinary"
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    merged_into: str | None = None
    version: int = 0
    created_at: str = ""
    updated_at: str = ""
    erased_at: str | None = None

    def personal(self) -> dict[str, str]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "phones": json.dumps(self.phones),
            "emails": json.dumps(self.emails),
            "attributes": json.dumps(self.attributes, sort_keys=True),
        }

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "tier": self.tier,
            "phones": self.phones,
            "emails": self.emails,
            "tags": self.tags,
            "attributes": self.attributes,
            "consent": self.consent,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def evolve(customer: Customer | None, envelope: Envelope, key: bytes | None) -> Customer:
    """The customer after one of its events (the read model is this fold of its stream).
    Without the customer's key (erased) the personal fields stay empty."""
    data = envelope.data
    customer_id = envelope.stream_id.removeprefix("customer:")
    personal = shredding.personal_fields(data, key, customer_id)
    if isinstance(data, crm.CustomerCreated):
        customer = Customer(
            id=data.customer_id, tier=data.tier, tags=list(data.tags), consent=dict(data.consent)
        )
        customer.created_at = format_time(envelope.time)
    assert customer is not None, f"{envelope.stream_id} does not start with CustomerCreated"
    if isinstance(data, crm.CustomerCreated | crm.CustomerUpdated):
        for name in ("first_name", "last_name", "company"):
            if name in personal:
                setattr(customer, name, personal[name])
        for name in ("phones", "emails", "attributes"):
            if name in personal:
                setattr(customer, name, json.loads(personal[name]))
        if data.tier is not None:
            customer.tier = data.tier
        if data.tags is not None:
            customer.tags = list(data.tags)
        if isinstance(data, crm.CustomerUpdated) and data.consent is not None:
            customer.consent = dict(data.consent)
        customer.updated_at = format_time(envelope.time)
    if isinstance(data, crm.CustomersMerged) and data.merged_id == customer.id:
        customer.merged_into = data.survivor_id
    if isinstance(data, crm.CustomerErased):
        customer = erased(customer, format_time(envelope.time))
    customer.version = envelope.stream_version
    return customer


class Duplicate(Exception):
    """Another customer of the tenant already has this phone number or email."""

    def __init__(self, field_name: str, existing_id: str) -> None:
        super().__init__(f"{field_name} already belongs to customer {existing_id}")
        self.field = field_name
        self.existing_id = existing_id


def new_id() -> str:
    return uuid.uuid4().hex


def from_row(row: Any) -> Customer:
    return Customer(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        company=row.company,
        tier=row.tier,
        phones=list(row.phones),
        emails=list(row.emails),
        tags=list(row.tags),
        attributes=dict(row.attributes),
        consent=dict(row.consent),
        merged_into=row.merged_into,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        erased_at=row.erased_at,
    )


async def load(conn: AsyncConnection, tenant: str, customer_id: str) -> Customer | None:
    row = (
        await conn.execute(
            select(customers).where(customers.c.tenant == tenant, customers.c.id == customer_id)
        )
    ).first()
    return from_row(row) if row else None


async def find_by_phone(conn: AsyncConnection, tenant: str, e164: str) -> Any | None:
    """The screen pop's lookup: (id, tier) of the customer with this number, if any."""
    query = (
        select(customers.c.id, customers.c.tier)
        .join(
            customer_phones,
            (customer_phones.c.tenant == customers.c.tenant)
            & (customer_phones.c.customer_id == customers.c.id),
        )
        .where(customer_phones.c.tenant == tenant, customer_phones.c.e164 == e164)
    )
    return (await conn.execute(query)).first()


async def find_duplicate(
    conn: AsyncConnection, tenant: str, phones: list[str], emails: list[str], *, besides: str = ""
) -> Duplicate | None:
    for index, phone in enumerate(phones):
        owner = await conn.scalar(
            select(customer_phones.c.customer_id).where(
                customer_phones.c.tenant == tenant, customer_phones.c.e164 == phone
            )
        )
        if owner is not None and owner != besides:
            return Duplicate(f"phones.{index}", owner)
    for index, email in enumerate(emails):
        owner = await conn.scalar(
            select(customer_emails.c.customer_id).where(
                customer_emails.c.tenant == tenant, customer_emails.c.email == email
            )
        )
        if owner is not None and owner != besides:
            return Duplicate(f"emails.{index}", owner)
    return None


def row_values(tenant: str, customer: Customer) -> dict[str, Any]:
    search_name = search.folded(
        " ".join((customer.first_name, customer.last_name, customer.company))
    )
    return {
        "tenant": tenant,
        "id": customer.id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "search_name": search_name,
        "company": customer.company,
        "tier": customer.tier,
        "phones": customer.phones,
        "emails": customer.emails,
        "tags": customer.tags,
        "attributes": customer.attributes,
        "consent": customer.consent,
        "merged_into": customer.merged_into,
        "version": customer.version,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "erased_at": customer.erased_at,
    }


async def write_indexes(conn: AsyncConnection, tenant: str, customer: Customer) -> None:
    for table in (customer_phones, customer_emails, customer_tags):
        await conn.execute(
            delete(table).where(table.c.tenant == tenant, table.c.customer_id == customer.id)
        )
    if customer.merged_into is not None or customer.erased_at is not None:
        return  # the survivor holds its numbers now; an erased customer has none
    rows = [
        (customer_phones, [{"e164": p} for p in customer.phones]),
        (customer_emails, [{"email": e} for e in customer.emails]),
        (customer_tags, [{"tag": t} for t in customer.tags]),
    ]
    for table, values in rows:
        if values:
            await conn.execute(
                insert(table),
                [{"tenant": tenant, "customer_id": customer.id, **v} for v in values],
            )


async def create(
    conn: AsyncConnection, tenant: str, customer: Customer, *, subject: str
) -> Customer:
    """Raises ``Duplicate`` when a phone or email already belongs to another customer."""
    duplicate = await find_duplicate(conn, tenant, customer.phones, customer.emails)
    if duplicate:
        raise duplicate
    customer.version = 1
    key = await shredding.create_key(conn, tenant, customer.id)
    event = crm.CustomerCreated(
        customer_id=customer.id,
        tier=customer.tier,  # type: ignore[arg-type]
        tags=customer.tags,
        consent=customer.consent,
        sealed=shredding.seal(key, customer.id, customer.personal()),
    )
    [envelope] = await store.append_to_stream(
        conn,
        stream_id(customer.id),
        0,
        [event],
        source=SOURCE,
        tenant=tenant,
        correlation_id=customer.id,
        subject=subject,
    )
    customer.created_at = customer.updated_at = format_time(envelope.time)
    await conn.execute(insert(customers).values(**row_values(tenant, customer)))
    await _write_indexes_or_duplicate(conn, tenant, customer)
    return customer


async def update_customer(
    conn: AsyncConnection, tenant: str, current: Customer, changes: dict[str, Any], *, subject: str
) -> Customer:
    """Apply ``changes`` (only the fields given); no change, no event."""
    changed = {k: v for k, v in changes.items() if getattr(current, k) != v}
    if not changed:
        return current
    duplicate = await find_duplicate(
        conn, tenant, changed.get("phones", []), changed.get("emails", []), besides=current.id
    )
    if duplicate:
        raise duplicate
    updated = Customer(**{**current.__dict__, **changed})
    updated.version = current.version + 1
    personal = {k: v for k, v in updated.personal().items() if k in changed}
    sealed = None
    if personal:
        key = await shredding.key_for_writing(conn, tenant, current.id)
        sealed = shredding.seal(key, current.id, personal)
    event = crm.CustomerUpdated(
        customer_id=current.id,
        tier=changed.get("tier"),
        tags=changed.get("tags"),
        consent=changed.get("consent"),
        sealed=sealed,
    )
    [envelope] = await store.append_to_stream(
        conn,
        stream_id(current.id),
        current.version,
        [event],
        source=SOURCE,
        tenant=tenant,
        correlation_id=current.id,
        subject=subject,
    )
    updated.updated_at = format_time(envelope.time)
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.id == current.id)
        .values(**row_values(tenant, updated))
    )
    await _write_indexes_or_duplicate(conn, tenant, updated)
    return updated


async def _write_indexes_or_duplicate(conn: AsyncConnection, tenant: str, c: Customer) -> None:
    # Two concurrent writers may both pass the duplicate check; the index's key refuses one.
    try:
        async with conn.begin_nested():
            await write_indexes(conn, tenant, c)
    except IntegrityError:
        duplicate = await find_duplicate(conn, tenant, c.phones, c.emails, besides=c.id)
        if duplicate is None:
            raise
        raise duplicate from None


async def merge(
    conn: AsyncConnection, tenant: str, survivor: Customer, merged: Customer, *, subject: str
) -> Customer:
    """``merged`` joins ``survivor``: its numbers, emails and tags too; both histories stay."""
    event = crm.CustomersMerged(survivor_id=survivor.id, merged_id=merged.id)
    common = {"source": SOURCE, "tenant": tenant, "correlation_id": survivor.id, "subject": subject}
    await store.append_to_stream(conn, stream_id(merged.id), merged.version, [event], **common)
    await store.append_to_stream(conn, stream_id(survivor.id), survivor.version, [event], **common)
    merged.merged_into = survivor.id
    merged.version += 1
    survivor.version += 1
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.id == merged.id)
        .values(**row_values(tenant, merged))
    )
    # Customers merged into the merged one before now belong to the survivor.
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.merged_into == merged.id)
        .values(merged_into=survivor.id)
    )
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.id == survivor.id)
        .values(version=survivor.version)
    )
    await write_indexes(conn, tenant, merged)  # removes its index rows
    union = {
        "phones": list(dict.fromkeys(survivor.phones + merged.phones)),
        "emails": list(dict.fromkeys(survivor.emails + merged.emails)),
        "tags": list(dict.fromkeys(survivor.tags + merged.tags)),
    }
    return await update_customer(conn, tenant, survivor, union, subject=subject)


async def merged_ids(conn: AsyncConnection, tenant: str, survivor_id: str) -> list[str]:
    rows = await conn.execute(
        select(customers.c.id).where(
            customers.c.tenant == tenant, customers.c.merged_into == survivor_id
        )
    )
    return [row.id for row in rows]


def erased(customer: Customer, at: str) -> Customer:
    """What stays of an erased customer: the id, tier, tags and dates (for the counts)."""
    return Customer(
        id=customer.id,
        tier=customer.tier,
        tags=customer.tags,
        merged_into=customer.merged_into,
        version=customer.version,
        created_at=customer.created_at,
        updated_at=at,
        erased_at=at,
    )


async def erase(conn: AsyncConnection, tenant: str, customer: Customer, *, subject: str) -> str:
    """Erase the customer and those merged into it: ``CustomerErased`` on each stream, their
    keys deleted (their sealed fields in events are unreadable from now on), and their
    personal data removed from the read models. Returns the erasure's time."""
    ids = [customer.id, *await merged_ids(conn, tenant, customer.id)]
    at = ""
    for customer_id in ids:
        current = await load(conn, tenant, customer_id)
        assert current is not None
        [envelope] = await store.append_to_stream(
            conn,
            stream_id(customer_id),
            current.version,
            [crm.CustomerErased(customer_id=customer_id)],
            source=SOURCE,
            tenant=tenant,
            correlation_id=customer_id,
            subject=subject,
        )
        at = format_time(envelope.time)
        gone = erased(current, at)
        gone.version = envelope.stream_version
        await conn.execute(
            update(customers)
            .where(customers.c.tenant == tenant, customers.c.id == customer_id)
            .values(**row_values(tenant, gone))
        )
        await write_indexes(conn, tenant, gone)
        await shredding.shred(conn, tenant, customer_id)
    await conn.execute(
        update(notes).where(notes.c.tenant == tenant, notes.c.customer_id.in_(ids)).values(text="")
    )
    await conn.execute(
        update(interactions)
        .where(interactions.c.tenant == tenant, interactions.c.customer_id.in_(ids))
        .values(subject="", summary="")
    )
    their_calls = select(calls.c.call_id).where(
        calls.c.tenant == tenant, calls.c.customer_id.in_(ids)
    )
    await conn.execute(
        update(call_ivr_steps)
        .where(call_ivr_steps.c.tenant == tenant, call_ivr_steps.c.call_id.in_(their_calls))
        .values(digits="")
    )
    await conn.execute(  # the agents' notes on their calls (also sealed with their keys)
        update(dispositions)
        .where(
            dispositions.c.tenant == tenant,
            or_(dispositions.c.customer_id.in_(ids), dispositions.c.call_id.in_(their_calls)),
        )
        .values(notes="", sealed=False)
    )
    await conn.execute(
        update(calls).where(calls.c.tenant == tenant, calls.c.customer_id.in_(ids)).values(ani="")
    )
    await search.forget_deleted_terms(conn)
    return at
