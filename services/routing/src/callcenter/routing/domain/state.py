"""The ACD's state, and ``evolve``: the only way it changes.

State is a projection of the routing log: ``evolve`` applies one event. It
mutates the state in place and returns it (a copy per event would cost more
than the decision itself); ``decide`` changes state only through it. Timers are deadlines kept
in a heap inside the state, so they survive a restart and replay identically.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, NamedTuple

from callcenter.events.catalogue import routing as ev
from callcenter.routing.domain.campaigns import (
    ANSWER_SMOOTHING,
    Campaign,
    CampaignConfig,
    Leg,
    consent_allows,
    contact_from_event,
    retry_at,
)
from callcenter.routing.domain.config import AgentConfig, QueueConfig, TenantSettings
from callcenter.routing.domain.pools import added_queues, base_pool_holds, could_serve

AgentStatus = Literal["logged_out", "ready", "not_ready", "offered", "on_call", "wrap_up"]
# Agents who count as staffing a queue (for the estimated wait).
STAFFED: frozenset[str] = frozenset({"ready", "offered", "on_call", "wrap_up"})
CallStatus = Literal["waiting", "offered", "connected"]
PartyKind = Literal["consult", "conference"]
DeadlineKind = Literal[
    "offer", "wrap_up", "overflow", "preferred", "max_wait", "callback_retry", "forget_identity",
    "preview", "outbound", "abandon", "campaign",
]  # fmt: skip
IDENTITY_KEPT_SECONDS = 3600.0

DEFAULT_HANDLE_SECONDS = 180.0
HANDLE_SMOOTHING = 0.2  # weight of the newest call in the average handle time


@dataclass
class Agent:
    id: str
    config: AgentConfig
    status: AgentStatus = "logged_out"
    since: datetime | None = None
    reason: str | None = None
    call_id: str | None = None
    idle_since: datetime | None = None
    day: date | None = None
    calls_today: int = 0
    talk_today: float = 0.0
    misses: int = 0
    wrap_until: datetime | None = None
    # The call it last answered, (call id, queue id, customer id): what a disposition names.
    last_call: tuple[str, str, str | None] | None = None
    # Seconds in each status on ``state_day`` (UTC), up to ``since``.
    state_day: date | None = None
    state_seconds: dict[str, float] = field(default_factory=dict)

    def seconds_today(self, now: datetime) -> dict[str, float]:
        """Seconds in each status today, counting the current one up to ``now``."""
        today = now.date()
        seconds = dict(self.state_seconds) if self.state_day == today else {}
        if self.since is not None and self.status != "logged_out":
            start = max(self.since, _midnight(now))
            seconds[self.status] = seconds.get(self.status, 0.0) + (now - start).total_seconds()
        return {status: round(value, 1) for status, value in sorted(seconds.items())}


@dataclass
class Call:
    id: str
    queue_id: str
    priority: int
    skills: dict[str, int]
    enqueued_at: datetime
    sort_key: tuple[float, int]
    customer_id: str | None = None
    ani: str | None = None
    preferred_agent_id: str | None = None
    status: CallStatus = "waiting"
    step: int = -1
    offers: dict[str, datetime] = field(default_factory=dict)
    offered_at: datetime | None = None
    declined: set[str] = field(default_factory=set)
    agent_id: str | None = None
    answered_at: datetime | None = None
    explanation: dict = field(default_factory=dict)
    callback_number: str | None = None
    callback_attempt: int = 0
    not_before: datetime | None = None
    # When this wait began: enqueued_at, or the transfer (overflow and max wait count
    # from here; priority ages from enqueued_at).
    queued_at: datetime | None = None
    # The wait reported when first answered in this queue (a transfer keeps it).
    answer_wait: float | None = None
    held_since: datetime | None = None
    hold_total: float = 0.0  # the current agent's finished holds
    muted: bool = False
    # The second agent on the call: consulted (the caller on hold) or in conference.
    party_agent_id: str | None = None
    party_kind: PartyKind | None = None
    party_since: datetime | None = None
    # Supervisors on the call: id -> (mode, since). Monitor, whisper or barge; a
    # takeover makes the supervisor the call's agent instead.
    supervisors: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # An outbound campaign's call: its campaign and contact.
    campaign_id: str | None = None
    contact_id: str | None = None

    def hold_until(self, now: datetime) -> float:
        """Seconds on hold so far with the current agent."""
        current = (now - self.held_since).total_seconds() if self.held_since else 0.0
        return self.hold_total + max(0.0, current)


@dataclass
class Queue:
    id: str
    config: QueueConfig
    # Waiting and offered calls, best first: (sort key, call id).
    order: list[tuple[tuple[float, int], str]] = field(default_factory=list)
    last_agent: str | None = None  # round-robin memory
    draws: int = 0  # random strategy: draws so far, for a deterministic sequence
    staffed: int = 0
    handle_seconds: float = DEFAULT_HANDLE_SECONDS
    answered: int = 0


class Deadline(NamedTuple):
    """A timer. A plain tuple: heaps compare them often; ``seq`` is unique, so
    ``kind`` and ``key`` are never compared."""

    when: datetime
    seq: int
    kind: DeadlineKind
    key: str


@dataclass
class RoutingState:
    queues: dict[str, Queue] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    ready: dict[str, None] = field(default_factory=dict)  # ordered set of ready agents
    ready_by_skill: dict[str, set[str]] = field(default_factory=dict)
    deadlines: list[Deadline] = field(default_factory=list)
    seq: int = 0  # ties between equal instants, in the order events happened
    version: int = 0
    # customer id -> the agent who last answered them (preferred-agent routing)
    last_agent: dict[str, str] = field(default_factory=dict)
    # call id -> (customer id, preferred agent) learned before the call was queued;
    # forgotten after IDENTITY_KEPT_SECONDS if the call never comes (self-served)
    identified: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    settings: TenantSettings = field(default_factory=TenantSettings)
    # Derived from the configurations (rebuilt by ``reindex``, never snapshotted):
    # agent -> queues whose base pool holds it (it staffs them, for the EWT) ...
    members: dict[str, set[str]] = field(default_factory=dict)
    # ... and queues of which it could take some call, at some overflow step.
    serves: dict[str, set[str]] = field(default_factory=dict)
    agents_by_skill: dict[str, set[str]] = field(default_factory=dict)
    queues_by_skill: dict[str, set[str]] = field(default_factory=dict)
    open_queues: set[str] = field(default_factory=set)  # no skills asked, or overflow to queues
    # Outbound campaigns, the legs being dialed (call id -> leg), the numbers in use
    # (number -> call id: never dialed twice at once), campaign calls still with an
    # agent or in wrap-up (call id -> (campaign, contact)), the do-not-call list.
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    legs: dict[str, Leg] = field(default_factory=dict)
    numbers_in_use: dict[str, str] = field(default_factory=dict)
    campaign_calls: dict[str, tuple[str, str]] = field(default_factory=dict)
    dnc: set[str] = field(default_factory=set)

    def queue_position(self, call: Call) -> int:
        """1 + the waiting calls ahead (calls already ringing an agent are being served)."""
        return self.position_of(self.queues[call.queue_id], (call.sort_key, call.id))

    def position_of(self, queue: Queue, entry: tuple[tuple[float, int], str]) -> int:
        ahead = queue.order[: bisect.bisect_left(queue.order, entry)]
        return 1 + sum(1 for _, call_id in ahead if self.calls[call_id].status == "waiting")

    def reindex(self) -> None:
        self.agents_by_skill = {}
        for agent in self.agents.values():
            for skill in agent.config.skills:
                self.agents_by_skill.setdefault(skill, set()).add(agent.id)
        for queue in self.queues.values():
            self.index_queue_skills(queue)
        for agent in self.agents.values():
            self.reindex_agent(agent)

    def index_queue_skills(self, queue: Queue) -> None:
        for queues in self.queues_by_skill.values():
            queues.discard(queue.id)
        self.open_queues.discard(queue.id)
        config = queue.config
        if not config.skills or any(step.add_queues for step in config.overflow):
            self.open_queues.add(queue.id)
        for skill in config.skills:
            self.queues_by_skill.setdefault(skill, set()).add(queue.id)

    def reindex_agent(self, agent: Agent) -> None:
        """After an agent's skills changed: which queues it staffs and could serve."""
        self.members[agent.id] = set()
        self.serves[agent.id] = set()
        skills = agent.config.skills
        candidates = set(self.open_queues)
        for skill in skills:
            candidates |= self.queues_by_skill.get(skill, set())
        for queue_id in candidates:
            queue = self.queues[queue_id]
            if queue_id in self.open_queues or all(s in skills for s in queue.config.skills):
                self._place(agent, queue)

    def reindex_queue(self, queue_id: str) -> None:
        """After a queue changed: its pool, and the pools of queues overflowing into it."""
        affected = [queue_id] + [
            q.id
            for q in self.queues.values()
            if queue_id in added_queues(q.config, len(q.config.overflow))
        ]
        for q in affected:
            queue = self.queues.get(q)
            for agent in self.agents.values():
                self.members.setdefault(agent.id, set()).discard(q)
                self.serves.setdefault(agent.id, set()).discard(q)
            if queue is not None:
                for agent_id in self._candidates(queue):
                    self._place(self.agents[agent_id], queue)

    def _candidates(self, queue: Queue) -> set[str] | list[str]:
        """Agents who may be in the queue's pools: those with all its skills (any level),
        unless overflow reaches into other groups' or queues' agents."""
        config = queue.config
        if not config.skills or any(s.add_queues for s in config.overflow):
            return list(self.agents)
        sets = [self.agents_by_skill.get(skill, set()) for skill in config.skills]
        return set.intersection(*sets)

    def _place(self, agent: Agent, queue: Queue) -> None:
        if base_pool_holds(queue.config, agent.config):
            self.members.setdefault(agent.id, set()).add(queue.id)
        if could_serve(queue.config, agent.config, self.queues):
            self.serves.setdefault(agent.id, set()).add(queue.id)

    def next_deadline(self) -> datetime | None:
        return self.deadlines[0].when if self.deadlines else None


