"""Ticket types: a declarative workflow and an SLA policy, per tenant.

A workflow lists its states and, per action, the states it is allowed from, the
state it leads to (``None``: stays), the roles that may take it and the fields
it requires. The decider enforces it; a ticket keeps the definition it was
opened under (it is in ``TicketOpened``), so editing a type never changes the
rules of tickets already open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.workorders.domain.calendar import Calendar

PRIORITIES = ("low", "normal", "high", "urgent")
ACTIONS = ("dispatch", "reply", "follow_up", "pend", "resume", "resolve", "close", "cancel",
           "reopen", "merge", "reprioritize")  # fmt: skip
FIELDS = ("to", "note", "reason", "into", "priority")
INITIAL = "new"
RESOLVED = "resolved"
# Built-in meanings the decider relies on (clocks, reopen window, cancel rule).
REQUIRED_STATES = ("new", "assigned", "pending_customer", "resolved", "closed", "cancelled",
                   "merged")  # fmt: skip


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str | None = None
    roles: tuple[str, ...] = ("agent", "supervisor", "admin")
    requires: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"from": list(self.sources), "to": self.target, "roles": list(self.roles),
                "requires": list(self.requires)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transition:
        return cls(
            sources=tuple(data["from"]),
            target=data.get("to"),
            roles=tuple(data.get("roles", ("agent", "supervisor", "admin"))),
            requires=tuple(data.get("requires", ())),
        )


@dataclass(frozen=True)
class Workflow:
    states: tuple[str, ...]
    transitions: dict[str, Transition]

    def __post_init__(self) -> None:
        for state in REQUIRED_STATES:
            if state not in self.states:
                raise ValueError(f"workflow: state {state!r} is required")
        for action, step in self.transitions.items():
            if action not in ACTIONS:
                raise ValueError(f"workflow: unknown action {action!r}; known: {list(ACTIONS)}")
            for state in (*step.sources, *([step.target] if step.target else [])):
                if state not in self.states:
                    raise ValueError(f"workflow: {action} names unknown state {state!r}")
            for name in step.requires:
                if name not in FIELDS:
                    raise ValueError(f"workflow: {action} requires unknown field {name!r}")
        cancel = self.transitions.get("cancel")
        if cancel and {"resolved", "closed"} & set(cancel.sources):
            raise ValueError("workflow: cancel is only allowed before resolution")

    def allowed(self, state: str, role: str | None = None) -> list[str]:
        """Actions allowed from ``state`` (for ``role``, if given), sorted."""
        return sorted(
            action
            for action, step in self.transitions.items()
            if state in step.sources and (role is None or role in step.roles)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "states": list(self.states),
            "transitions": {action: t.to_json() for action, t in self.transitions.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workflow:
        return cls(
            states=tuple(data["states"]),
            transitions={a: Transition.from_json(t) for a, t in data["transitions"].items()},
        )


WORKING = ("new", "assigned", "pending_customer")
STAFF = ("agent", "supervisor", "admin")
DEFAULT_WORKFLOW = Workflow(
    states=REQUIRED_STATES,
    transitions={
        "dispatch": Transition(WORKING, "assigned", (*STAFF, "integrator"), ("to",)),
        "reply": Transition(("assigned",), None, STAFF),
        "follow_up": Transition(WORKING, None, (*STAFF, "integrator")),
        "pend": Transition(("assigned",), "pending_customer", STAFF),
        "resume": Transition(("pending_customer",), "assigned", (*STAFF, "integrator")),
        "resolve": Transition(WORKING, "resolved", STAFF),
        "close": Transition(("resolved",), "closed", (*STAFF, "integrator")),
        "cancel": Transition(WORKING, "cancelled", ("supervisor", "admin"), ("reason",)),
        "reopen": Transition(("resolved",), "assigned", (*STAFF, "integrator")),
        "merge": Transition(WORKING, "merged", STAFF, ("into",)),
        "reprioritize": Transition(WORKING, None, ("supervisor", "admin"), ("priority",)),
    },
)


@dataclass(frozen=True)
class Targets:
    """Business seconds allowed to the first reply, to resolution, and (optionally)
    to each next reply after the customer writes again."""

    first_reply: float
    resolution: float
    next_reply: float | None = None


ESCALATIONS = ("notify_supervisor", "raise_priority", "redispatch")


@dataclass(frozen=True)
class EscalationStep:
    """What the n-th breach of a ticket does (the last step repeats)."""

    action: str
    to: str | None = None  # redispatch: the agent or group

    def __post_init__(self) -> None:
        if self.action not in ESCALATIONS:
            raise ValueError(f"sla: escalation action must be one of {list(ESCALATIONS)}")
        if self.action == "redispatch" and not self.to:
            raise ValueError("sla: a redispatch escalation needs to")


@dataclass(frozen=True)
class SlaPolicy:
    name: str = "default"
    targets: dict[str, Targets] = field(default_factory=dict)  # per priority
    calendar: Calendar = field(default_factory=Calendar)
    warn_ratio: float = 0.8  # warn when this share of a target is consumed
    reopen_days: float = 7.0
    escalation: tuple[EscalationStep, ...] = (EscalationStep("raise_priority"),)

    def __post_init__(self) -> None:
        if not self.escalation:
            raise ValueError("sla: escalation needs at least one step")
        for priority in self.targets:
            if priority not in PRIORITIES:
                raise ValueError(f"sla: unknown priority {priority!r}")
        if not 0 < self.warn_ratio <= 1:
            raise ValueError("sla: warn_ratio must be in (0, 1]")

    def target(self, priority: str) -> Targets | None:
        return self.targets.get(priority)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "targets": {
                p: {
                    "first_reply": t.first_reply,
                    "resolution": t.resolution,
                    "next_reply": t.next_reply,
                }
                for p, t in self.targets.items()
            },
            "calendar": self.calendar.to_json(),
            "warn_ratio": self.warn_ratio,
            "reopen_days": self.reopen_days,
            "escalation": [{"action": e.action, "to": e.to} for e in self.escalation],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlaPolicy:
        return cls(
            name=data.get("name", "default"),
            targets={
                p: Targets(
                    float(t["first_reply"]),
                    float(t["resolution"]),
                    None if t.get("next_reply") is None else float(t["next_reply"]),
                )
                for p, t in data.get("targets", {}).items()
            },
            calendar=Calendar.from_json(data.get("calendar", {})),
            warn_ratio=float(data.get("warn_ratio", 0.8)),
            reopen_days=float(data.get("reopen_days", 7.0)),
            escalation=tuple(
                EscalationStep(step["action"], step.get("to"))
                for step in data.get("escalation") or [{"action": "raise_priority"}]
            ),
        )


@dataclass(frozen=True)
class TicketType:
    name: str
    workflow: Workflow = DEFAULT_WORKFLOW
    sla: SlaPolicy = field(default_factory=SlaPolicy)


HOUR = 3600.0
WEEKDAYS_9_TO_6: dict[int, tuple[tuple[int, int], ...]] = {
    d: ((9 * 60, 18 * 60),) for d in range(5)
}


def _policy(name: str, first: float, resolution: float) -> SlaPolicy:
    """Targets in business hours for normal priority; faster for high and urgent."""
    scale = {"low": 2.0, "normal": 1.0, "high": 0.5, "urgent": 0.25}
    return SlaPolicy(
        name=name,
        targets={
            p: Targets(first * HOUR * s, resolution * HOUR * s, first * HOUR * s)
            for p, s in scale.items()
        },
        calendar=Calendar(hours=WEEKDAYS_9_TO_6),
    )


def default_types() -> dict[str, TicketType]:
    """What a tenant has before configuring its own types."""
    return {
        "complaint": TicketType("complaint", sla=_policy("complaint", 2, 24)),
        "inquiry": TicketType("inquiry", sla=_policy("inquiry", 4, 16)),
        "repair": TicketType("repair", sla=_policy("repair", 4, 40)),
        "order": TicketType("order", sla=_policy("order", 8, 40)),
    }
