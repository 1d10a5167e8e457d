"""KPIs computed from the fold's facts: definitions in docs/kpis.md.

``compute`` groups the facts of one tenant by interval (15, 30, 60 minutes, a
day in the tenant's time zone, or the whole window) and by tenant, queue or
agent, then derives each KPI from plain counts and sums (``Totals``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcenter.analytics.fold import (
    Agent,
    CampaignCall,
    Leg,
    Segment,
    Supervision,
    Tenant,
    slot_of,
    spread,
)
from callcenter.events.kit.types import TimeZoneName

AbandonMode = Literal["against", "ignored", "for"]
Interval = Literal["15", "30", "60", "day", "all"]
GroupBy = Literal["tenant", "queue", "agent", "campaign", "supervisor"]
# Consult and conference: the time an agent spends on a colleague's caller.
HANDLING_STATES = ("talk", "wrap", "consult", "conference")
ASSIST_STATES = ("consult", "conference")
EVER = datetime.fromtimestamp(0, UTC)  # the start of the one interval of "all"
AVAILABLE_STATES = ("idle", "ringing")


# Indicator -> True when higher is better.
INDICATORS = {
    "answered": True,
    "aht_seconds": False,
    "occupancy": True,
    "csat": True,
    "service_level_contribution": True,
    "first_contact_resolution": True,
    "exam_score": True,
    "sales_completion": True,
}


class ScorecardSettings(BaseModel):
    """How agents are scored against their team and what flags them (scorecards.py)."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(INDICATORS, 1.0),
        description="weight per indicator (missing: 0): " + ", ".join(INDICATORS),
    )
    night_starts_hour: int = Field(default=22, ge=0, le=23)
    night_ends_hour: int = Field(default=6, ge=0, le=23)
    short_call_seconds: float = Field(default=10, ge=0)
    long_call_factor: float = Field(default=3, gt=1, description="x the team's median talk")
    max_logins_per_day: int = Field(default=4, ge=1)
    flag_share: float = Field(default=0.1, gt=0, le=1, description="share of calls that flags")
    complaint_days: int = Field(
        default=30, ge=1, le=365, description="a complaint this many days after a sale flags it"
    )
    complaint_ticket_types: list[str] = Field(default_factory=lambda: ["complaint"])

    @field_validator("weights")
    @classmethod
    def _known_indicators(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = set(weights) - set(INDICATORS)
        if unknown:
            raise ValueError(f"unknown indicator(s): {', '.join(sorted(unknown))}")
        if any(weight < 0 for weight in weights.values()):
            raise ValueError("weights must not be negative")
        return weights


class KpiSettings(BaseModel):
    """A tenant's KPI settings; changing them recomputes history (facts are kept raw)."""

    model_config = ConfigDict(extra="forbid")

    # Cisco's three service-level modes: abandons within the threshold count
    # against it, are ignored, or count for it.
    abandon_mode: AbandonMode = "against"
    short_abandon_seconds: float = Field(default=5, ge=0, le=600)
    exclude_short_abandons: bool = True
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    queue_targets: dict[str, float] = Field(default_factory=dict)
    # Amber on the wallboard when SL is this close below target.
    warning_margin: float = Field(default=0.05, ge=0, le=1)
    timezone: TimeZoneName = "UTC"
    # Consistency check: consecutive intervals with at least this many calls
    # where SL and abandonment moved the same way by at least the step.
    consistency_min_calls: int = Field(default=20, ge=1)
    consistency_step: float = Field(default=0.05, gt=0, le=1)
    scorecard: ScorecardSettings = Field(default_factory=ScorecardSettings)
    # Outbound: dispositions meaning the person reached was not the one sought, and
    # the abandoned-outbound cap (Ofcom, FTC: 3% of live answers) the wallboard warns at.
    wrong_party_dispositions: list[str] = Field(
        default_factory=lambda: ["wrong_party", "wrong_number"]
    )
    outbound_abandon_cap: float = Field(default=0.03, gt=0, le=1)

    @field_validator("queue_targets")
    @classmethod
    def _targets_are_fractions(cls, value: dict[str, float]) -> dict[str, float]:
        for queue_id, target in value.items():
            if not 0 < target <= 1:
                raise ValueError(f"target of queue {queue_id!r} must be in (0, 1]")
        return value

    def target(self, queue_id: str | None) -> float:
        return self.queue_targets.get(queue_id or "", self.service_level_target)


@dataclass(slots=True)
class Totals:
    """Counts and sums over a group of facts; every KPI is derived from these."""

    offered: int = 0
    answered: int = 0
    answered_in_threshold: int = 0
    abandoned: int = 0
    abandoned_in_threshold: int = 0
    short_abandoned: int = 0
    exited: int = 0
    callbacks_requested: int = 0
    callbacks_connected: int = 0
    waiting: int = 0
    waiting_past_threshold: int = 0
    answered_wait: float = 0.0
    wait_total: float = 0.0
    waits: int = 0
    longest_wait: float = 0.0
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    transferred: int = 0
    ivr_entered: int = 0
    ivr_self_served: int = 0
    surveys: int = 0
    satisfied: int = 0
    tickets_resolved: int = 0
    resolved_first_contact: int = 0
    sla_on_time: int = 0
    sla_late: int = 0
    handling_seconds: float = 0.0
    available_seconds: float = 0.0
    not_ready_seconds: float = 0.0
    offers: int = 0
    rejected: int = 0
    missed: int = 0
    logins: int = 0
    assist_seconds: float = 0.0
    consults: int = 0
    conferences: int = 0
    surveys_offered: int = 0
    surveys_responded: int = 0
    supervisions: int = 0
    supervised_seconds: float = 0.0
    outbound_attempts: int = 0
    outbound_reached: int = 0
    outbound_not_reached: int = 0
    outbound_abandoned: int = 0
    outbound_dispositioned: int = 0
    right_party_contacts: int = 0
    outbound_completed: int = 0
    outbound_handled: int = 0
    outbound_talk: float = 0.0
    outbound_hold: float = 0.0
    outbound_wrap: float = 0.0


CAMPAIGN_COUNTS = tuple(name for name in Totals.__dataclass_fields__ if name.startswith("outbound")
                        or name == "right_party_contacts")  # fmt: skip
CAMPAIGN_KPIS = ("reach_rate", "right_party_rate", "outbound_abandon_rate",
                 "marketing_completion_rate", "outbound_aht_seconds")  # fmt: skip
SUPERVISOR_COUNTS = ("supervisions", "supervised_seconds")


@dataclass
class Window:
    start: float
    end: float
    now: float

    def holds(self, moment: float) -> bool:
        return self.start <= moment < self.end


class _Intervals:
    """The start of the interval holding a moment, in the tenant's time zone.

    Every time zone's offset is a whole number of 15-minute slots, so each slot
    lies in one interval: the answer is computed once per slot.
    """

    def __init__(self, interval: Interval, timezone: str) -> None:
        self.interval = interval
        self.zone = ZoneInfo(timezone)
        self._by_slot: dict[int, datetime] = {}

    def start(self, moment: float) -> datetime:
        slot = slot_of(moment)
        found = self._by_slot.get(slot)
        if found is None:
            found = self._by_slot[slot] = self._start_of(slot)
        return found

    def _start_of(self, slot: int) -> datetime:
        if self.interval == "all":
            return EVER
        local = datetime.fromtimestamp(slot, self.zone)
        if self.interval == "day":
            return local.replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = int(self.interval)
        return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)