def waited(call: Call, now: datetime) -> float:
    """Seconds waited since this wait began (a transferred call: since the transfer)."""
    return max(0.0, (now - (call.queued_at or call.enqueued_at)).total_seconds())


def _midnight(at: datetime) -> datetime:
    return datetime.combine(at.date(), time(), tzinfo=at.tzinfo)


def sort_key(config: QueueConfig, priority: int, at: datetime, seq: int) -> tuple[float, int]:
    """Calls of a queue in service order: priority with aging.

    score(t) = (t - enqueued) + priority * step. Every call of a queue ages at
    the same rate, so ordering by ``enqueued - priority * step`` (lowest first)
    is ordering by score at any instant, and never has to be recomputed.
    """
    return (at.timestamp() - priority * config.priority_step_seconds, seq)


# -- evolve -------------------------------------------------------------------------


def evolve(state: RoutingState, event: ev.RoutingEvent) -> RoutingState:
    apply = _APPLY.get(type(event))
    if apply is not None:
        apply(state, event)
    state.version += 1
    return state


def _schedule(state: RoutingState, when: datetime, kind: DeadlineKind, key: str) -> None:
    state.seq += 1
    heapq.heappush(state.deadlines, Deadline(when, state.seq, kind, key))


def _set_status(state: RoutingState, agent: Agent, status: AgentStatus, at: datetime) -> None:
    was_staffed = agent.status in STAFFED
    if agent.status == "ready":
        state.ready.pop(agent.id, None)
        for skill in agent.config.skills:
            state.ready_by_skill.get(skill, set()).discard(agent.id)
    _count_state_time(agent, at)
    agent.status = status
    agent.since = at
    if status == "ready":
        state.ready[agent.id] = None
        for skill in agent.config.skills:
            state.ready_by_skill.setdefault(skill, set()).add(agent.id)
    if was_staffed != (status in STAFFED):
        for queue_id in state.members.get(agent.id, ()):
            state.queues[queue_id].staffed += 1 if status in STAFFED else -1


