"""``/v1/kb``: the knowledge base agents read from their console, and supervisors write.

Agents (and every reader) see published articles only; supervisors and admins write and
also see drafts and archived articles. Every query is scoped to the token's tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.api.deps import RuntimeDep, not_found
from callcenter.crm.kb import articles as model
from callcenter.crm.kb import categories as tree
from callcenter.crm.kb import favorites
from callcenter.crm.kb.related import related_articles
from callcenter.crm.kb.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePage,
    ArticlePatch,
    ArticleSummary,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryTree,
    FavoriteList,
    RelatedList,
    SearchResult,
    State,
    VersionList,
)
from callcenter.crm.kb.search import search, terms
from callcenter.crm.kb.tables import articles
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.events.kit.runtime import Runtime
from callcenter.events.store import ConcurrencyError

router = APIRouter(prefix="/kb", tags=["knowledge base"])

Reader = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Writer = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
ArticleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CategoryId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def writes(principal: Principal) -> bool:
    return principal.has(Role.SUPERVISOR) or principal.has(Role.ADMIN)


def invalid(error: model.Invalid) -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        str(error),
        errors=[{"field": error.field, "reason": error.reason}],
    )


def conflict(detail: str) -> ProblemError:
    return ProblemError(409, "Conflict", detail)


async def visible_article(
    conn: AsyncConnection, principal: Principal, article_id: str
) -> model.Article:
    """The article, or a 404: readers who do not write see published articles only."""
    article = await model.load(conn, principal.tenant, article_id)
    if article is None or (article.state != "published" and not writes(principal)):
        raise not_found(f"article {article_id!r}")
    return article


async def article_out(
    conn: AsyncConnection, principal: Principal, article: model.Article
) -> ArticleOut:
    known = await tree.all_of(conn, principal.tenant)
    return ArticleOut(
        **article.__dict__,
        category_path=[{"id": c.id, "name": c.name} for c in tree.path(known, article.category_id)],
        favorite=await favorites.has(conn, principal, article.id),
    )


def summary(row: Any) -> ArticleSummary:
    return ArticleSummary(
        id=row.id,
        category_id=row.category_id,
        title=row.title,
        tags=row.tags.split(),
        state=row.state,
        updated_at=row.updated_at,
    )


# -- categories -------------------------------------------------------------------


@router.get("/categories", response_model=CategoryTree, summary="The tree of categories")
async def category_tree(principal: Reader, runtime: RuntimeDep):
    async with runtime.db.read() as conn:
        known = await tree.all_of(conn, principal.tenant)
    return {"items": tree.tree(known)}


@router.post(
    "/categories",
    response_model=CategoryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a category (supervisors, admins)",
)
async def create_category(body: CategoryIn, principal: Writer, runtime: RuntimeDep):
    try:
        async with runtime.db.transaction() as conn:
            category = await tree.create(
                conn, principal.tenant, body.name, body.parent_id, subject=principal.subject
            )
    except model.Invalid as error:
        raise invalid(error) from None
    runtime.committed()
    return category.__dict__


@router.patch(
    "/categories/{category_id}",
    response_model=CategoryOut,
    summary="Rename or move a category (supervisors, admins)",
)
async def patch_category(
    category_id: CategoryId, body: CategoryPatch, principal: Writer, runtime: RuntimeDep
):
    try:
        async with runtime.db.transaction() as conn:
            current = (await tree.all_of(conn, principal.tenant)).get(category_id)
            if current is None:
                raise not_found(f"category {category_id!r}")
            given = body.model_dump(exclude_unset=True)
            changed = tree.Category(
                id=current.id,
                name=given.get("name") or current.name,
                parent_id=given["parent_id"] if "parent_id" in given else current.parent_id,
            )
            category = await tree.change(
                conn, principal.tenant, current, changed, subject=principal.subject
            )
    except model.Invalid as error:
        raise invalid(error) from None
    runtime.committed()
    return category.__dict__


@router.delete(
    "/categories/{category_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an empty category (supervisors, admins); 409 while it holds anything",
)
async def delete_category(category_id: CategoryId, principal: Writer, runtime: RuntimeDep):
    try:
        async with runtime.db.transaction() as conn:
            current = (await tree.all_of(conn, principal.tenant)).get(category_id)
            if current is None:
                raise not_found(f"category {category_id!r}")
            await tree.remove(conn, principal.tenant, current, subject=principal.subject)
    except tree.NotEmpty:
        raise conflict(f"category {category_id!r} still holds categories or articles") from None
    runtime.committed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- articles ---------------------------------------------------------------------


@router.post(
    "/articles",
    response_model=ArticleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Write an article (supervisors, admins): a draft, or published with publish=true",
)
async def create_article(body: ArticleIn, principal: Writer, runtime: RuntimeDep):
    content = body.model_dump(exclude={"publish"})
    article = model.Article(id=model.new_id(), **content)
    try:
        async with runtime.db.transaction() as conn:
            article = await model.create(
                conn, principal.tenant, article, subject=principal.subject, publish=body.publish
            )
            out = await article_out(conn, principal, article)
    except model.Invalid as error:
        raise invalid(error) from None
    runtime.committed()
    return out


@router.get(
    "/articles",
    response_model=ArticlePage,
    summary="Articles of a category (or all), by id; drafts and archived for writers only",
)
async def list_articles(
    principal: Reader,
    runtime: RuntimeDep,
    category_id: IdQuery = None,
    state: State = "published",
    cursor: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    if state != "published" and not writes(principal):
        raise ProblemError(
            403,
            "Forbidden",
            "query.state: only supervisors and admins see drafts and archived articles",
        )
    query = select(articles).where(articles.c.tenant == principal.tenant, articles.c.state == state)
    if category_id is not None:
        query = query.where(articles.c.category_id == category_id)
    if cursor is not None:
        query = query.where(articles.c.id > cursor)
    async with runtime.db.read() as conn:
        rows = (await conn.execute(query.order_by(articles.c.id).limit(limit + 1))).all()
    items = [summary(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": items[-1].id if len(rows) > limit else None}


@router.get("/articles/{article_id}", response_model=ArticleOut)
async def get_article(article_id: ArticleId, principal: Reader, runtime: RuntimeDep):
    """The article with its category path and whether the caller has it in favorites."""
    async with runtime.db.read() as conn:
        article = await visible_article(conn, principal, article_id)
        return await article_out(conn, principal, article)


@router.patch(
    "/articles/{article_id}",
    response_model=ArticleOut,
    summary="Edit an article (supervisors, admins): a new version; the state stays",
)
async def patch_article(
    article_id: ArticleId, body: ArticlePatch, principal: Writer, runtime: RuntimeDep
):
    changes = body.model_dump(exclude_none=True, exclude={"expected_version"})
    try:
        async with runtime.db.transaction() as conn:
            current = await visible_article(conn, principal, article_id)
            if body.expected_version is not None and body.expected_version != current.version:
                raise ProblemError(
                    409,
                    "Conflict",
                    f"body.expected_version: the article is at version {current.version}",
                    current_version=current.version,
                    errors=[{"field": "body.expected_version", "reason": "not the latest"}],
                )
            article = await model.update_article(
                conn, principal.tenant, current, changes, subject=principal.subject
            )
            out = await article_out(conn, principal, article)
    except model.Invalid as error:
        raise invalid(error) from None
    except ConcurrencyError:
        raise conflict(f"article {article_id!r} was changed meanwhile; read it again") from None
    runtime.committed()
    return out


async def _set_state(
    article_id: str, state: str, principal: Principal, runtime: Runtime
) -> ArticleOut:
    try:
        async with runtime.db.transaction() as conn:
            current = await visible_article(conn, principal, article_id)
            article = await model.set_state(
                conn, principal.tenant, current, state, subject=principal.subject
            )
            out = await article_out(conn, principal, article)
    except ConcurrencyError:
        raise conflict(f"article {article_id!r} was changed meanwhile; read it again") from None
    runtime.committed()
    return out


@router.post(
    "/articles/{article_id}/publish",
    response_model=ArticleOut,
    summary="Publish (supervisors, admins): agents see it from now on",
)
async def publish_article(article_id: ArticleId, principal: Writer, runtime: RuntimeDep):
    return await _set_state(article_id, "published", principal, runtime)


@router.post(
    "/articles/{article_id}/archive",
    response_model=ArticleOut,
    summary="Archive (supervisors, admins): hidden from agents, kept with its history",
)
async def archive_article(article_id: ArticleId, principal: Writer, runtime: RuntimeDep):
    return await _set_state(article_id, "archived", principal, runtime)


@router.get(
    "/articles/{article_id}/versions",
    response_model=VersionList,
    summary="Version history: each change with who made it and when",
)
async def article_versions(article_id: ArticleId, principal: Reader, runtime: RuntimeDep):
    async with runtime.db.read() as conn:
        await visible_article(conn, principal, article_id)
        envelopes = await model.history(conn, article_id)
    items, article = [], None
    for envelope in envelopes:
        article = model.evolve(article, envelope)
        items.append(
            {
                "version": article.version,
                "change": model.change_of(envelope),
                "by": article.updated_by,
                "at": article.updated_at,
                "state": article.state,
                "title": article.title,
            }
        )
    return {"items": items}


@router.get(
    "/articles/{article_id}/versions/{version}",
    response_model=ArticleOut,
    summary="The article as it was at a version",
)
async def article_version(
    article_id: ArticleId,
    version: Annotated[int, Path(ge=1)],
    principal: Reader,
    runtime: RuntimeDep,
):
    async with runtime.db.read() as conn:
        current = await visible_article(conn, principal, article_id)
        if version > current.version:
            raise not_found(f"version {version} of article {article_id!r}")
        envelopes = await model.history(conn, article_id)
        then = model.fold(envelopes[:version])
        assert then is not None
        return await article_out(conn, principal, then)


@router.get(
    "/articles/{article_id}/related",
    response_model=RelatedList,
    summary="Related published articles: linked ones, then similar ones, then same category",
)
async def related(
    article_id: ArticleId,
    principal: Reader,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
):
    async with runtime.db.read() as conn:
        article = await visible_article(conn, principal, article_id)
        return {"items": await related_articles(conn, principal.tenant, article, limit)}


# -- search -----------------------------------------------------------------------


@router.get(
    "/search",
    response_model=SearchResult,
    summary="Search published articles: ranked, with highlighted title and snippet",
)
async def search_articles(
    principal: Reader,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    category_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
):
    """Articles with every word of ``q`` (the last one may be a prefix, as typed so far);
    if none has them all, those with any of them (``matched: "any"``). ``category_id``
    narrows to that category and the ones below it."""
    words = terms(q)
    if not words:
        raise ProblemError(
            422,
            "Invalid request",
            "query.q: holds no searchable word (only stop words or punctuation)",
            errors=[{"field": "query.q", "reason": "no searchable word"}],
        )
    async with runtime.db.read() as conn:
        scope = None
        if category_id is not None:
            known = await tree.all_of(conn, principal.tenant)
            if category_id not in known:
                raise ProblemError(
                    422,
                    "Invalid request",
                    "query.category_id: no such category",
                    errors=[{"field": "query.category_id", "reason": "no such category"}],
                )
            scope = tree.subtree(known, category_id)
        options = {"category_ids": scope, "limit": limit}
        hits = await search(conn, principal.tenant, words, **options)
        matched = "all"
        if not hits and len(words) > 1:
            hits = await search(conn, principal.tenant, words, every=False, **options)
            matched = "any"
    return {"query_terms": words, "matched": matched, "items": [hit.__dict__ for hit in hits]}


# -- favorites of the calling agent -----------------------------------------------


@router.get(
    "/favorites",
    response_model=FavoriteList,
    summary="The caller's favorite articles (published ones), last added first",
)
async def list_favorites(principal: Reader, runtime: RuntimeDep):
    async with runtime.db.read() as conn:
        rows = await favorites.of(conn, principal)
    return {"items": [summary(row) for row in rows]}


@router.put(
    "/favorites/{article_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Add an article to the caller's favorites (again: no change)",
)
async def add_favorite(article_id: ArticleId, principal: Reader, runtime: RuntimeDep):
    async with runtime.db.transaction() as conn:
        await visible_article(conn, principal, article_id)
        await favorites.add(conn, principal, article_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/favorites/{article_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an article from the caller's favorites (absent: no change)",
)
async def remove_favorite(article_id: ArticleId, principal: Reader, runtime: RuntimeDep):
    async with runtime.db.transaction() as conn:
        await favorites.remove(conn, principal, article_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
