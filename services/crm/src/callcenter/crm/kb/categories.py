"""The tree of categories of a tenant: events on ``kb-category:<id>`` and the read model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.kb.articles import SOURCE, Invalid
from callcenter.crm.kb.tables import articles, categories
from callcenter.events import store
from callcenter.events.catalogue import Event, crm
from callcenter.events.envelope import format_time, utcnow


def stream_id(category_id: str) -> str:
    return f"kb-category:{category_id}"


class NotEmpty(Exception):
    """The category still holds subcategories or articles."""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    parent_id: str | None


async def all_of(conn: AsyncConnection, tenant: str) -> dict[str, Category]:
    """Every category of the tenant (a tenant has tens or hundreds: one small read)."""
    rows = await conn.execute(
        select(categories.c.id, categories.c.name, categories.c.parent_id).where(
            categories.c.tenant == tenant
        )
    )
    return {row.id: Category(row.id, row.name, row.parent_id) for row in rows}


def path(known: dict[str, Category], category_id: str) -> list[Category]:
    """From the root down to ``category_id``."""
    steps: list[Category] = []
    current = known.get(category_id)
    while current is not None:
        steps.append(current)
        current = known.get(current.parent_id) if current.parent_id else None
    return steps[::-1]


def subtree(known: dict[str, Category], category_id: str) -> set[str]:
    """``category_id`` and every category below it."""
    children: dict[str | None, list[str]] = {}
    for category in known.values():
        children.setdefault(category.parent_id, []).append(category.id)
    found, pending = set(), [category_id]
    while pending:
        current = pending.pop()
        found.add(current)
        pending.extend(children.get(current, []))
    return found


def tree(known: dict[str, Category]) -> list[dict[str, Any]]:
    """Nested ``{id, name, children}`` from the roots, siblings by name."""
    children: dict[str | None, list[Category]] = {}
    for category in known.values():
        children.setdefault(category.parent_id, []).append(category)

    def nodes(parent_id: str | None) -> list[dict[str, Any]]:
        return [
            {"id": c.id, "name": c.name, "children": nodes(c.id)}
            for c in sorted(children.get(parent_id, []), key=lambda c: (c.name.lower(), c.id))
        ]

    return nodes(None)


def _check(known: dict[str, Category], category: Category) -> None:
    if category.parent_id is not None:
        if category.parent_id not in known:
            raise Invalid("body.parent_id", "no such category")
        if category.parent_id in subtree(known, category.id):
            raise Invalid("body.parent_id", "is the category itself or below it")
    for other in known.values():
        same_place = other.parent_id == category.parent_id and other.id != category.id
        if same_place and other.name.lower() == category.name.lower():
            raise Invalid("body.name", "a sibling category has this name")


async def _append(
    conn: AsyncConnection, tenant: str, category_id: str, event: Event, subject: str
) -> None:
    version = await store.stream_version(conn, stream_id(category_id))
    await store.append_to_stream(
        conn,
        stream_id(category_id),
        version,
        [event],
        source=SOURCE,
        tenant=tenant,
        correlation_id=category_id,
        subject=subject,
    )


async def create(
    conn: AsyncConnection, tenant: str, name: str, parent_id: str | None, *, subject: str
) -> Category:
    """Raises ``Invalid`` for an unknown parent or a sibling of the same name."""
    category = Category(uuid.uuid4().hex, name, parent_id)
    _check(await all_of(conn, tenant), category)
    event = crm.KbCategoryCreated(category_id=category.id, name=name, parent_id=parent_id)
    await _append(conn, tenant, category.id, event, subject)
    await conn.execute(
        insert(categories).values(
            tenant=tenant,
            id=category.id,
            name=name,
            parent_id=parent_id,
            created_at=format_time(utcnow()),
        )
    )
    return category


async def change(
    conn: AsyncConnection, tenant: str, current: Category, changed: Category, *, subject: str
) -> Category:
    """Rename or move; raises ``Invalid`` for a cycle, an unknown parent or a name clash."""
    if changed == current:
        return current
    _check(await all_of(conn, tenant), changed)
    event = crm.KbCategoryChanged(
        category_id=changed.id, name=changed.name, parent_id=changed.parent_id
    )
    await _append(conn, tenant, changed.id, event, subject)
    await conn.execute(
        update(categories)
        .where(categories.c.tenant == tenant, categories.c.id == changed.id)
        .values(name=changed.name, parent_id=changed.parent_id)
    )
    return changed


async def remove(conn: AsyncConnection, tenant: str, category: Category, *, subject: str) -> None:
    """Raises ``NotEmpty`` while subcategories or articles (in any state) are in it."""
    child = await conn.scalar(
        select(categories.c.id)
        .where(categories.c.tenant == tenant, categories.c.parent_id == category.id)
        .limit(1)
    )
    article = await conn.scalar(
        select(articles.c.id)
        .where(articles.c.tenant == tenant, articles.c.category_id == category.id)
        .limit(1)
    )
    if child is not None or article is not None:
        raise NotEmpty(category.id)
    event = crm.KbCategoryDeleted(category_id=category.id)
    await _append(conn, tenant, category.id, event, subject)
    await conn.execute(
        delete(categories).where(categories.c.tenant == tenant, categories.c.id == category.id)
    )