def _count_state_time(agent: Agent, at: datetime) -> None:
    if agent.since is None or agent.status == "logged_out":
        return
    start = agent.since
    if agent.state_day != at.date():
        agent.state_day = at.date()
        agent.state_seconds = {}
        start = max(start, _midnight(at))
    seconds = agent.state_seconds.get(agent.status, 0.0) + (at - start).total_seconds()
    agent.state_seconds[agent.status] = seconds


def _becomes_free(state: RoutingState, agent: Agent, at: datetime) -> None:
    agent.call_id = None
    agent.reason = None
    agent.idle_since = at
    _set_status(state, agent, "ready", at)


def _queue_configured(state: RoutingState, event: ev.QueueConfigured) -> None:
    config = QueueConfig.model_validate(event.config)
    queue = state.queues.get(event.queue_id)
    if queue is None:
        queue = state.queues[event.queue_id] = Queue(event.queue_id, config)
    queue.config = config
    state.index_queue_skills(queue)
    state.reindex_queue(queue.id)
    queue.staffed = sum(
        1
        for agent in state.agents.values()
        if agent.status in STAFFED and queue.id in state.members.get(agent.id, ())
    )


def _queue_removed(state: RoutingState, event: ev.QueueRemoved) -> None:
    queue = state.queues.pop(event.queue_id, None)
    if queue is not None:
        for queues in state.queues_by_skill.values():
            queues.discard(queue.id)
        state.open_queues.discard(queue.id)
    state.reindex_queue(event.queue_id)


def _agent_configured(state: RoutingState, event: ev.AgentConfigured) -> None:
    config = AgentConfig.model_validate(event.config)
    agent = state.agents.get(event.agent_id)
    if agent is None:
        agent = state.agents[event.agent_id] = Agent(event.agent_id, config)
        _index_skills(state, agent)
        state.reindex_agent(agent)
        return
    status = agent.status
    _set_status(state, agent, "logged_out", event.at)  # leave every index under the old skills
    for skill in agent.config.skills:
        state.agents_by_skill.get(skill, set()).discard(agent.id)
    agent.config = config
    _index_skills(state, agent)
    state.reindex_agent(agent)
    _set_status(state, agent, status, event.at)


def _index_skills(state: RoutingState, agent: Agent) -> None:
    for skill in agent.config.skills:
        state.agents_by_skill.setdefault(skill, set()).add(agent.id)


