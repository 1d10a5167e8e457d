"""The state as plain JSON, and back: snapshots, and the replay-equality check.

Sets and dicts are written sorted, so two equal states give identical bytes.
Fields added after format 1 are read with their defaults when absent, so older
snapshots still load.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from callcenter.routing.domain.campaigns import (
    campaign_from_json,
    campaign_to_json,
    leg_from_json,
    leg_to_json,
)
from callcenter.routing.domain.config import AgentConfig, QueueConfig, TenantSettings
from callcenter.routing.domain.state import Agent, Call, Deadline, Queue, RoutingState

SNAPSHOT_FORMAT = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def to_snapshot(state: RoutingState) -> dict[str, Any]:
    return {
        "format": SNAPSHOT_FORMAT,
        "version": state.version,
        "seq": state.seq,
        "queues": {
            queue.id: {
                "config": queue.config.model_dump(mode="json"),
                "order": [[list(key), call_id] for key, call_id in queue.order],
                "last_agent": queue.last_agent,
                "draws": queue.draws,
                "staffed": queue.staffed,
                "handle_seconds": queue.handle_seconds,
                "answered": queue.answered,
            }
            for queue in sorted(state.queues.values(), key=lambda q: q.id)
        },
        "agents": {
            agent.id: {
                "config": agent.config.model_dump(mode="json"),
                "status": agent.status,
                "since": _time(agent.since),
                "reason": agent.reason,
                "call_id": agent.call_id,
                "idle_since": _time(agent.idle_since),
                "day": agent.day.isoformat() if agent.day else None,
                "calls_today": agent.calls_today,
                "talk_today": agent.talk_today,
                "misses": agent.misses,
                "wrap_until": _time(agent.wrap_until),
                "last_call": list(agent.last_call) if agent.last_call else None,
                "state_day": agent.state_day.isoformat() if agent.state_day else None,
                "state_seconds": dict(sorted(agent.state_seconds.items())),
            }
            for agent in sorted(state.agents.values(), key=lambda a: a.id)
        },
        "calls": {
            call.id: {
                "queue_id": call.queue_id,
                "priority": call.priority,
                "skills": dict(sorted(call.skills.items())),
                "enqueued_at": _time(call.enqueued_at),
                "sort_key": list(call.sort_key),
                "customer_id": call.customer_id,
                "ani": call.ani,
                "preferred_agent_id": call.preferred_agent_id,
                "status": call.status,
                "step": call.step,
                "offers": {a: _time(t) for a, t in sorted(call.offers.items())},
                "offered_at": _time(call.offered_at),
                "declined": sorted(call.declined),
                "agent_id": call.agent_id,
                "answered_at": _time(call.answered_at),
                "explanation": call.explanation,
                "callback_number": call.callback_number,
                "callback_attempt": call.callback_attempt,
                "not_before": _time(call.not_before),
                "queued_at": _time(call.queued_at),
                "answer_wait": call.answer_wait,
                "held_since": _time(call.held_since),
                "hold_total": call.hold_total,
                "muted": call.muted,
                "party_agent_id": call.party_agent_id,
                "party_kind": call.party_kind,
                "party_since": _time(call.party_since),
                "campaign": [call.campaign_id, call.contact_id] if call.campaign_id else None,
                "supervisors": {
                    sid: [mode, _time(since)]
                    for sid, (mode, since) in sorted(call.supervisors.items())
                },
            }
            for call in sorted(state.calls.values(), key=lambda c: c.id)
        },
        "ready": list(state.ready),
        "last_agent": dict(sorted(state.last_agent.items())),
        "identified": {c: list(who) for c, who in sorted(state.identified.items())},
        "deadlines": [[_time(d.when), d.seq, d.kind, d.key] for d in sorted(state.deadlines)],
        "settings": state.settings.model_dump(mode="json"),
        "campaigns": {
            c.id: campaign_to_json(c) for c in sorted(state.campaigns.values(), key=lambda c: c.id)
        },
        "legs": {call_id: leg_to_json(leg) for call_id, leg in sorted(state.legs.items())},
        "numbers_in_use": dict(sorted(state.numbers_in_use.items())),
        "campaign_calls": {k: list(v) for k, v in sorted(state.campaign_calls.items())},
        "dnc": sorted(state.dnc),
    }


def snapshot_bytes(state: RoutingState) -> bytes:
    return json.dumps(to_snapshot(state), sort_keys=True, separators=(",", ":")).encode()


def from_snapshot(data: dict[str, Any]) -> RoutingState:
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    state = RoutingState(version=data["version"], seq=data["seq"])
    for queue_id, q in data["queues"].items():
        state.queues[queue_id] = Queue(
            id=queue_id,
            config=QueueConfig.model_validate(q["config"]),
            order=[((key[0], key[1]), call_id) for key, call_id in q["order"]],
            last_agent=q["last_agent"],
            draws=q["draws"],
            staffed=q["staffed"],
            handle_seconds=q["handle_seconds"],
            answered=q["answered"],
        )
    for agent_id, a in data["agents"].items():
        state.agents[agent_id] = Agent(
            id=agent_id,
            config=AgentConfig.model_validate(a["config"]),
            status=a["status"],
            since=_parse_time(a["since"]),
            reason=a["reason"],
            call_id=a["call_id"],
            idle_since=_parse_time(a["idle_since"]),
            day=date.fromisoformat(a["day"]) if a["day"] else None,
            calls_today=a["calls_today"],
            talk_today=a["talk_today"],
            misses=a["misses"],
            wrap_until=_parse_time(a["wrap_until"]),
            last_call=_last_call(a.get("last_call")),
            state_day=date.fromisoformat(a["state_day"]) if a.get("state_day") else None,
            state_seconds=dict(a.get("state_seconds", {})),
        )
    for call_id, c in data["calls"].items():
        state.calls[call_id] = Call(
            id=call_id,
            queue_id=c["queue_id"],
            priority=c["priority"],
            skills=c["skills"],
            enqueued_at=_parse_time(c["enqueued_at"]),
            sort_key=(c["sort_key"][0], c["sort_key"][1]),
            customer_id=c["customer_id"],
            ani=c["ani"],
            preferred_agent_id=c["preferred_agent_id"],
            status=c["status"],
            step=c["step"],
            offers={a: _parse_time(t) for a, t in c["offers"].items()},
            offered_at=_parse_time(c["offered_at"]),
            declined=set(c["declined"]),
            agent_id=c["agent_id"],
            answered_at=_parse_time(c["answered_at"]),
            explanation=c["explanation"],
            callback_number=c["callback_number"],
            callback_attempt=c["callback_attempt"],
            not_before=_parse_time(c["not_before"]),
            queued_at=_parse_time(c.get("queued_at", c["enqueued_at"])),
            answer_wait=c.get("answer_wait"),
            held_since=_parse_time(c.get("held_since")),
            hold_total=c.get("hold_total", 0.0),
            muted=c.get("muted", False),
            party_agent_id=c.get("party_agent_id"),
            party_kind=c.get("party_kind"),
            party_since=_parse_time(c.get("party_since")),
            campaign_id=(c.get("campaign") or [None, None])[0],
            contact_id=(c.get("campaign") or [None, None])[1],
            supervisors={
                sid: (mode, _parse_time(since))
                for sid, (mode, since) in c.get("supervisors", {}).items()
            },
        )
    state.settings = TenantSettings.model_validate(data.get("settings", {}))
    state.campaigns = {
        campaign_id: campaign_from_json(campaign_id, c)
        for campaign_id, c in data.get("campaigns", {}).items()
    }
    state.legs = {k: leg_from_json(k, v) for k, v in data.get("legs", {}).items()}
    state.numbers_in_use = dict(data.get("numbers_in_use", {}))
    state.campaign_calls = {k: (v[0], v[1]) for k, v in data.get("campaign_calls", {}).items()}
    state.dnc = set(data.get("dnc", []))
    state.last_agent = dict(data["last_agent"])
    state.identified = {c: (who[0], who[1]) for c, who in data["identified"].items()}
    for agent_id in data["ready"]:
        state.ready[agent_id] = None
        for skill in state.agents[agent_id].config.skills:
            state.ready_by_skill.setdefault(skill, set()).add(agent_id)
    state.deadlines = [
        Deadline(_parse_time(when), seq, kind, key) for when, seq, kind, key in data["deadlines"]
    ]
    state.reindex()
    return state


def _last_call(value: list | None) -> tuple[str, str, str | None] | None:
    return (value[0], value[1], value[2]) if value else None