def _slots(window: Window, by_slot: Mapping[int, object]) -> list[int]:
    """The slots holding facts that may fall in the window, in order."""
    first = slot_of(window.start)
    return sorted(slot for slot in by_slot if first <= slot < window.end)


def compute(
    tenant: Tenant,
    settings: KpiSettings,
    window: Window,
    interval: Interval = "all",
    by: GroupBy = "tenant",
) -> list[dict[str, Any]]:
    """One row per (interval, group) with facts in ``window``: counts and derived KPIs."""
    intervals = _Intervals(interval, settings.timezone)
    groups: dict[tuple[datetime, str], Totals] = {}

    def totals(moment: float, group: str | None) -> Totals | None:
        if group is None:
            return None
        key = (intervals.start(moment), group)
        found = groups.get(key)
        if found is None:
            found = groups[key] = Totals()
        return found

    def group_of(queue_id: str | None, agent_id: str | None) -> str | None:
        if by == "tenant":
            return ""
        if by == "queue":
            return queue_id
        return agent_id if by == "agent" else None

    calls = by in ("tenant", "queue", "agent")
    # Calls: a queue's and the tenant's from each call's visits (segments), an
    # agent's from their own part of each call (legs: a transfer has one per agent).
    if by in ("tenant", "queue"):
        for slot in _slots(window, tenant.segments_by_slot):
            for segment in tenant.segments_by_slot[slot]:
                if window.holds(segment.queued_at):
                    into = totals(segment.queued_at, group_of(segment.queue_id, None))
                    if into is not None:
                        _add_segment(into, segment, tenant, settings, window.now)
    elif by == "agent":
        for slot in _slots(window, tenant.legs_by_slot):
            for leg in tenant.legs_by_slot[slot]:
                if window.holds(leg.queued_at):
                    _add_leg(totals(leg.queued_at, leg.agent_id), leg, tenant)
    for slot in _slots(window, tenant.ivr_by_slot) if by == "tenant" else ():
        for call in tenant.ivr_by_slot[slot]:
            if window.holds(call.arrived_at) and (into := totals(call.arrived_at, "")):
                into.ivr_entered += 1
                into.ivr_self_served += call.outcome == "self_served"
    for slot in _slots(window, tenant.surveys_by_slot) if calls else ():
        for survey in tenant.surveys_by_slot[slot]:
            call = tenant.current.get(survey.call_id)
            queue_id = survey.queue_id or (call.queue_id if call else None)
            agent_id = survey.agent_id or (call.agent_id if call else None)
            into = totals(survey.at, group_of(queue_id, agent_id))
            if window.holds(survey.at) and into is not None:
                into.surveys += 1
                into.satisfied += survey.score >= 4
    for slot in _slots(window, tenant.survey_offers_by_slot) if calls else ():
        for offer in tenant.survey_offers_by_slot[slot]:
            if not window.holds(offer.at):
                continue
            call = tenant.current.get(offer.call_id)
            agent_id = offer.agent_id or (call.agent_id if call else None)
            into = totals(offer.at, group_of(offer.queue_id, agent_id))
            if into is not None:
                into.surveys_offered += 1
                into.surveys_responded += offer.call_id in tenant.surveyed_calls
    if by == "tenant":
        for slot in _slots(window, tenant.callbacks_by_slot):
            into = totals(slot, "")
            into.callbacks_connected += tenant.callbacks_by_slot[slot].get("connected", 0)
    if by in ("tenant", "agent"):
        for agent_id, agent in tenant.agents.items():
            group = group_of(None, agent_id)
            _add_agent(lambda slot, group=group: totals(slot, group), agent, window)
    if by == "tenant":
        _add_tickets(tenant, window, lambda moment: totals(moment, ""))
    if by != "supervisor":
        wrong_party = frozenset(settings.wrong_party_dispositions)
        for slot in _slots(window, tenant.campaign_calls_by_slot):
            for outbound in tenant.campaign_calls_by_slot[slot]:
                if window.holds(outbound.attempted_at):
                    group = (
                        outbound.campaign_id
                        if by == "campaign"
                        else group_of(outbound.queue_id, outbound.agent_id)
                    )
                    into = totals(outbound.attempted_at, group)
                    if into is not None:
                        _add_campaign_call(into, outbound, wrong_party)
    if by != "campaign":
        for slot in _slots(window, tenant.supervisions_by_slot):
            for supervision in tenant.supervisions_by_slot[slot]:
                if window.holds(supervision.joined_at):
                    if by == "supervisor":
                        group = supervision.supervisor_id
                    else:
                        call = tenant.current.get(supervision.call_id)
                        group = group_of(call.queue_id if call else None, supervision.agent_id)
                    into = totals(supervision.joined_at, group)
                    if into is not None:
                        _add_supervision(into, supervision, window.now)
    return [
        _row(start, group, found, tenant, settings, by)
        for (start, group), found in sorted(groups.items())
    ]