def _logged_in(state: RoutingState, event: ev.AgentLoggedIn) -> None:
    agent = state.agents[event.agent_id]
    agent.misses = 0
    agent.reason = "logged_in"
    _set_status(state, agent, "not_ready", event.at)


def _ready(state: RoutingState, event: ev.AgentReady) -> None:
    agent = state.agents[event.agent_id]
    agent.misses = 0
    agent.wrap_until = None
    _becomes_free(state, agent, event.at)


def _not_ready(state: RoutingState, event: ev.AgentNotReady) -> None:
    agent = state.agents[event.agent_id]
    agent.reason = event.reason
    agent.wrap_until = None
    _set_status(state, agent, "not_ready", event.at)


def _logged_out(state: RoutingState, event: ev.AgentLoggedOut) -> None:
    agent = state.agents[event.agent_id]
    agent.reason = None
    agent.call_id = None
    agent.wrap_until = None
    _set_status(state, agent, "logged_out", event.at)


def _queued(state: RoutingState, event: ev.CallQueued) -> None:
    queue = state.queues[event.queue_id]
    state.seq += 1
    enqueued_at = event.enqueued_at or event.at
    call = Call(
        id=event.call_id,
        queue_id=event.queue_id,
        priority=event.priority,
        skills=dict(event.skills),
        enqueued_at=enqueued_at,
        queued_at=event.at,
        sort_key=sort_key(queue.config, event.priority, enqueued_at, state.seq),
        customer_id=event.customer_id,
        ani=event.ani,
        preferred_agent_id=event.preferred_agent_id,
        callback_number=event.callback_number,
    )
    state.calls[call.id] = call
    state.identified.pop(call.id, None)
    bisect.insort(queue.order, (call.sort_key, call.id))
    config = queue.config
    if call.preferred_agent_id and config.preferred_agent_seconds:
        _schedule(state, _after(event.at, config.preferred_agent_seconds), "preferred", call.id)
    if config.max_wait_seconds:
        _schedule(state, _after(event.at, config.max_wait_seconds), "max_wait", call.id)
    _schedule_next_overflow(state, call)


def _schedule_next_overflow(state: RoutingState, call: Call) -> None:
    steps = state.queues[call.queue_id].config.overflow
    for step in steps[call.step + 1 :]:
        if step.after_seconds is not None:
            _schedule(state, _after(call.queued_at, step.after_seconds), "overflow", call.id)
            return


def _offered(state: RoutingState, event: ev.CallOffered) -> None:
    call = state.calls[event.call_id]
    agent = state.agents[event.agent_id]
    call.status = "offered"
    call.offers[agent.id] = event.offer_expires_at
    call.offered_at = call.offered_at if len(call.offers) > 1 else event.at
    call.explanation = event.explanation
    queue = state.queues[event.queue_id]
    queue.last_agent = agent.id
    if event.explanation.get("strategy") == "random":
        queue.draws += 1
    agent.call_id = call.id
    _set_status(state, agent, "offered", event.at)
    _schedule(state, event.offer_expires_at, "offer", f"{call.id}|{agent.id}")


def _withdraw_offer(state: RoutingState, call: Call, agent: Agent) -> None:
    call.offers.pop(agent.id, None)
    if not call.offers and call.status == "offered":
        call.status = "waiting"
        call.offered_at = None


def _declined(state: RoutingState, event: ev.CallOfferDeclined) -> None:
    call = state.calls[event.call_id]
    agent = state.agents[event.agent_id]
    _withdraw_offer(state, call, agent)
    call.declined.add(agent.id)
    if event.reason == "timed_out":
        agent.misses += 1
    if agent.status == "offered" and agent.call_id == call.id:
        agent.call_id = None
        _set_status(state, agent, "ready", event.at)


def _offer_cancelled(state: RoutingState, event: ev.CallOfferCancelled) -> None:
    call = state.calls.get(event.call_id)
    agent = state.agents[event.agent_id]
    if call is not None:
        _withdraw_offer(state, call, agent)
    if agent.status == "offered" and agent.call_id == event.call_id:
        agent.call_id = None
        _set_status(state, agent, "ready", event.at)


def _overflowed(state: RoutingState, event: ev.CallOverflowed) -> None:
    call = state.calls[event.call_id]
    call.step = event.to_step
    call.declined.clear()  # a wider pool: everyone may be asked again
    _schedule_next_overflow(state, call)


def _answered(state: RoutingState, event: ev.CallAnswered) -> None:
    call = state.calls[event.call_id]
    agent = state.agents[event.agent_id]
    queue = state.queues.get(call.queue_id)
    if queue is not None:
        _leave_queue_order(queue, call)
        queue.answered += 1
    call.offers.clear()
    call.status = "connected"
    call.agent_id = agent.id
    call.answered_at = event.at
    if call.answer_wait is None:
        call.answer_wait = event.wait
    agent.last_call = (call.id, call.queue_id, call.customer_id)
    if call.customer_id:
        state.last_agent[call.customer_id] = agent.id
    agent.call_id = call.id
    agent.misses = 0
    _count_today(agent, event.at)
    agent.calls_today += 1
    _set_status(state, agent, "on_call", event.at)


