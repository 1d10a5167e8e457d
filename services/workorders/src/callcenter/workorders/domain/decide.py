"""``decide(command, ticket, now) -> events``: the ticket's rules, with time passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from callcenter.events.catalogue import Event
from callcenter.events.catalogue import workorders as ev
from callcenter.workorders.domain.commands import Absorb, Act, Command, Open, Tick
from callcenter.workorders.domain.config import PRIORITIES, SlaPolicy
from callcenter.workorders.domain.errors import (
    IllegalTransition,
    InvalidValue,
    MissingField,
    NoSuchTicket,
    NotPermitted,
    TicketError,
)
from callcenter.workorders.domain.ticket import PRIORITY_ORDER, Clock, Ticket, evolve

SOURCES = ("agent", "voicemail", "callback", "abandoned_call", "api", "email", "call")
ACTIVE = ("new", "assigned")


class _Decision:
    """Events decided so far, and the ticket they lead to (each step sees the last)."""

    def __init__(self, ticket: Ticket, now: datetime) -> None:
        self.ticket = ticket
        self.now = now
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.ticket = evolve(self.ticket, event)


def decide(command: Command, ticket: Ticket, now: datetime) -> list[Event]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    decision = _Decision(ticket, now)
    match command:
        case Open():
            _open(decision, command)
        case Act():
            _act(decision, command)
        case Absorb():
            _absorb(decision, command)
        case Tick():
            _tick(decision)
    return decision.events


def _open(d: _Decision, command: Open) -> None:
    if d.ticket.exists:
        raise TicketError(f"ticket {command.ticket_id} already exists")
    if not command.ticket_id.strip():
        raise InvalidValue("ticket_id", "ticket_id must not be empty")
    if command.priority not in PRIORITIES:
        raise InvalidValue("priority", f"priority must be one of {list(PRIORITIES)}")
    if command.source not in SOURCES:
        raise InvalidValue("source", f"source must be one of {list(SOURCES)}")
    kind = command.ticket_type
    d.emit(
        ev.TicketOpened(
            ticket_id=command.ticket_id, type=kind.name, priority=command.priority,
            customer_id=command.customer_id, call_id=command.call_id, source=command.source,
            sla_policy=kind.sla.name, title=command.title, description=command.description,
            by=command.by, at=d.now,
            workflow=kind.workflow.to_json(), sla=kind.sla.to_json(),
        )
    )  # fmt: skip
    targets = kind.sla.target(command.priority)
    if targets is not None:
        _start(d, "first_reply", targets.first_reply)
        _start(d, "resolution", targets.resolution)


def _act(d: _Decision, command: Act) -> None:
    ticket = d.ticket
    if not ticket.exists:
        raise NoSuchTicket(f"ticket {ticket.id or '?'} does not exist")
    assert ticket.workflow is not None
    step = ticket.workflow.transitions.get(command.action)
    if step is None or ticket.status not in step.sources:
        raise IllegalTransition(
            command.action, ticket.status, ticket.workflow.allowed(ticket.status)
        )
    if not set(command.roles) & set(step.roles):
        raise NotPermitted(
            f"{command.action} needs role {' or '.join(step.roles)}", roles=list(step.roles)
        )
    for name in step.requires:
        value = getattr(command, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingField(command.action, name)
    _check_values(ticket, command)

    before = ticket.status
    at, by = d.now, command.by
    match command.action:
        case "dispatch":
            d.emit(ev.TicketDispatched(ticket_id=ticket.id, by=by, to=command.to,
                                       note=command.note, at=at))  # fmt: skip
        case "reply":
            d.emit(ev.TicketReplied(ticket_id=ticket.id, by=by, to=command.to,
                                    note=command.note, at=at))  # fmt: skip
            _finish(d, "first_reply", "met")
            _finish(d, "next_reply", "met")
        case "follow_up":
            d.emit(ev.TicketFollowedUp(ticket_id=ticket.id, by=by, note=command.note, at=at))
            _await_next_reply(d)
        case "pend":
            d.emit(ev.TicketPendingCustomer(ticket_id=ticket.id, by=by, note=command.note, at=at))
        case "resume":
            d.emit(ev.TicketResumed(ticket_id=ticket.id, by=by, note=command.note, at=at))
            _await_next_reply(d)
        case "resolve":
            first_contact = ticket.replies == 0 and ticket.follow_ups == 0 and ticket.reopened == 0
            d.emit(ev.TicketResolved(ticket_id=ticket.id, by=by, reason=command.reason, at=at,
                                     first_contact_resolution=first_contact))  # fmt: skip
            _finish(d, "first_reply", "stopped")
            _finish(d, "next_reply", "stopped")
            _finish(d, "resolution", "met")
        case "close":
            d.emit(ev.TicketClosed(ticket_id=ticket.id, by=by, reason=command.reason, at=at))
        case "cancel":
            d.emit(ev.TicketCancelled(ticket_id=ticket.id, by=by, reason=command.reason, at=at))
        case "reopen":
            window = timedelta(days=ticket.sla.reopen_days if ticket.sla else 7)
            if ticket.resolved_at is not None and at - ticket.resolved_at > window:
                raise TicketError(
                    f"reopen is only allowed within {window} after resolution",
                    resolved_at=ticket.resolved_at.isoformat(),
                )
            d.emit(ev.TicketReopened(ticket_id=ticket.id, by=by, reason=command.reason, at=at))
            clock = d.ticket.clocks.get("resolution")
            if clock is not None and clock.status == "met":
                _run(d, clock, "resumed", clock.target_seconds, clock.consumed_seconds)
        case "merge":
            d.emit(ev.TicketsMerged(ticket_id=ticket.id, merged_ticket_id=command.into or "",
                                    by=by, reason=command.reason, at=at))  # fmt: skip
        case "reprioritize":
            assert command.priority is not None
            d.emit(ev.TicketPriorityChanged(ticket_id=ticket.id, priority=command.priority,
                                            by=by, at=at))  # fmt: skip
            _retarget(d)
    _follow_state(d, before)


def _absorb(d: _Decision, command: Absorb) -> None:
    ticket = d.ticket
    if not ticket.exists:
        raise InvalidValue("into", f"ticket {ticket.id} to merge into does not exist")
    if ticket.status in ("closed", "cancelled", "merged"):
        raise InvalidValue("into", f"ticket {ticket.id} is {ticket.status}: nothing merges into it")
    if command.merged_ticket_id == ticket.id:
        raise InvalidValue("into", "a ticket cannot be merged into itself")
    d.emit(ev.TicketMergeReceived(ticket_id=ticket.id, merged_ticket_id=command.merged_ticket_id,
                                  by=command.by, at=d.now, follow_ups=command.follow_ups,
                                  notes=list(command.notes)))  # fmt: skip


def _await_next_reply(d: _Decision) -> None:
    """The customer wrote again after the first reply: the next reply is now owed."""
    first = d.ticket.clocks.get("first_reply")
    targets = _policy(d).target(d.ticket.priority)
    if first is None or first.status != "met" or targets is None or targets.next_reply is None:
        return
    current = d.ticket.clocks.get("next_reply")
    if current is None or current.status in ("met", "stopped"):
        _start(d, "next_reply", targets.next_reply)


def _check_values(ticket: Ticket, command: Act) -> None:
    if command.priority is not None and command.priority not in PRIORITIES:
        raise InvalidValue("priority", f"priority must be one of {list(PRIORITIES)}")
    if command.action == "merge" and command.into == ticket.id:
        raise InvalidValue("into", "a ticket cannot be merged into itself")


def _follow_state(d: _Decision, before: str) -> None:
    """Clocks follow the state: pending pauses them, leaving pending resumes them,
    a final state stops them."""
    after = d.ticket.status
    if after == before:
        return
    for clock in list(d.ticket.clocks.values()):
        if after == "pending_customer" and clock.status == "running":
            _pause(d, clock)
        elif before == "pending_customer" and after in ACTIVE and clock.status == "paused":
            _run(d, clock, "resumed", clock.target_seconds, clock.consumed_seconds)
        elif after in ("closed", "cancelled", "merged") and clock.status in ("running", "paused"):
            _finish(d, clock.metric, "stopped")


def _policy(d: _Decision) -> SlaPolicy:
    assert d.ticket.sla is not None
    return d.ticket.sla


def _start(d: _Decision, metric: str, target: float) -> None:
    _run(d, Clock(metric=metric, status="stopped", target_seconds=target), "started", target, 0.0)


def _run(d: _Decision, clock: Clock, transition: str, target: float, consumed: float) -> None:
    policy = _policy(d)
    calendar = policy.calendar
    d.emit(
        ev.TicketSlaClockChanged(
            ticket_id=d.ticket.id, metric=clock.metric, transition=transition, status="running",
            at=d.now, target_seconds=target, consumed_seconds=consumed, running_since=d.now,
            due_at=calendar.add(d.now, target - consumed),
            warn_at=calendar.add(d.now, target * policy.warn_ratio - consumed),
        )
    )  # fmt: skip


def _consumed(d: _Decision, clock: Clock) -> float:
    if clock.status != "running" or clock.running_since is None:
        return clock.consumed_seconds
    return clock.consumed_seconds + _policy(d).calendar.business_seconds(clock.running_since, d.now)


def _pause(d: _Decision, clock: Clock) -> None:
    d.emit(
        ev.TicketSlaClockChanged(
            ticket_id=d.ticket.id, metric=clock.metric, transition="paused", status="paused",
            at=d.now, target_seconds=clock.target_seconds, consumed_seconds=_consumed(d, clock),
        )
    )  # fmt: skip


def _finish(d: _Decision, metric: str, outcome: str) -> None:
    clock = d.ticket.clocks.get(metric)
    if clock is None or clock.status not in ("running", "paused"):
        return
    d.emit(
        ev.TicketSlaClockChanged(
            ticket_id=d.ticket.id, metric=metric, transition=outcome, status=outcome,
            at=d.now, target_seconds=clock.target_seconds, consumed_seconds=_consumed(d, clock),
        )
    )  # fmt: skip


def _retarget(d: _Decision) -> None:
    """A new priority (reprioritize, or an escalation raising it) means new targets;
    the time already consumed (paused time excluded) is kept. A clock whose target
    does not change is left alone."""
    targets = _policy(d).target(d.ticket.priority)
    if targets is None:
        return
    for clock in list(d.ticket.clocks.values()):
        if clock.status not in ("running", "paused"):
            continue
        target = getattr(targets, clock.metric)
        if target is None or target == clock.target_seconds:
            continue
        consumed = _consumed(d, clock)
        if clock.status == "running":
            _run(d, clock, "retargeted", target, consumed)
        else:
            d.emit(
                ev.TicketSlaClockChanged(
                    ticket_id=d.ticket.id, metric=clock.metric, transition="retargeted",
                    status="paused", at=d.now, target_seconds=target, consumed_seconds=consumed,
                )
            )  # fmt: skip


def _tick(d: _Decision) -> None:
    if not d.ticket.exists:
        return
    for metric in sorted(d.ticket.clocks):
        clock = d.ticket.clocks[metric]
        if clock.status != "running" or clock.due_at is None:
            continue
        if not clock.warned and clock.warn_at is not None and clock.warn_at <= d.now:
            d.emit(ev.TicketSlaWarning(ticket_id=d.ticket.id, metric=metric,
                                       due_at=clock.due_at, at=d.now))  # fmt: skip
        if not clock.breached and clock.due_at <= d.now:
            d.emit(ev.TicketSlaBreached(ticket_id=d.ticket.id, metric=metric,
                                        due_at=clock.due_at, at=d.now))  # fmt: skip
            _escalate(d, metric, clock.due_at)


def _escalate(d: _Decision, metric: str, due_at: datetime) -> None:
    """The policy's escalation step for this breach: notify the supervisor, raise the
    priority one level, or re-dispatch to another agent or group."""
    ticket = d.ticket
    level = ticket.escalation_level + 1
    steps = _policy(d).escalation
    step = steps[min(level, len(steps)) - 1]
    action, priority = step.action, None
    if action == "raise_priority":
        rank = PRIORITY_ORDER.index(ticket.priority)
        priority = PRIORITY_ORDER[min(rank + 1, len(PRIORITY_ORDER) - 1)]
        if priority == ticket.priority:
            action = "notify_supervisor"  # already urgent
    d.emit(
        ev.TicketEscalated(
            ticket_id=ticket.id, metric=metric, due_at=due_at, at=d.now, level=level,
            action=action, priority=priority, notify=step.to or "supervisor",
        )
    )  # fmt: skip
    if action == "raise_priority":
        _retarget(d)
    if action == "redispatch" and ticket.workflow is not None:
        if "dispatch" in ticket.workflow.allowed(d.ticket.status):
            d.emit(ev.TicketDispatched(ticket_id=ticket.id, by="system", to=step.to,
                                       note=f"escalation level {level}", at=d.now))  # fmt: skip
