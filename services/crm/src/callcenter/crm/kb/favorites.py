"""Each agent's favorite articles (the token's subject), per tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.kb.tables import articles, favorites
from callcenter.events.envelope import format_time, utcnow
from callcenter.events.kit.auth import Principal


def _mine(principal: Principal, article_id: str | None = None) -> tuple[Any, ...]:
    where = (favorites.c.tenant == principal.tenant, favorites.c.subject == principal.subject)
    return where if article_id is None else (*where, favorites.c.article_id == article_id)


async def has(conn: AsyncConnection, principal: Principal, article_id: str) -> bool:
    found = await conn.scalar(
        select(favorites.c.article_id).where(
            *_mine(principal), favorites.c.article_id == article_id
        )
    )
    return found is not None


async def add(conn: AsyncConnection, principal: Principal, article_id: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(favorites)
        .values(
            tenant=principal.tenant,
            subject=principal.subject,
            article_id=article_id,
            added_at=format_time(utcnow()),
        )
        .on_conflict_do_nothing()
    )


async def remove(conn: AsyncConnection, principal: Principal, article_id: str) -> None:
    await conn.execute(delete(favorites).where(*_mine(principal, article_id)))


async def of(conn: AsyncConnection, principal: Principal) -> list[Any]:
    """The caller's favorites that agents may read (published), last added first."""
    query = (
        select(articles)
        .join(
            favorites,
            (favorites.c.tenant == articles.c.tenant) & (favorites.c.article_id == articles.c.id),
        )
        .where(*_mine(principal), articles.c.state == "published")
        .order_by(favorites.c.added_at.desc(), articles.c.id)
    )
    return list(await conn.execute(query))