def _leave_queue_order(queue: Queue, call: Call) -> None:
    index = bisect.bisect_left(queue.order, (call.sort_key, call.id))
    if index < len(queue.order) and queue.order[index][1] == call.id:
        del queue.order[index]


def _count_today(agent: Agent, at: datetime) -> None:
    if agent.day != at.date():
        agent.day = at.date()
        agent.calls_today = 0
        agent.talk_today = 0.0


def _left_queue(state: RoutingState, call_id: str) -> None:
    call = state.calls.pop(call_id, None)
    if call is not None and call.queue_id in state.queues:
        _leave_queue_order(state.queues[call.queue_id], call)


def _abandoned(state: RoutingState, event: ev.CallAbandoned) -> None:
    _left_queue(state, event.call_id)


def _exited(state: RoutingState, event: ev.CallExitedQueue) -> None:
    _left_queue(state, event.call_id)


def _ended(state: RoutingState, event: ev.CallEnded) -> None:
    if event.transferred:
        call = state.calls.get(event.call_id)
    else:
        call = state.calls.pop(event.call_id, None)
    if not event.transferred:
        _campaign_call_ended(state, event.call_id)
    agent = state.agents[event.agent_id]
    _count_today(agent, event.at)
    agent.talk_today += event.talk
    queue = state.queues.get(call.queue_id if call else event.queue_id)
    if queue is not None:
        handle = event.talk + event.hold + queue.config.wrap_up_seconds
        queue.handle_seconds += HANDLE_SMOOTHING * (handle - queue.handle_seconds)


def _wrap_up_started(state: RoutingState, event: ev.AgentWrapUpStarted) -> None:
    agent = state.agents[event.agent_id]
    agent.call_id = event.call_id
    agent.wrap_until = event.wrap_until
    _set_status(state, agent, "wrap_up", event.at)
    if event.wrap_until is not None:
        _schedule(state, event.wrap_until, "wrap_up", agent.id)


def _wrap_up_ended(state: RoutingState, event: ev.AgentWrapUpEnded) -> None:
    if event.call_id not in state.calls:
        state.campaign_calls.pop(event.call_id, None)  # no disposition after wrap-up
    agent = state.agents[event.agent_id]
    agent.wrap_until = None
    _becomes_free(state, agent, event.at)


def _callback_requested(state: RoutingState, event: ev.CallbackRequested) -> None:
    call = state.calls[event.call_id]
    call.callback_number = event.number


def _callback_completed(state: RoutingState, event: ev.CallbackCompleted) -> None:
    call = state.calls.get(event.call_id)
    if call is None:
        return
    call.callback_attempt = event.attempt
    if event.outcome in ("gave_up", "cancelled"):
        _left_queue(state, call.id)
        return
    if event.retry_at is None:
        return
    # Not answered: back in its place in the queue, waiting for the retry time.
    agent = state.agents.get(call.agent_id or "")
    if agent is not None and agent.call_id == call.id and agent.status == "on_call":
        agent.call_id = None
    call.status = "waiting"
    call.agent_id = None
    call.answered_at = None
    call.held_since = None
    call.hold_total = 0.0
    call.muted = False
    call.declined.clear()
    call.not_before = event.retry_at
    queue = state.queues.get(call.queue_id)
    if queue is not None:
        bisect.insort(queue.order, (call.sort_key, call.id))
    _schedule(state, event.retry_at, "callback_retry", call.id)


def _deadlines_passed(state: RoutingState, event: ev.DeadlinesPassed) -> None:
    while state.deadlines and state.deadlines[0].when <= event.at:
        deadline = heapq.heappop(state.deadlines)
        if deadline.kind == "forget_identity":
            state.identified.pop(deadline.key, None)


def _customer_identified(state: RoutingState, event: ev.CallCustomerIdentified) -> None:
    call = state.calls.get(event.call_id)
    if call is None:
        state.identified[event.call_id] = (event.customer_id, event.preferred_agent_id)
        _schedule(state, _after(event.at, IDENTITY_KEPT_SECONDS), "forget_identity", event.call_id)
        return
    call.customer_id = event.customer_id
    if event.preferred_agent_id and not call.preferred_agent_id:
        call.preferred_agent_id = event.preferred_agent_id
        window = state.queues[call.queue_id].config.preferred_agent_seconds
        _schedule(state, _after(call.queued_at or call.enqueued_at, window), "preferred", call.id)


# -- call handling ---------------------------------------------------------------------


