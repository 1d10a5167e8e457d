"""Crypto-shredding: a customer's personal fields travel in events sealed with the
customer's own key (AES-256-GCM); erasing the customer deletes the key, so no replay
can ever read those fields again, while the events themselves (and the counts built
on them) stay.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.store.tables import customer_keys
from callcenter.events.kit import sealing

Keys = dict[tuple[str, str], bytes]  # (tenant, customer id) -> key


def seal(key: bytes, customer_id: str, fields: dict[str, str]) -> str:
    """The fields as one token; the customer id is bound in, so a token moved onto
    another customer's event does not open."""
    plain = json.dumps(fields, sort_keys=True).encode()
    return sealing.seal(key, plain, customer_id.encode())


def unseal(key: bytes | None, customer_id: str, token: str) -> dict[str, str]:
    """The sealed fields, or nothing when the key is gone (the customer was erased)."""
    if key is None:
        return {}
    try:
        return json.loads(sealing.unseal(key, token, customer_id.encode()))
    except sealing.Unopenable:
        raise ValueError(f"a sealed field of customer {customer_id} does not open") from None


def personal_fields(data: object, key: bytes | None, customer_id: str) -> dict[str, str]:
    """An event's personal fields: sealed ones opened with the key, or those written in
    plain text before sealing."""
    sealed = getattr(data, "sealed", None)
    if sealed is not None:
        return unseal(key, customer_id, sealed)
    return dict(getattr(data, "personal", {}))


async def create_key(conn: AsyncConnection, tenant: str, customer_id: str) -> bytes:
    key = AESGCM.generate_key(bit_length=256)
    await conn.execute(
        insert(customer_keys).values(tenant=tenant, customer_id=customer_id, key=key)
    )
    return key


async def key_of(conn: AsyncConnection, tenant: str, customer_id: str) -> bytes | None:
    return await conn.scalar(
        select(customer_keys.c.key).where(
            customer_keys.c.tenant == tenant, customer_keys.c.customer_id == customer_id
        )
    )


async def all_keys(conn: AsyncConnection) -> Keys:
    rows = await conn.execute(select(customer_keys))
    return {(row.tenant, row.customer_id): row.key for row in rows}


async def shred(conn: AsyncConnection, tenant: str, customer_id: str) -> None:
    await conn.execute(
        delete(customer_keys).where(
            customer_keys.c.tenant == tenant, customer_keys.c.customer_id == customer_id
        )
    )


async def key_for_writing(conn: AsyncConnection, tenant: str, customer_id: str) -> bytes:
    """The customer's key; one is made for a customer created before sealing."""
    return await key_of(conn, tenant, customer_id) or await create_key(conn, tenant, customer_id)
