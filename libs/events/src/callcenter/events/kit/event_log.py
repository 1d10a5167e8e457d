"""``GET /v1/events``: a service's own event log, for its tenant, page by page.

Integrators audit and export with it (CloudEvents JSON, the same attributes as
on Kafka); the cursor is the store position, so a page never skips or repeats.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from callcenter.events import store
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.runtime import Runtime

MAX_POSITION = 2**63 - 1  # positions are 64-bit integers in every database

Reader = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR))]


class EventPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def event_log_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/events", response_model=EventPage, summary="This service's events, oldest first")
    async def list_events(
        principal: Reader,
        after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="a page's next_cursor")] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        stream_id: Annotated[str | None, Query(max_length=200)] = None,
    ) -> EventPage:
        table = store.events
        query = (
            select(table)
            .where(table.c.tenant == principal.tenant, table.c.position > after)
            .order_by(table.c.position)
            .limit(limit)
        )
        if stream_id is not None:
            query = query.where(table.c.stream_id == stream_id)
        async with runtime.db.read() as conn:
            rows = [store.stored_event(row) for row in await conn.execute(query)]
        items = [
            {**event.attributes, "datacontenttype": "application/json", "data": event.data}
            for event in rows
        ]
        next_cursor = str(rows[-1].position) if len(rows) == limit else None
        return EventPage(items=items, next_cursor=next_cursor)

    return router