def _held(state: RoutingState, event: ev.CallHeld) -> None:
    state.calls[event.call_id].held_since = event.at


def _resumed(state: RoutingState, event: ev.CallResumed) -> None:
    call = state.calls[event.call_id]
    call.held_since = None
    call.hold_total += event.hold


def _muted(state: RoutingState, event: ev.CallMuted) -> None:
    state.calls[event.call_id].muted = True


def _unmuted(state: RoutingState, event: ev.CallUnmuted) -> None:
    state.calls[event.call_id].muted = False


def _joins(state: RoutingState, call: Call, agent_id: str, kind: PartyKind, at: datetime) -> None:
    agent = state.agents[agent_id]
    call.party_agent_id = agent_id
    call.party_kind = kind
    call.party_since = at
    agent.call_id = call.id
    _set_status(state, agent, "on_call", at)


def _leaves(state: RoutingState, call: Call, at: datetime) -> None:
    agent = state.agents[call.party_agent_id or ""]
    call.party_agent_id = call.party_kind = call.party_since = None
    _becomes_free(state, agent, at)


def _consult_started(state: RoutingState, event: ev.CallConsultStarted) -> None:
    _joins(state, state.calls[event.call_id], event.consult_agent_id, "consult", event.at)


def _consult_ended(state: RoutingState, event: ev.CallConsultEnded) -> None:
    _leaves(state, state.calls[event.call_id], event.at)


def _conferenced(state: RoutingState, event: ev.CallConferenced) -> None:
    _joins(state, state.calls[event.call_id], event.party_agent_id, "conference", event.at)


def _party_left(state: RoutingState, event: ev.CallPartyLeft) -> None:
    _leaves(state, state.calls[event.call_id], event.at)


def _transferred(state: RoutingState, event: ev.CallTransferred) -> None:
    """The agent's part ends (its ``CallEnded`` follows); where the caller goes next
    comes with the events after: ``CallQueued`` (a queue), ``CallOffered`` (an agent),
    ``CallAnswered`` (the consulted or conferenced agent), or nothing (external)."""
    if event.kind == "external":
        _left_queue(state, event.call_id)
        return
    call = state.calls[event.call_id]
    call.agent_id = None
    call.callback_number = None  # a callback reached is a live caller from now on
    call.held_since = None
    call.hold_total = 0.0
    call.muted = False
    call.party_agent_id = call.party_kind = call.party_since = None
    if event.kind == "blind" and event.to_agent_id:
        # Back in its place in its queue, ringing the named agent; if they do not
        # answer, it waits there like any caller.
        call.status = "waiting"
        call.answered_at = None
        call.queued_at = event.at
        call.preferred_agent_id = None  # the transfer named its agent
        call.declined.clear()
        queue = state.queues.get(call.queue_id)
        if queue is not None:
            bisect.insort(queue.order, (call.sort_key, call.id))
            if queue.config.max_wait_seconds:
                _schedule(
                    state, _after(event.at, queue.config.max_wait_seconds), "max_wait", call.id
                )
            _schedule_next_overflow(state, call)


def _supervisor_joined(state: RoutingState, event: ev.SupervisorJoined) -> None:
    call = state.calls[event.call_id]
    if event.mode == "takeover":
        # The agent's part ends next (CallEnded, transferred) and the supervisor answers.
        call.supervisors.pop(event.supervisor_id, None)
        call.agent_id = None
        call.held_since = None
        call.hold_total = 0.0
        call.muted = False
        return
    call.supervisors[event.supervisor_id] = (event.mode, event.at)


def _supervisor_left(state: RoutingState, event: ev.SupervisorLeft) -> None:
    call = state.calls.get(event.call_id)
    if call is not None:
        call.supervisors.pop(event.supervisor_id, None)


# -- outbound campaigns -----------------------------------------------------------------


def _campaign_configured(state: RoutingState, event: ev.CampaignConfigured) -> None:
    config = CampaignConfig.model_validate(event.config)
    campaign = state.campaigns.get(event.campaign_id)
    if campaign is None:
        state.campaigns[event.campaign_id] = Campaign(event.campaign_id, config)
    else:
        campaign.config = config


def _contacts_added(state: RoutingState, event: ev.CampaignContactsAdded) -> None:
    campaign = state.campaigns[event.campaign_id]
    for data in event.contacts:
        campaign.add(contact_from_event(data))


def _contacts_screened(state: RoutingState, event: ev.ContactsScreened) -> None:
    campaign = state.campaigns[event.campaign_id]
    for result in event.results:
        contact = campaign.contacts.get(result.get("contact_id", ""))
        if contact is None:
            continue
        contact.screened = True
        contact.consent = {k: bool(v) for k, v in (result.get("consent") or {}).items()}
        contact.customer_id = result.get("customer_id") or contact.customer_id
        if contact.status == "pending" and not consent_allows(contact, campaign.config.marketing):
            contact.status = "done"  # never to be called in this campaign
            contact.last_outcome = "no_consent"


