"""The article aggregate: events on ``kb-article:<id>`` and the read model, in one transaction.

An article's stream is its version history: version N is the fold of its first N events,
and each event's envelope says who (subject) and when (time).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.kb.tables import articles, categories, links
from callcenter.events import store
from callcenter.events.catalogue import Event, crm
from callcenter.events.envelope import Envelope, format_time

SOURCE = "crm"
CONTENT = ("category_id", "title", "body", "tags", "related_ids")


def stream_id(article_id: str) -> str:
    return f"kb-article:{article_id}"


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Article:
    id: str
    category_id: str
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    related_ids: list[str] = field(default_factory=list)
    state: str = "draft"  # draft | published | archived
    version: int = 0
    created_at: str = ""
    updated_at: str = ""
    updated_by: str = ""


class Invalid(Exception):
    """A field of the request refers to something the tenant does not have."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


def evolve(article: Article | None, envelope: Envelope) -> Article:
    data = envelope.data
    at = format_time(envelope.time)
    if isinstance(data, crm.KbArticleCreated):
        article = Article(
            id=data.article_id,
            category_id=data.category_id,
            title=data.title,
            body=data.body,
            tags=list(data.tags),
            related_ids=list(data.related_ids),
            created_at=at,
        )
    assert article is not None, f"{envelope.stream_id} does not start with KbArticleCreated"
    if isinstance(data, crm.KbArticleUpdated):
        for name in CONTENT:
            value = getattr(data, name)
            if value is not None:
                setattr(article, name, list(value) if isinstance(value, list) else value)
    elif isinstance(data, crm.KbArticlePublished):
        article.state = "published"
    elif isinstance(data, crm.KbArticleArchived):
        article.state = "archived"
    article.version = envelope.stream_version
    article.updated_at = at
    article.updated_by = envelope.subject or ""
    return article


def fold(envelopes: Iterable[Envelope]) -> Article | None:
    article = None
    for envelope in envelopes:
        article = evolve(article, envelope)
    return article


CHANGES = {
    crm.KbArticleCreated: "created",
    crm.KbArticleUpdated: "updated",
    crm.KbArticlePublished: "published",
    crm.KbArticleArchived: "archived",
}


def change_of(envelope: Envelope) -> str:
    return CHANGES[type(envelope.data)]


def _row(tenant: str, article: Article) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "id": article.id,
        "category_id": article.category_id,
        "title": article.title,
        "body": article.body,
        "tags": " ".join(article.tags),
        "state": article.state,
        "version": article.version,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "updated_by": article.updated_by,
    }


def from_row(row: Any, related_ids: list[str]) -> Article:
    return Article(
        id=row.id,
        category_id=row.category_id,
        title=row.title,
        body=row.body,
        tags=row.tags.split(),
        related_ids=related_ids,
        state=row.state,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def load(conn: AsyncConnection, tenant: str, article_id: str) -> Article | None:
    row = (
        await conn.execute(
            select(articles).where(articles.c.tenant == tenant, articles.c.id == article_id)
        )
    ).first()
    if row is None:
        return None
    related = await conn.scalars(
        select(links.c.related_id)
        .where(links.c.tenant == tenant, links.c.article_id == article_id)
        .order_by(links.c.related_id)
    )
    return from_row(row, list(related))


async def history(conn: AsyncConnection, article_id: str) -> list[Envelope]:
    return await store.read_stream(conn, stream_id(article_id))


async def _check_references(
    conn: AsyncConnection, tenant: str, article_id: str, changes: dict[str, Any]
) -> None:
    if "category_id" in changes:
        known = await conn.scalar(
            select(categories.c.id).where(
                categories.c.tenant == tenant, categories.c.id == changes["category_id"]
            )
        )
        if known is None:
            raise Invalid("body.category_id", "no such category")
    for index, related_id in enumerate(changes.get("related_ids", [])):
        if related_id == article_id:
            raise Invalid(f"body.related_ids.{index}", "is the article itself")
        known = await conn.scalar(
            select(articles.c.id).where(articles.c.tenant == tenant, articles.c.id == related_id)
        )
        if known is None:
            raise Invalid(f"body.related_ids.{index}", "no such article")


async def _record(
    conn: AsyncConnection, tenant: str, current: Article | None, event: Event, subject: str
) -> Article:
    """Append ``event`` after ``current`` and write the article it leads to."""
    expected = current.version if current else 0
    article_id = event.article_id  # type: ignore[attr-defined]
    [envelope] = await store.append_to_stream(
        conn,
        stream_id(article_id),
        expected,
        [event],
        source=SOURCE,
        tenant=tenant,
        correlation_id=article_id,
        subject=subject,
    )
    article = evolve(replace(current) if current else None, envelope)
    where = (articles.c.tenant == tenant, articles.c.id == article_id)
    if current is None:
        await conn.execute(insert(articles).values(**_row(tenant, article)))
    else:
        await conn.execute(update(articles).where(*where).values(**_row(tenant, article)))
    if current is None or current.related_ids != article.related_ids:
        await conn.execute(
            delete(links).where(links.c.tenant == tenant, links.c.article_id == article_id)
        )
        if article.related_ids:
            await conn.execute(
                insert(links),
                [
                    {"tenant": tenant, "article_id": article_id, "related_id": related_id}
                    for related_id in article.related_ids
                ],
            )
    return article


async def create(
    conn: AsyncConnection, tenant: str, article: Article, *, subject: str, publish: bool
) -> Article:
    """A new draft (published at once if ``publish``); raises ``Invalid`` for bad references."""
    await _check_references(conn, tenant, article.id, article.__dict__)
    event = crm.KbArticleCreated(
        article_id=article.id,
        category_id=article.category_id,
        title=article.title,
        body=article.body,
        tags=article.tags,
        related_ids=article.related_ids,
    )
    created = await _record(conn, tenant, None, event, subject)
    return (
        await set_state(conn, tenant, created, "published", subject=subject) if publish else created
    )


async def update_article(
    conn: AsyncConnection, tenant: str, current: Article, changes: dict[str, Any], *, subject: str
) -> Article:
    """Apply ``changes`` (only the content fields given); no change, no event."""
    changed = {name: value for name, value in changes.items() if getattr(current, name) != value}
    if not changed:
        return current
    await _check_references(conn, tenant, current.id, changed)
    return await _record(
        conn, tenant, current, crm.KbArticleUpdated(article_id=current.id, **changed), subject
    )


async def set_state(
    conn: AsyncConnection, tenant: str, current: Article, state: str, *, subject: str
) -> Article:
    """Publish or archive; already in that state, no event."""
    if current.state == state:
        return current
    event_class = crm.KbArticlePublished if state == "published" else crm.KbArticleArchived
    return await _record(conn, tenant, current, event_class(article_id=current.id), subject)
