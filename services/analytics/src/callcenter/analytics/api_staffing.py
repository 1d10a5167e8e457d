"""``GET /v1/staffing/erlang-c``: agents needed for a service level, or what a staffing achieves."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from callcenter.analytics import forecast, staffing
from callcenter.analytics.api import AnalyticsDep
from callcenter.analytics.kpis import Window, compute
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError, problem_responses

router = APIRouter(tags=["staffing"])
Staff = Annotated[Principal, Depends(require_roles(*Role))]
# The search adds one agent per step: bound it (and the evaluated staffing) well past
# the thousands of agents of a large center, so one request stays a few milliseconds.
MAX_TRAFFIC_ERLANGS = 50_000.0
MAX_AGENTS = 100_000


def _positive(description: str, maximum: float) -> Any:
    return Query(gt=0, le=maximum, allow_inf_nan=False, description=description)


class BackOfEnvelope(BaseModel):
    agents: float = Field(description="calls x AHT / (interval x max occupancy)")
    agents_rounded: int = Field(description="rounded to the nearest agent, as the seeds do")
    max_occupancy: float = Field(description="the given max_occupancy, else the seeds' 0.70")


class ErlangCResult(BaseModel):
    agents: int = Field(description="agents needed (or given), before shrinkage")
    agents_with_shrinkage: int = Field(description="ceil(agents / (1 - shrinkage))")
    service_level: float = Field(description="share of calls answered within the target time")
    asa_seconds: float = Field(description="average speed of answer, over all calls")
    occupancy: float = Field(description="traffic / agents")
    probability_of_waiting: float = Field(description="Erlang C: share of calls that wait")
    traffic_erlangs: float = Field(description="calls x AHT / interval")
    back_of_envelope: BackOfEnvelope


def _invalid(field: str, reason: str) -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        f"query.{field}: {reason}",
        errors=[{"field": f"query.{field}", "reason": reason}],
    )


@router.get(
    "/staffing/erlang-c",
    response_model=ErlangCResult,
    responses=problem_responses(422),
    summary="Erlang C: agents for a service level target, or what given agents achieve",
)
async def erlang_c(
    _: Staff,
    calls: Annotated[float, _positive("calls offered in the interval", 10_000_000)],
    interval_minutes: Annotated[float, _positive("length of the interval", 1440)],
    aht_seconds: Annotated[float, _positive("average handle time", 86_400)],
    target_answer_seconds: Annotated[
        float,
        Query(ge=0, le=86_400, allow_inf_nan=False, description="answer within this time"),
    ],
    target_service_level: Annotated[
        float | None,
        Query(gt=0, lt=1, allow_inf_nan=False, description="share to answer in time; or agents"),
    ] = None,
    agents: Annotated[
        int | None, Query(gt=0, le=MAX_AGENTS, description="evaluate this staffing instead")
    ] = None,
    max_occupancy: Annotated[
        float | None,
        Query(gt=0, le=1, allow_inf_nan=False, description="cap on occupancy when sizing"),
    ] = None,
    shrinkage: Annotated[
        float, Query(ge=0, lt=1, allow_inf_nan=False, description="share of paid time off phone")
    ] = 0.0,
) -> ErlangCResult:
    if (agents is None) == (target_service_level is None):
        raise _invalid(
            "agents",
            "give either target_service_level (to size the staffing) or agents (to evaluate "
            "one), not both nor neither",
        )
    interval_seconds = interval_minutes * 60
    traffic = staffing.traffic_erlangs(calls, interval_seconds, aht_seconds)
    if traffic > MAX_TRAFFIC_ERLANGS:
        raise _invalid(
            "calls",
            f"calls x aht_seconds / interval is {traffic:g} erlangs, more than the "
            f"{MAX_TRAFFIC_ERLANGS:g} this service sizes",
        )
    if agents is not None:
        if max_occupancy is not None:
            raise _invalid(
                "max_occupancy",
                "applies when sizing for target_service_level; with agents, read occupancy",
            )
        try:
            result = staffing.evaluate(agents, traffic, aht_seconds, target_answer_seconds)
        except ValueError as error:
            raise _invalid("agents", str(error)) from None
    else:
        if max_occupancy is not None and traffic / max_occupancy > MAX_AGENTS:
            raise _invalid(
                "max_occupancy",
                f"{traffic:g} erlangs at occupancy {max_occupancy:g} take more than "
                f"{MAX_AGENTS} agents, the most this service sizes",
            )
        result = staffing.agents_needed(
            traffic, aht_seconds, target_answer_seconds, target_service_level, max_occupancy
        )
    occupancy_cap = max_occupancy or staffing.SEED_MAX_OCCUPANCY
    rough = staffing.back_of_envelope(calls, interval_seconds, aht_seconds, occupancy_cap)
    return ErlangCResult(
        agents=result.agents,
        agents_with_shrinkage=staffing.with_shrinkage(result.agents, shrinkage),
        service_level=result.service_level,
        asa_seconds=result.asa_seconds,
        occupancy=result.occupancy,
        probability_of_waiting=result.probability_of_waiting,
        traffic_erlangs=traffic,
        back_of_envelope=BackOfEnvelope(
            agents=rough, agents_rounded=math.floor(rough + 0.5), max_occupancy=occupancy_cap
        ),
    )


class StaffingInterval(BaseModel):
    start: str
    calls: float
    aht_seconds: float
    agents: int
    agents_with_shrinkage: int
    service_level: float | None


class StaffingForecast(BaseModel):
    day: date
    queue_id: str | None
    basis: str = Field(description="same-weekday: that weekday's average; else all days'")
    days: list[date] = Field(description="the past days averaged")
    interval_minutes: int
    intervals: list[StaffingInterval]


@router.get(
    "/staffing/forecast",
    response_model=StaffingForecast,
    responses=problem_responses(422),
    summary="Calls and AHT per interval of a day forecast from history, and the agents needed",
)
async def staffing_forecast(
    principal: Staff,
    analytics: AnalyticsDep,
    day: Annotated[date, Query(description="the day to forecast, in the tenant's time zone")],
    queue_id: Annotated[str | None, Query(max_length=100)] = None,
    interval_minutes: Annotated[int, Query(ge=15, le=60, multiple_of=15)] = 30,
    weeks: Annotated[int, Query(ge=1, le=12, description="weeks of history")] = 4,
    target_answer_seconds: Annotated[float, Query(ge=0, le=86_400, allow_inf_nan=False)] = 20,
    target_service_level: Annotated[float, Query(gt=0, lt=1, allow_inf_nan=False)] = 0.8,
    max_occupancy: Annotated[float | None, Query(gt=0, le=1, allow_inf_nan=False)] = None,
    shrinkage: Annotated[float, Query(ge=0, lt=1, allow_inf_nan=False)] = 0.0,
) -> StaffingForecast:
    settings = analytics.settings_of(principal.tenant)
    zone = ZoneInfo(settings.timezone)
    end = datetime.combine(day, time(0), tzinfo=zone).timestamp()
    window = Window(end - weeks * 7 * 86400, end, analytics.clock())
    tenant = analytics.fold.tenant(principal.tenant)
    by = "queue" if queue_id else "tenant"
    rows = [r for r in compute(tenant, settings, window, "15", by) if r.get("queue_id") == queue_id]
    overall = [r for r in compute(tenant, settings, window, "all", by)
               if r.get("queue_id") == queue_id]  # fmt: skip
    if not overall or overall[0]["aht_seconds"] is None:
        raise _invalid("day", f"no handled call in the {weeks} weeks before {day} to learn from")
    history = [
        forecast.PastInterval(datetime.fromisoformat(row["interval_start"]), row["offered"],
                              row["aht_seconds"] or overall[0]["aht_seconds"])
        for row in rows
        if row["offered"]
    ]  # fmt: skip
    try:
        expected = forecast.forecast_day(history, day, interval_minutes=interval_minutes,
                                         weeks=weeks, tz=zone)  # fmt: skip
    except forecast.NoHistory as error:
        raise _invalid("day", str(error)) from None
    table = forecast.staffing_table(
        expected,
        target_answer_seconds=target_answer_seconds,
        target_service_level=target_service_level,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
    )
    return StaffingForecast(
        day=day,
        queue_id=queue_id,
        basis=expected.basis,
        days=list(expected.days),
        interval_minutes=interval_minutes,
        intervals=[
            StaffingInterval(
                start=row.start.isoformat(),
                calls=round(row.calls, 3),
                aht_seconds=round(row.aht_seconds, 2),
                agents=row.agents,
                agents_with_shrinkage=row.agents_with_shrinkage,
                service_level=row.service_level,
            )
            for row in table
        ],
    )