def _campaign_status(status: str):
    def apply(state: RoutingState, event) -> None:
        state.campaigns[event.campaign_id].status = status

    return apply


def _contact_attempted(state: RoutingState, event: ev.ContactAttempted) -> None:
    campaign = state.campaigns[event.campaign_id]
    contact = campaign.contacts[event.contact_id]
    contact.status = "dialing"
    contact.attempts = event.attempt
    contact.call_id = event.call_id
    campaign.mark_attempted(contact)
    campaign.attempted += 1
    state.numbers_in_use[contact.number] = event.call_id
    preview = event.mode == "preview"
    state.legs[event.call_id] = Leg(
        call_id=event.call_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        number=contact.number,
        status="preview" if preview else "dialing",
        since=event.at,
        agent_id=event.agent_id,
    )
    if event.agent_id:
        agent = state.agents[event.agent_id]
        agent.call_id = event.call_id
        _set_status(state, agent, "offered", event.at)
    if preview:
        _schedule(
            state, _after(event.at, campaign.config.preview_seconds), "preview", event.call_id
        )


def _outbound_requested(state: RoutingState, event: ev.OutboundCallRequested) -> None:
    leg = state.legs.get(event.call_id)
    if leg is None:
        return
    leg.status = "dialing"
    leg.since = event.at
    # The edge reports every leg; if it never does, the leg fails after this.
    _schedule(state, _after(event.at, event.timeout + 30), "outbound", event.call_id)


def _contact_connecting(state: RoutingState, event: ev.ContactConnecting) -> None:
    leg = state.legs[event.call_id]
    leg.status = "connecting"
    leg.since = event.at
    _release_reserved(state, leg, event.at)
    wait = state.campaigns[event.campaign_id].config.pacing.abandon_wait_seconds
    _schedule(state, _after(event.at, wait), "abandon", event.call_id)


def _release_reserved(state: RoutingState, leg: Leg, at: datetime) -> None:
    agent = state.agents.get(leg.agent_id or "")
    leg.agent_id = None
    if agent is not None and agent.status == "offered" and agent.call_id == leg.call_id:
        agent.call_id = None
        _set_status(state, agent, "ready", at)


def _sample_answer(campaign: Campaign, answered: bool, at: datetime) -> None:
    campaign.answer_rate += ANSWER_SMOOTHING * ((1.0 if answered else 0.0) - campaign.answer_rate)
    if not answered:
        return
    day = at.date().isoformat()
    if campaign.day != day:
        campaign.day, campaign.answered_today, campaign.abandoned_today = day, 0, 0
    campaign.answered_today += 1


def _contact_answered(state: RoutingState, event: ev.ContactAnswered) -> None:
    leg = state.legs.pop(event.call_id)
    campaign = state.campaigns[event.campaign_id]
    contact = campaign.contacts[event.contact_id]
    contact.status = "talking"
    campaign.reached += 1
    _sample_answer(campaign, True, event.at)
    agent = state.agents[event.agent_id]
    state.seq += 1
    call = Call(
        id=event.call_id,
        queue_id=event.queue_id,
        priority=0,
        skills={},
        enqueued_at=leg.since,
        queued_at=leg.since,
        sort_key=(0.0, state.seq),
        customer_id=contact.customer_id,
        ani=contact.number,
        status="connected",
        agent_id=agent.id,
        answered_at=event.at,
        answer_wait=event.wait,
        campaign_id=campaign.id,
        contact_id=contact.id,
    )
    state.calls[call.id] = call
    state.campaign_calls[call.id] = (campaign.id, contact.id)
    agent.last_call = (call.id, call.queue_id, call.customer_id)
    agent.call_id = call.id
    agent.misses = 0
    _count_today(agent, event.at)
    agent.calls_today += 1
    _set_status(state, agent, "on_call", event.at)


def _leg_over(state: RoutingState, call_id: str, at: datetime) -> tuple[Campaign, Leg]:
    leg = state.legs.pop(call_id)
    _release_reserved(state, leg, at)
    if state.numbers_in_use.get(leg.number) == call_id:
        del state.numbers_in_use[leg.number]
    return state.campaigns[leg.campaign_id], leg


def _retry_later(state: RoutingState, campaign: Campaign, contact_id: str, when) -> None:
    contact = campaign.contacts[contact_id]
    contact.call_id = None
    if when is None:
        contact.status = "done"
        return
    campaign.retry(contact, when)
    _schedule(state, when, "campaign", campaign.id)


def _contact_not_reached(state: RoutingState, event: ev.ContactNotReached) -> None:
    campaign, leg = _leg_over(state, event.call_id, event.at)
    _sample_answer(campaign, False, event.at)
    campaign.contacts[leg.contact_id].last_outcome = event.outcome
    _retry_later(state, campaign, leg.contact_id, event.retry_at)


