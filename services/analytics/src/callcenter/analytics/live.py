"""The live view: what the wallboard and the Prometheus gauges show, per queue, now."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from callcenter.analytics.fold import Agent, Tenant
from callcenter.analytics.kpis import (
    CAMPAIGN_KPIS,
    KpiSettings,
    compute,
    day_window,
    hours_window,
)

CHART_HOURS = 8
CHART_FIELDS = ("interval_start", "offered", "answered", "abandoned", "service_level")
AGENT_STATES = ("ready", "ringing", "on_call", "wrap_up", "not_ready")


def agent_state(agent: Agent) -> str | None:
    """The wallboard's name for the agent's state; None when logged out."""
    if agent.state == "logged_out":
        return None
    if agent.state.startswith("not_ready"):
        return "not_ready"
    return LIVE_STATES[agent.state]


LIVE_STATES = {
    "idle": "ready",
    "ringing": "ringing",
    "talk": "on_call",
    "consult": "on_call",
    "conference": "on_call",
    "wrap": "wrap_up",
}


def serves(queue: dict[str, Any], agent: Agent) -> bool:
    """The agent is in the queue's own pool (before any overflow widens it)."""
    config = queue.get("config", {})
    groups = config.get("agent_groups") or []
    if groups and not set(groups) & set(agent.groups):
        return False
    return all(
        agent.skills.get(skill, 0) >= level for skill, level in config.get("skills", {}).items()
    )


def status(service_level: float | None, target: float, margin: float) -> str:
    if service_level is None:
        return "idle"
    if service_level >= target:
        return "good"
    return "warning" if service_level >= target - margin else "bad"


def abandon_status(rate: float | None, cap: float) -> str:
    """Abandoned-outbound rate against the regulator's cap: amber from 80% of it."""
    if rate is None:
        return "idle"
    if rate > cap:
        return "bad"
    return "warning" if rate > 0.8 * cap else "good"


def snapshot(tenant: Tenant, settings: KpiSettings, now: float) -> dict[str, Any]:
    today_rows = compute(tenant, settings, day_window(settings, now), "all", "queue")
    today = {row["queue_id"]: row for row in today_rows}
    chart: dict[str, list[dict[str, Any]]] = {}
    for row in compute(tenant, settings, hours_window(CHART_HOURS, now), "15", "queue"):
        chart.setdefault(row["queue_id"], []).append({key: row[key] for key in CHART_FIELDS})
    waiting: dict[str, list[float]] = {}
    for segment in tenant.waiting():
        waiting.setdefault(segment.queue_id, []).append(now - segment.queued_at)
    logged_in = {
        agent_id: (agent, state)
        for agent_id, agent in tenant.agents.items()
        if (state := agent_state(agent)) is not None
    }
    queues = []
    for queue_id in sorted(set(tenant.queues) | set(today) | set(waiting)):
        row = today.get(queue_id, {})
        target = settings.target(queue_id)
        queue = tenant.queues.get(queue_id, {})
        states = Counter(state for agent, state in logged_in.values() if serves(queue, agent))
        service_level = row.get("service_level")
        queues.append(
            {
                "queue_id": queue_id,
                "name": queue.get("name") or queue_id,
                "waiting": len(waiting.get(queue_id, ())),
                "longest_wait_seconds": round(max(waiting.get(queue_id, [0.0])), 1),
                "agents": {state: states.get(state, 0) for state in AGENT_STATES},
                "offered": row.get("offered", 0),
                "answered": row.get("answered", 0),
                "abandoned": row.get("abandoned", 0),
                "service_level": service_level,
                "service_level_target": target,
                "service_level_threshold_seconds": tenant.service_level_seconds(queue_id),
                "status": status(service_level, target, settings.warning_margin),
                "asa_seconds": row.get("asa_seconds"),
                "abandon_rate": row.get("abandon_rate"),
                "chart": chart.get(queue_id, []),
            }
        )
    return {
        "at": datetime.fromtimestamp(now, UTC).isoformat(),
        "timezone": settings.timezone,
        "agents": {
            state: sum(1 for _, s in logged_in.values() if s == state) for state in AGENT_STATES
        },
        "queues": queues,
        "supervised": supervised(tenant, now),
        "campaigns": campaigns(tenant, settings, now),
    }


def supervised(tenant: Tenant, now: float) -> list[dict[str, Any]]:
    """Agents with a supervisor on their call now: the wallboard's badges."""
    found = []
    for supervision in tenant.supervising.values():
        agent = tenant.agents.get(supervision.agent_id)
        found.append(
            {
                "agent_id": supervision.agent_id,
                "name": (agent.name if agent else "") or supervision.agent_id,
                "supervisor_id": supervision.supervisor_id,
                "mode": supervision.mode,
                "call_id": supervision.call_id,
                "seconds": round(max(0.0, now - supervision.joined_at), 1),
            }
        )
    return sorted(found, key=lambda item: (item["agent_id"], item["supervisor_id"]))


def campaigns(tenant: Tenant, settings: KpiSettings, now: float) -> list[dict[str, Any]]:
    """Today per campaign (those configured or dialing today); empty without campaigns."""
    if not tenant.campaigns and not tenant.campaign_calls:
        return []
    today = {
        row["campaign_id"]: row
        for row in compute(tenant, settings, day_window(settings, now), "all", "campaign")
    }
    rows = []
    for campaign_id in sorted(set(tenant.campaigns) | set(today)):
        row = today.get(campaign_id, {})
        abandon_rate = row.get("outbound_abandon_rate")
        cap = settings.outbound_abandon_cap
        rows.append(
            {
                "campaign_id": campaign_id,
                "name": tenant.campaigns.get(campaign_id, {}).get("name") or campaign_id,
                "attempts": row.get("outbound_attempts", 0),
                "reached": row.get("outbound_reached", 0),
                "completed": row.get("outbound_completed", 0),
                "abandoned": row.get("outbound_abandoned", 0),
                **{name: row.get(name) for name in CAMPAIGN_KPIS},
                "outbound_abandon_cap": cap,
                "status": abandon_status(abandon_rate, cap),
            }
        )
    return rows
