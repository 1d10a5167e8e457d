"""Agent and team scorecards: the seeds' relative performance model.

Each agent's indicators over a period are ranked against their team (the
agent's first group in routing, else everyone): a percentile rank from 0 (the
team's worst) to 100 (its best). The score is the weighted mean of the ranks
the agent has values for. Flags point at figures that may be gamed: frequent
sign-in/out, a night-time spike of answered calls, many very short or very
long calls, and sales followed by a complaint from the same customer (mis-selling
that a completion rate alone rewards).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.analytics.fold import Tenant
from callcenter.analytics.kpis import INDICATORS, KpiSettings, ScorecardSettings, Window, compute

EVERYONE = "(all agents)"


@dataclass(frozen=True)
class ExamScore:
    agent_id: str
    exam: str
    score: float
    taken_at: float


def percentile_rank(value: float, others: list[float], higher_is_better: bool) -> float:
    """0 (worst of the team) to 100 (best); ties share; alone in the team: 50."""
    if not others:
        return 50.0
    better = sum(1 for other in others if (value > other if higher_is_better else value < other))
    equal = sum(1 for other in others if other == value)
    return round(100 * (better + equal / 2) / len(others), 1)


def scorecards(
    tenant: Tenant,
    settings: KpiSettings,
    window: Window,
    exams: Iterable[ExamScore] = (),
) -> dict[str, Any]:
    rules = settings.scorecard
    zone = ZoneInfo(settings.timezone)
    rows = {row["agent_id"]: row for row in compute(tenant, settings, window, "all", "agent")}
    agents: dict[str, dict[str, Any]] = {}
    logins = {agent_id: row["logins"] for agent_id, row in rows.items()}
    for agent_id, row in rows.items():
        agent = tenant.agents.get(agent_id)
        indicators = {
            "answered": row["answered"],
            "aht_seconds": row["aht_seconds"],
            "occupancy": row["occupancy"],
            "csat": row["csat"],
            "service_level_contribution": (
                round(row["answered_in_threshold"] / row["answered"], 4)
                if row["answered"]
                else None
            ),
            "first_contact_resolution": None,
            "exam_score": None,
            # Campaign calls the agent talked to ending in a completed disposition (a sale).
            "sales_completion": (
                round(row["outbound_completed"] / row["outbound_reached"], 4)
                if row["outbound_reached"]
                else None
            ),
        }
        agents[agent_id] = {
            "agent_id": agent_id,
            "name": agent.name if agent else "",
            "team": agent.groups[0] if agent and agent.groups else EVERYONE,
            "indicators": indicators,
        }
    _add_resolutions(tenant, window, agents)
    _add_exams(exams, window, agents)
    calls = _calls_by_agent(tenant, window, zone)
    complaints = complaints_after_sales(tenant, window, rules)
    teams: dict[str, list[dict[str, Any]]] = {}
    for card in agents.values():
        teams.setdefault(card["team"], []).append(card)
    for members in teams.values():
        for card in members:
            _rank(card, members, rules)
        _flag(members, calls, logins, rules)
        for card in members:
            sales, complained = complaints.get(card["agent_id"], (0, 0))
            card["complaints_after_sale"] = complained
            if sales and complained / sales > rules.flag_share:
                card["flags"].append("complaints_after_sale")
    return {
        "agents": sorted(agents.values(), key=lambda card: (-card["score"], card["agent_id"])),
        "teams": sorted(
            (_team(name, members) for name, members in teams.items()),
            key=lambda team: (-team["score"], team["team"]),
        ),
    }


def complaints_after_sales(
    tenant: Tenant, window: Window, rules: ScorecardSettings
) -> dict[str, tuple[int, int]]:
    """Per agent: (sales in the window, those followed by a complaint from the customer).

    A sale is a campaign call the agent dispositioned as completed, for a known
    customer; it is complained about when a ticket of a complaint type is opened for
    that customer after it, within ``complaint_days``.
    """
    types = set(rules.complaint_ticket_types)
    opened: dict[str, list[float]] = {}
    for ticket in tenant.tickets.values():
        if ticket.customer_id and ticket.type in types:
            opened.setdefault(ticket.customer_id, []).append(ticket.opened_at)
    horizon = rules.complaint_days * 86400
    found: dict[str, tuple[int, int]] = {}
    for calls in tenant.campaign_calls_by_slot.values():
        for call in calls:
            sold_at = call.dispositioned_at
            if not call.completed or sold_at is None or call.agent_id is None:
                continue
            if not window.holds(sold_at):
                continue
            complained = any(
                sold_at <= at <= sold_at + horizon for at in opened.get(call.customer_id or "", ())
            )
            sales, bad = found.get(call.agent_id, (0, 0))
            found[call.agent_id] = (sales + 1, bad + complained)
    return found


def _add_resolutions(tenant: Tenant, window: Window, agents: dict[str, dict[str, Any]]) -> None:
    resolved: dict[str, list[bool]] = {}
    for ticket in tenant.tickets.values():
        if ticket.resolved_by and ticket.resolved_at and window.holds(ticket.resolved_at):
            resolved.setdefault(ticket.resolved_by, []).append(ticket.first_contact_resolution)
    for agent_id, outcomes in resolved.items():
        if agent_id in agents:
            share = sum(outcomes) / len(outcomes)
            agents[agent_id]["indicators"]["first_contact_resolution"] = round(share, 4)


def _add_exams(exams: Iterable[ExamScore], window: Window, agents: dict[str, Any]) -> None:
    scores: dict[str, list[float]] = {}
    for exam in exams:
        if window.holds(exam.taken_at):
            scores.setdefault(exam.agent_id, []).append(exam.score)
    for agent_id, values in scores.items():
        if agent_id in agents:
            agents[agent_id]["indicators"]["exam_score"] = round(statistics.fmean(values), 2)


@dataclass
class _Calls:
    talks: list[float]
    answered_at_hours: list[int]
    days: set[str]


def _calls_by_agent(tenant: Tenant, window: Window, zone: ZoneInfo) -> dict[str, _Calls]:
    calls: dict[str, _Calls] = {}
    for segments in tenant.segments_by_slot.values():
        for segment in segments:
            if segment.agent_id is None or not window.holds(segment.queued_at):
                continue
            local = datetime.fromtimestamp(segment.queued_at + (segment.wait or 0), zone)
            found = calls.setdefault(segment.agent_id, _Calls([], [], set()))
            found.answered_at_hours.append(local.hour)
            found.days.add(local.date().isoformat())
            if segment.talk is not None:
                found.talks.append(segment.talk)
    return calls


def _rank(card: dict[str, Any], members: list[dict[str, Any]], rules: ScorecardSettings) -> None:
    ranks, weighted, weights = {}, 0.0, 0.0
    for name, higher_is_better in INDICATORS.items():
        value = card["indicators"][name]
        if value is None:
            continue
        others = [
            other["indicators"][name]
            for other in members
            if other is not card and other["indicators"][name] is not None
        ]
        ranks[name] = percentile_rank(value, others, higher_is_better)
        weight = rules.weights.get(name, 0.0)
        weighted += weight * ranks[name]
        weights += weight
    card["ranks"] = ranks
    card["score"] = round(weighted / weights, 1) if weights else 0.0


def _night(hour: int, rules: ScorecardSettings) -> bool:
    if rules.night_starts_hour > rules.night_ends_hour:
        return hour >= rules.night_starts_hour or hour < rules.night_ends_hour
    return rules.night_starts_hour <= hour < rules.night_ends_hour


def _flag(
    members: list[dict[str, Any]],
    calls: dict[str, _Calls],
    logins: dict[str, int],
    rules: ScorecardSettings,
) -> None:
    def calls_of(card: dict[str, Any]) -> _Calls:
        return calls.get(card["agent_id"]) or _Calls([], [], set())

    team_talks = [talk for card in members for talk in calls_of(card).talks]
    median_talk = statistics.median(team_talks) if team_talks else None
    team_hours = [hour for card in members for hour in calls_of(card).answered_at_hours]
    team_night = _night_share(team_hours, rules)
    for card in members:
        mine = calls_of(card)
        flags = []
        if logins[card["agent_id"]] > rules.max_logins_per_day * max(1, len(mine.days)):
            flags.append("frequent_sign_in_out")
        night = _night_share(mine.answered_at_hours, rules)
        if night > rules.flag_share and night > 2 * team_night:
            flags.append("night_spike")
        if mine.talks:
            short = sum(talk < rules.short_call_seconds for talk in mine.talks) / len(mine.talks)
            if short > rules.flag_share:
                flags.append("very_short_calls")
            limit = rules.long_call_factor * (median_talk or 0)
            if (
                median_talk
                and sum(t > limit for t in mine.talks) / len(mine.talks) > rules.flag_share
            ):
                flags.append("very_long_calls")
        card["flags"] = flags


def _night_share(hours: list[int], rules: ScorecardSettings) -> float:
    if not hours:
        return 0.0
    return sum(_night(hour, rules) for hour in hours) / len(hours)


def _team(name: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    answered = sum(card["indicators"]["answered"] for card in members)
    return {
        "team": name,
        "members": len(members),
        "score": round(statistics.fmean(card["score"] for card in members), 1),
        "answered": answered,
        "flagged_members": sum(1 for card in members if card["flags"]),
    }