def _add_segment(
    into: Totals, segment: Segment, tenant: Tenant, settings: KpiSettings, now: float
) -> None:
    threshold = tenant.service_level_seconds(segment.queue_id)
    wait = segment.wait
    outcome = segment.outcome
    if outcome is None:
        waited = max(0.0, now - segment.queued_at)
        into.offered += 1
        into.waiting += 1
        into.waiting_past_threshold += waited > threshold
        into.longest_wait = max(into.longest_wait, waited)
        return
    assert wait is not None
    short = outcome == "abandoned" and wait < settings.short_abandon_seconds
    if short:
        into.short_abandoned += 1
        if settings.exclude_short_abandons:
            return
    into.offered += 1
    if outcome == "callback":
        into.callbacks_requested += 1
        return
    into.waits += 1
    into.wait_total += wait
    into.longest_wait = max(into.longest_wait, wait)
    if outcome == "answered":
        into.answered += 1
        into.answered_in_threshold += wait <= threshold
        into.answered_wait += wait
        into.transferred += segment.transferred
        if segment.talk is not None:
            into.handled += 1
            into.talk += segment.talk
            into.hold += segment.hold
            into.wrap += segment.wrap
    elif outcome == "abandoned":
        into.abandoned += 1
        into.abandoned_in_threshold += wait <= threshold
    else:
        into.exited += 1