def _contact_abandoned(state: RoutingState, event: ev.ContactAbandoned) -> None:
    campaign, leg = _leg_over(state, event.call_id, event.at)
    _sample_answer(campaign, True, event.at)
    campaign.abandoned += 1
    campaign.abandoned_today += 1
    contact = campaign.contacts[leg.contact_id]
    contact.last_outcome = "abandoned"
    when = retry_at(campaign.config, "abandoned", contact.attempts, event.at)
    _retry_later(state, campaign, leg.contact_id, when)


def _campaign_call_ended(state: RoutingState, call_id: str) -> None:
    """The conversation is over: the number is free; the contact is done unless a
    callback was asked for (with attempts left)."""
    link = state.campaign_calls.get(call_id)
    if link is None:
        return
    campaign = state.campaigns.get(link[0])
    contact = campaign.contacts.get(link[1]) if campaign else None
    if contact is None:
        return
    if state.numbers_in_use.get(contact.number) == call_id:
        del state.numbers_in_use[contact.number]
    contact.call_id = None
    callback = contact.next_at is not None and contact.attempts < campaign.config.max_attempts
    contact.status = "done"
    if callback:
        campaign.retry(contact, contact.next_at)
        _schedule(state, contact.next_at, "campaign", campaign.id)


def _contact_dispositioned(state: RoutingState, event: ev.ContactDispositioned) -> None:
    campaign = state.campaigns.get(event.campaign_id)
    contact = campaign.contacts.get(event.contact_id) if campaign else None
    if contact is None:
        return
    campaign.dispositioned += 1
    if event.completed and not contact.completed:
        campaign.completed += 1
    contact.completed = contact.completed or event.completed
    contact.last_outcome = event.disposition
    if contact.status == "talking":
        contact.next_at = event.callback_at  # applies when the call ends
    elif event.callback_at is not None and contact.attempts < campaign.config.max_attempts:
        campaign.retry(contact, event.callback_at)
        _schedule(state, event.callback_at, "campaign", campaign.id)


def _dnc_set(state: RoutingState, event: ev.DoNotCallListSet) -> None:
    state.dnc = set(event.numbers)


def _settings_configured(state: RoutingState, event: ev.RoutingSettingsConfigured) -> None:
    state.settings = TenantSettings.model_validate(event.config)


def _after(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)


_APPLY = {
    ev.QueueConfigured: _queue_configured,
    ev.QueueRemoved: _queue_removed,
    ev.AgentConfigured: _agent_configured,
    ev.AgentLoggedIn: _logged_in,
    ev.AgentReady: _ready,
    ev.AgentNotReady: _not_ready,
    ev.AgentLoggedOut: _logged_out,
    ev.CallQueued: _queued,
    ev.CallOffered: _offered,
    ev.CallOfferDeclined: _declined,
    ev.CallOfferCancelled: _offer_cancelled,
    ev.CallOverflowed: _overflowed,
    ev.CallAnswered: _answered,
    ev.CallAbandoned: _abandoned,
    ev.CallExitedQueue: _exited,
    ev.CallEnded: _ended,
    ev.AgentWrapUpStarted: _wrap_up_started,
    ev.AgentWrapUpEnded: _wrap_up_ended,
    ev.CallbackRequested: _callback_requested,
    ev.CallbackCompleted: _callback_completed,
    ev.DeadlinesPassed: _deadlines_passed,
    ev.CallCustomerIdentified: _customer_identified,
    ev.CallHeld: _held,
    ev.CallResumed: _resumed,
    ev.CallMuted: _muted,
    ev.CallUnmuted: _unmuted,
    ev.CallConsultStarted: _consult_started,
    ev.CallConsultEnded: _consult_ended,
    ev.CallConferenced: _conferenced,
    ev.CallPartyLeft: _party_left,
    ev.CallTransferred: _transferred,
    ev.RoutingSettingsConfigured: _settings_configured,
    ev.SupervisorJoined: _supervisor_joined,
    ev.SupervisorLeft: _supervisor_left,
    ev.CampaignConfigured: _campaign_configured,
    ev.CampaignContactsAdded: _contacts_added,
    ev.ContactsScreened: _contacts_screened,
    ev.CampaignStarted: _campaign_status("running"),
    ev.CampaignResumed: _campaign_status("running"),
    ev.CampaignPaused: _campaign_status("paused"),
    ev.CampaignCompleted: _campaign_status("completed"),
    ev.ContactAttempted: _contact_attempted,
    ev.OutboundCallRequested: _outbound_requested,
    ev.ContactConnecting: _contact_connecting,
    ev.ContactAnswered: _contact_answered,
    ev.ContactNotReached: _contact_not_reached,
    ev.ContactAbandoned: _contact_abandoned,
    ev.ContactDispositioned: _contact_dispositioned,
    ev.DoNotCallListSet: _dnc_set,
}
