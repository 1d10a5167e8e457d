"""KPIs (JSON and CSV), the live view and its push stream, and the tenant's KPI settings."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from callcenter.analytics.kpis import (
    GroupBy,
    Interval,
    KpiSettings,
    Window,
    compute,
    day_window,
    inconsistencies,
)
from callcenter.analytics.live import snapshot
from callcenter.analytics.scorecards import ExamScore, scorecards
from callcenter.analytics.service import Analytics
from callcenter.events.kit.auth import Principal, PrincipalDep, Role, principal_of, require_roles
from callcenter.events.kit.problems import ProblemError

router = APIRouter(tags=["kpis"])
MAX_WINDOW_DAYS = 400
KEEPALIVE_SECONDS = 15.0
# While callers wait, their waits grow: push at least this often.
TICK_SECONDS = 1.0
MIN_PUSH_INTERVAL = 0.2


def analytics_of(request: Request) -> Analytics:
    return request.app.state.analytics


AnalyticsDep = Annotated[Analytics, Depends(analytics_of)]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


class KpiReport(BaseModel):
    tenant: str
    interval: Interval
    by: GroupBy
    start: str
    end: str
    settings: KpiSettings
    rows: list[dict[str, Any]]
    inconsistencies: list[dict[str, Any]]


def _window(analytics: Analytics, tenant: str, start: datetime | None, end: datetime | None):
    now = analytics.clock()
    if start is None:
        start_s = day_window(analytics.settings_of(tenant), now).start
    else:
        start_s = start.timestamp()
    end_s = end.timestamp() if end is not None else now
    if end_s <= start_s:
        raise ProblemError(422, "Invalid window", "'to' must be after 'from'", field="to")
    if end_s - start_s > MAX_WINDOW_DAYS * 86400:
        raise ProblemError(
            422, "Invalid window", f"the window may span at most {MAX_WINDOW_DAYS} days",
            field="from",
        )  # fmt: skip
    return Window(start_s, end_s, now)


@router.get(
    "/kpis",
    response_model=KpiReport,
    summary=(
        "KPIs per interval and per tenant, queue, agent, outbound campaign or supervisor"
        " (JSON, or CSV with format=csv)"
    ),
    responses={200: {"content": {"text/csv": {}}}},
)
async def kpis(
    principal: PrincipalDep,
    analytics: AnalyticsDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    interval: Interval = "all",
    by: GroupBy = "tenant",
    queue_id: Annotated[str | None, Query(max_length=100)] = None,
    agent_id: Annotated[str | None, Query(max_length=100)] = None,
    campaign_id: Annotated[str | None, Query(max_length=100)] = None,
    format: Literal["json", "csv"] = "json",
):
    tenant = principal.tenant
    settings = analytics.settings_of(tenant)
    window = _window(analytics, tenant, start, end)
    rows = compute(analytics.fold.tenant(tenant), settings, window, interval, by)
    if queue_id is not None:
        rows = [row for row in rows if row.get("queue_id") == queue_id]
    if agent_id is not None:
        rows = [row for row in rows if row.get("agent_id") == agent_id]
    if campaign_id is not None:
        rows = [row for row in rows if row.get("campaign_id") == campaign_id]
    if format == "csv":
        return Response(_csv(rows), media_type="text/csv")
    checked = list(inconsistencies(rows, settings)) if by == "tenant" and interval != "all" else []
    return KpiReport(
        tenant=tenant,
        interval=interval,
        by=by,
        start=_iso(window.start),
        end=_iso(window.end),
        settings=settings,
        rows=rows,
        inconsistencies=checked,
    )


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


@router.get(
    "/live",
    summary=(
        "Now, per queue: waiting, agents by state, today's SL, ASA, abandons;"
        " supervisors on calls; today's outbound campaigns"
    ),
)
async def live(principal: PrincipalDep, analytics: AnalyticsDep) -> dict[str, Any]:
    return _snapshot(analytics, principal.tenant)


def _snapshot(analytics: Analytics, tenant: str) -> dict[str, Any]:
    return snapshot(analytics.fold.tenant(tenant), analytics.settings_of(tenant), analytics.clock())


@router.get("/settings", response_model=KpiSettings, summary="The tenant's KPI settings")
async def get_settings(principal: PrincipalDep, analytics: AnalyticsDep) -> KpiSettings:
    return analytics.settings_of(principal.tenant)


@router.put(
    "/settings",
    response_model=KpiSettings,
    summary="Change the KPI settings; every KPI, past intervals included, follows at once",
)
async def put_settings(
    body: KpiSettings, principal: Supervisor, analytics: AnalyticsDep
) -> KpiSettings:
    await analytics.save_settings(principal.tenant, body, principal.subject)
    return body


class ExamScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exam: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    score: float = Field(ge=0, le=100, allow_inf_nan=False)
    taken_at: AwareDatetime | None = None


AgentId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


@router.post(
    "/agents/{agent_id}/exam-scores",
    status_code=201,
    response_model=ExamScoreIn,
    tags=["scorecards"],
    summary="Record an agent's exam score (0-100), an indicator of the scorecards",
)
async def post_exam_score(
    agent_id: AgentId, body: ExamScoreIn, principal: Supervisor, analytics: AnalyticsDep
) -> ExamScoreIn:
    taken_at = body.taken_at or datetime.fromtimestamp(analytics.clock(), UTC)
    exam = ExamScore(agent_id, body.exam, body.score, taken_at.timestamp())
    await analytics.record_exam(principal.tenant, exam, principal.subject)
    return body.model_copy(update={"taken_at": taken_at})


@router.get(
    "/scorecards",
    tags=["scorecards"],
    summary="Agents and teams scored on weighted indicators ranked within each team, with flags",
)
async def get_scorecards(
    principal: Supervisor,
    analytics: AnalyticsDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    window = _window(analytics, tenant, start, end)
    exams = analytics.exams.get(tenant, [])
    cards = scorecards(analytics.fold.tenant(tenant), analytics.settings_of(tenant), window, exams)
    return {"start": _iso(window.start), "end": _iso(window.end), **cards}


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def stream_principal(
    request: Request, access_token: Annotated[str | None, Query(max_length=4096)] = None
) -> Principal:
    """EventSource cannot send headers: the token comes as a query parameter (never logged)."""
    return principal_of(request, access_token)


@router.get(
    "/live/stream",
    summary="The live view pushed as server-sent events (a 'snapshot' event per change)",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live_stream(
    request: Request,
    analytics: AnalyticsDep,
    principal: Annotated[Principal, Depends(stream_principal)],
) -> StreamingResponse:
    closing = request.app.state.runtime.closing

    async def events() -> AsyncIterator[str]:
        seen = analytics.changes.version
        yield _event(_snapshot(analytics, principal.tenant))
        while not closing.is_set() and not await request.is_disconnected():
            waiting = analytics.fold.tenant(principal.tenant).waiting()
            timeout = TICK_SECONDS if waiting else KEEPALIVE_SECONDS
            version = await analytics.changes.changed(seen, timeout, unless=closing)
            if closing.is_set():
                break
            if version == seen and not waiting:
                yield ": keepalive\n\n"
                continue
            seen = version
            yield _event(_snapshot(analytics, principal.tenant))
            await asyncio.sleep(MIN_PUSH_INTERVAL)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _event(document: dict[str, Any]) -> str:
    return f"event: snapshot\ndata: {json.dumps(document, separators=(',', ':'))}\n\n"