def _add_leg(into: Totals | None, leg: Leg, tenant: Tenant) -> None:
    """An agent's part of an answered call: answered by them, with their own handle time."""
    if into is None:
        return
    into.offered += 1
    into.waits += 1
    into.wait_total += leg.wait
    into.longest_wait = max(into.longest_wait, leg.wait)
    into.answered += 1
    into.answered_in_threshold += leg.wait <= tenant.service_level_seconds(leg.queue_id)
    into.answered_wait += leg.wait
    into.transferred += leg.transferred
    if leg.talk is not None:
        into.handled += 1
        into.talk += leg.talk
        into.hold += leg.hold
        into.wrap += leg.wrap


def _add_campaign_call(into: Totals, call: CampaignCall, wrong_party: frozenset[str]) -> None:
    into.outbound_attempts += 1
    outcome = call.outcome
    if outcome == "answered":
        into.outbound_reached += 1
        if call.disposition is not None:
            into.outbound_dispositioned += 1
            into.right_party_contacts += call.disposition not in wrong_party
            into.outbound_completed += call.completed
        if call.talk is not None:
            into.outbound_handled += 1
            into.outbound_talk += call.talk
            into.outbound_hold += call.hold
            into.outbound_wrap += call.wrap
    elif outcome == "abandoned":
        into.outbound_abandoned += 1
    elif outcome is not None:
        into.outbound_not_reached += 1


def _add_supervision(into: Totals, supervision: Supervision, now: float) -> None:
    into.supervisions += 1
    duration = supervision.duration
    into.supervised_seconds += (
        duration if duration is not None else max(0.0, now - supervision.joined_at)
    )


def _add_agent(totals: Callable[[int], Totals | None], agent: Agent, window: Window) -> None:
    """The agent's time per state and counts, per slot; the current state up to now."""
    ongoing: dict[int, dict[str, float]] = {}
    if agent.state != "logged_out" and window.now > agent.since:
        spread(ongoing, agent.state, max(agent.since, slot_of(window.start)), window.now)
    slots = _slots(window, agent.seconds.keys() | agent.counts.keys() | ongoing.keys())
    for slot in slots:
        into = totals(slot)
        if into is None:
            return
        for spent in (agent.seconds.get(slot, {}), ongoing.get(slot, {})):
            for state, seconds in spent.items():
                if state in HANDLING_STATES:
                    into.handling_seconds += seconds
                    if state in ASSIST_STATES:
                        into.assist_seconds += seconds
                elif state in AVAILABLE_STATES:
                    into.available_seconds += seconds
                else:
                    into.not_ready_seconds += seconds
        counts = agent.counts.get(slot, {})
        into.offers += counts.get("offers", 0)
        into.rejected += counts.get("rejected", 0)
        into.missed += counts.get("missed", 0)
        into.logins += counts.get("logins", 0)
        into.consults += counts.get("consults", 0)
        into.conferences += counts.get("conferences", 0)


def _add_tickets(tenant: Tenant, window: Window, totals) -> None:
    for ticket in tenant.tickets.values():
        if ticket.resolved_at is not None and window.holds(ticket.resolved_at):
            into = totals(ticket.resolved_at)
            into.tickets_resolved += 1
            into.resolved_first_contact += ticket.first_contact_resolution
        for on_time, settled_at in ticket.sla.values():
            if window.holds(settled_at):
                into = totals(settled_at)
                if on_time:
                    into.sla_on_time += 1
                else:
                    into.sla_late += 1


def ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def service_level(totals: Totals, mode: AbandonMode) -> float | None:
    """Cisco's three modes; callers still waiting past the threshold count against it."""
    missed = (
        totals.answered
        - totals.answered_in_threshold
        + totals.abandoned
        - totals.abandoned_in_threshold
        + totals.exited
        + totals.waiting_past_threshold
    )
    within = totals.answered_in_threshold
    abandoned_within = totals.abandoned_in_threshold
    if mode == "against":
        return ratio(within, within + missed + abandoned_within)
    if mode == "ignored":
        return ratio(within, within + missed)
    return ratio(within + abandoned_within, within + missed + abandoned_within)


