"""The access audit: every read of a customer card, with who, when and why."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.store.tables import card_reads
from callcenter.events.envelope import format_time, utcnow
from callcenter.events.kit.auth import Principal


async def record_card_read(
    conn: AsyncConnection, principal: Principal, customer_id: str, *, call_id: str | None
) -> None:
    await conn.execute(
        insert(card_reads).values(
            tenant=principal.tenant,
            customer_id=customer_id,
            subject=principal.subject,
            call_id=call_id,
            read_at=format_time(utcnow()),
        )
    )
