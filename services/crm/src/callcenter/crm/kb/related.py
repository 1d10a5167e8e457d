"""Articles related to one: the linked ones, then similar ones, then others of its category."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.kb.articles import Article
from callcenter.crm.kb.search import search, terms
from callcenter.crm.kb.tables import articles, links


async def related_articles(
    conn: AsyncConnection, tenant: str, article: Article, limit: int
) -> list[dict[str, Any]]:
    """Published articles only. Linked: set on either article. Similar: sharing words of the
    title and tags, best match first, those of the same category before the others."""
    found: list[dict[str, Any]] = []
    seen = {article.id}

    def take(article_id: str, title: str, category_id: str, reason: str) -> None:
        if article_id not in seen and len(found) < limit:
            seen.add(article_id)
            found.append({"id": article_id, "title": title, "category_id": category_id,
                          "reason": reason})  # fmt: skip

    published = (articles.c.tenant == tenant, articles.c.state == "published")
    linked = await conn.execute(
        select(articles.c.id, articles.c.title, articles.c.category_id)
        .where(
            *published,
            or_(
                articles.c.id.in_(
                    select(links.c.related_id).where(
                        links.c.tenant == tenant, links.c.article_id == article.id
                    )
                ),
                articles.c.id.in_(
                    select(links.c.article_id).where(
                        links.c.tenant == tenant, links.c.related_id == article.id
                    )
                ),
            ),
        )
        .order_by(articles.c.title, articles.c.id)
    )
    for row in linked:
        take(row.id, row.title, row.category_id, "linked")
    words = terms(" ".join([article.title, *article.tags]), typing=False)
    if len(found) < limit and words:
        hits = await search(
            conn, tenant, words, every=False, prefix_last=False, limit=limit + len(seen)
        )
        hits.sort(key=lambda hit: hit.category_id != article.category_id)  # stable: by rank
        for hit in hits:
            take(hit.id, hit.title, hit.category_id, "similar")
    if len(found) < limit:
        same_category = await conn.execute(
            select(articles.c.id, articles.c.title, articles.c.category_id)
            .where(*published, articles.c.category_id == article.category_id)
            .order_by(articles.c.updated_at.desc(), articles.c.id)
            .limit(limit + len(seen))
        )
        for row in same_category:
            take(row.id, row.title, row.category_id, "same_category")
    return found