def derived(totals: Totals, settings: KpiSettings) -> dict[str, float | None]:
    handle = totals.talk + totals.hold + totals.wrap
    return {
        "service_level": service_level(totals, settings.abandon_mode),
        "answer_rate": ratio(totals.answered, totals.offered),
        "abandon_rate": ratio(totals.abandoned, totals.offered),
        "asa_seconds": ratio(totals.answered_wait, totals.answered, 2),
        "average_wait_seconds": ratio(totals.wait_total, totals.waits, 2),
        "longest_wait_seconds": round(totals.longest_wait, 2),
        "aht_seconds": ratio(handle, totals.handled, 2),
        "average_talk_seconds": ratio(totals.talk, totals.handled, 2),
        "average_hold_seconds": ratio(totals.hold, totals.handled, 2),
        "average_wrap_seconds": ratio(totals.wrap, totals.handled, 2),
        "occupancy": ratio(
            totals.handling_seconds, totals.handling_seconds + totals.available_seconds
        ),
        "transfer_rate": ratio(totals.transferred, totals.answered),
        "ivr_containment": ratio(totals.ivr_self_served, totals.ivr_entered),
        "csat": ratio(totals.satisfied, totals.surveys),
        "survey_response_rate": ratio(totals.surveys_responded, totals.surveys_offered),
        "first_contact_resolution": ratio(totals.resolved_first_contact, totals.tickets_resolved),
        "work_order_on_time_rate": ratio(totals.sla_on_time, totals.sla_on_time + totals.sla_late),
        **campaign_kpis(totals),
    }


def campaign_kpis(totals: Totals) -> dict[str, float | None]:
    """Outbound: reach, right party, abandoned-outbound (of live answers), completion, AHT."""
    live_answers = totals.outbound_reached + totals.outbound_abandoned
    handle = totals.outbound_talk + totals.outbound_hold + totals.outbound_wrap
    return {
        "reach_rate": ratio(totals.outbound_reached, totals.outbound_attempts),
        "right_party_rate": ratio(totals.right_party_contacts, totals.outbound_reached),
        "outbound_abandon_rate": ratio(totals.outbound_abandoned, live_answers),
        "marketing_completion_rate": ratio(totals.outbound_completed, totals.outbound_reached),
        "outbound_aht_seconds": ratio(handle, totals.outbound_handled, 2),
    }


def _row(
    start: datetime, group: str, totals: Totals, tenant: Tenant, settings: KpiSettings, by: GroupBy
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if start is not EVER:
        row["interval_start"] = start.isoformat()
    if by == "queue":
        row["queue_id"] = group
        row["service_level_threshold_seconds"] = tenant.service_level_seconds(group)
        row["service_level_target"] = settings.target(group)
    elif by == "agent":
        row["agent_id"] = group
    elif by == "campaign":
        row["campaign_id"] = group
        row["name"] = tenant.campaigns.get(group, {}).get("name") or group
        every = counts(totals)
        row.update({name: every[name] for name in CAMPAIGN_COUNTS})
        row.update(campaign_kpis(totals))
        return row
    elif by == "supervisor":
        row["supervisor_id"] = group
        every = counts(totals)
        row.update({name: every[name] for name in SUPERVISOR_COUNTS})
        return row
    row.update(counts(totals))
    row.update(derived(totals, settings))
    return row


def counts(totals: Totals) -> dict[str, Any]:
    return {f.name: round(v, 2) if isinstance(v := getattr(totals, f.name), float) else v
            for f in fields(totals)}  # fmt: skip


def inconsistencies(rows: Iterable[dict[str, Any]], settings: KpiSettings) -> Iterator[dict]:
    """Intervals where service level and abandonment did not move in opposite directions.

    The seeds: "service level and abandonment are tightly related; if they do
    not move together, the data collection or definitions are wrong". Each
    interval is compared with the one before it (both with enough calls).
    """
    previous: dict[str, Any] | None = None
    for row in rows:
        if row["offered"] < settings.consistency_min_calls or row["service_level"] is None:
            previous = None
            continue
        if previous is not None:
            sl_move = row["service_level"] - previous["service_level"]
            abandon_move = row["abandon_rate"] - previous["abandon_rate"]
            step = settings.consistency_step
            if abs(sl_move) >= step and abs(abandon_move) >= step and sl_move * abandon_move > 0:
                yield {
                    "interval_start": row.get("interval_start"),
                    "problem": "service_level_and_abandonment_moved_together",
                    "service_level_change": round(sl_move, 4),
                    "abandon_rate_change": round(abandon_move, 4),
                }
        previous = row


def day_window(settings: KpiSettings, now: float) -> Window:
    """Today in the tenant's time zone, up to now."""
    local = datetime.fromtimestamp(now, ZoneInfo(settings.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(midnight.timestamp(), now + 1e-6, now)


def hours_window(hours: float, now: float) -> Window:
    start = datetime.fromtimestamp(now, UTC) - timedelta(hours=hours)
    return Window(start.timestamp(), now + 1e-6, now)
