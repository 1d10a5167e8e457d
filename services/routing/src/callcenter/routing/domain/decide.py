"""``decide``: what the ACD does about a command, at ``now``.

``decide(command, state, now)`` returns the events the command causes, and has
applied each of them to ``state`` through ``evolve`` as it went: a decision is
a sequence (an answer frees other ringing agents, who then take the next
caller), and each step must see the one before. ``evolve`` stays the only
thing that changes state, so replaying the returned events on a fresh state
rebuilds it exactly. A refused command raises ``RoutingError`` before it emits
anything, so a refusal changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from callcenter.events.catalogue import routing as ev
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import QueueConfig
from callcenter.routing.domain.errors import Conflict, Invalid, NotFound
from callcenter.routing.domain.hours import is_open
from callcenter.routing.domain.pools import (
    added_queues,
    base_pool_holds,
    eligible_by_skills,
    requirements,
)
from callcenter.routing.domain.state import (
    Agent,
    Call,
    Queue,
    RoutingState,
    evolve,
    sort_key,
    waited,
)

EXPLAINED_CANDIDATES = 10
MISSED_OFFERS_REASON = "missed_offers"


def decide(command: cmd.Command, state: RoutingState, now: datetime) -> list[ev.RoutingEvent]:
    decision = _Decision(state, now)
    handler = _HANDLERS[type(command)]
    handler(decision, command)
    if state.campaigns:
        dialer.run(decision)  # a freed agent, a retry due, a window open: dial now
    return decision.events


def estimated_wait(state: RoutingState, queue: Queue, position: int) -> float | None:
    """EWT: the callers ahead that no free agent will take, x average handle time
    / agents staffing the queue (an agent frees up every AHT/N on average).

    The average handle time (talk + hold + wrap-up) is smoothed over the
    queue's recent calls; with nobody staffing the queue it is unknown.
    """
    if queue.staffed <= 0:
        return None
    free = sum(1 for agent_id in state.ready if queue.id in state.members.get(agent_id, ()))
    ahead = max(0, position - free)
    return round(ahead * queue.handle_seconds / queue.staffed, 1)


def call_view(state: RoutingState, call: Call, now: datetime) -> dict[str, Any]:
    """What ``GET /v1/calls/{id}`` shows of a call the ACD holds."""
    queue = state.queues.get(call.queue_id)
    in_queue = call.status != "connected" and queue is not None
    position = state.queue_position(call) if in_queue else None
    return {
        "call_id": call.id,
        "queue_id": call.queue_id,
        "status": "callback" if call.callback_number and in_queue else call.status,
        "priority": call.priority,
        "skills": call.skills,
        "customer_id": call.customer_id,
        "enqueued_at": call.enqueued_at,
        "waited": waited(call, now) if in_queue else None,
        "position": position,
        "ewt": estimated_wait(state, queue, position) if in_queue and position else None,
        "overflow_step": call.step,
        "offered_to": sorted(call.offers),
        "agent_id": call.agent_id,
        "answered_at": call.answered_at,
        "callback_number": call.callback_number,
        "callback_attempt": call.callback_attempt,
        "on_hold": call.held_since is not None,
        "hold_seconds": round(call.hold_until(now), 1) if call.status == "connected" else 0.0,
        "muted": call.muted,
        "party_agent_id": call.party_agent_id,
        "party_kind": call.party_kind,
        "supervisors": [
            {"supervisor_id": sid, "mode": mode, "since": since}
            for sid, (mode, since) in sorted(call.supervisors.items())
        ],
        "explanation": call.explanation,
    }


class _Decision:
    def __init__(self, state: RoutingState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.events: list[ev.RoutingEvent] = []

    def emit(self, event: ev.RoutingEvent) -> None:
        evolve(self.state, event)
        self.events.append(event)

    # -- lookups with the errors a caller sees ---------------------------------------

    def queue(self, queue_id: str) -> Queue:
        try:
            return self.state.queues[queue_id]
        except KeyError:
            raise NotFound(f"queue {queue_id!r} does not exist") from None

    def agent(self, agent_id: str) -> Agent:
        try:
            return self.state.agents[agent_id]
        except KeyError:
            raise NotFound(f"agent {agent_id!r} does not exist") from None

    def call(self, call_id: str) -> Call:
        try:
            return self.state.calls[call_id]
        except KeyError:
            raise NotFound(f"call {call_id!r} is not in any queue or conversation") from None

    def connected_to(self, call_id: str, agent_id: str) -> Call:
        """The call, which must be connected to this agent (the one holding the caller)."""
        call = self.call(call_id)
        self.agent(agent_id)
        if call.status != "connected":
            raise Conflict(f"call {call_id!r} is not connected to an agent: it is {call.status}")
        if call.agent_id != agent_id:
            raise Conflict(f"call {call_id!r} is with agent {call.agent_id!r}, not {agent_id!r}")
        return call

    def free_agent(self, agent_id: str, caller: str) -> Agent:
        """An agent who may take part in a call now: ready, and not the agent acting."""
        agent = self.agent(agent_id)
        if agent_id == caller:
            raise Conflict(f"agent {agent_id!r} is already on the call")
        if agent.status != "ready":
            raise Conflict(describe(agent))
        return agent

    def logged_in(self, agent_id: str) -> Agent:
        agent = self.agent(agent_id)
        if agent.status == "logged_out":
            raise Conflict(f"agent {agent_id!r} is not logged in")
        return agent

    # -- dispatch ------------------------------------------------------------------------

    def dispatch_call(self, call: Call) -> None:
        """Offer a waiting call to the agent(s) its queue's strategy picks, if any is free."""
        if call.status != "waiting" or (call.not_before and self.now < call.not_before):
            return
        queue = self.state.queues.get(call.queue_id)
        if queue is None:
            return
        config = queue.config
        if (
            config.max_wait_seconds is not None
            and waited(call, self.now) >= config.max_wait_seconds
            and not call.callback_number
        ):
            self.emit(
                ev.CallExitedQueue(
                    at=self.now,
                    call_id=call.id,
                    queue_id=queue.id,
                    reason="max_wait",
                    wait=waited(call, self.now),
                )
            )
            return
        pool = self.pool(call, queue)
        while not pool and self.overflow(call, queue, no_agent_ready=True):
            pool = self.pool(call, queue)
        if not pool:
            return
        chosen, explanation = choose(queue, call, pool, self.now)
        expires = self.now + timedelta(seconds=config.ring_timeout_seconds)
        for agent in chosen:
            self.emit(
                ev.CallOffered(
                    at=self.now,
                    call_id=call.id,
                    agent_id=agent.id,
                    queue_id=queue.id,
                    offer_expires_at=expires,
                    explanation=explanation,
                )
            )
            if call.callback_number:
                self.emit(
                    ev.CallbackOffered(
                        at=self.now,
                        callback_id=callback_id(call.id),
                        call_id=call.id,
                        number=call.callback_number,
                        queue_id=queue.id,
                        agent_id=agent.id,
                    )
                )

    def dispatch_agent(self, agent: Agent) -> None:
        """Offer a ready agent the best waiting call it may take, across its queues.
        A campaign's callee already answered and waiting for an agent comes first: they
        are abandoned within seconds, an inbound caller can wait."""
        if agent.status != "ready":
            return
        if self.state.legs and dialer.take_connecting(self, agent):
            return
        best: Call | None = None
        best_score = 0.0
        for queue_id in self.state.serves.get(agent.id, ()):
            queue = self.state.queues[queue_id]
            for _, call_id in queue.order:
                call = self.state.calls[call_id]
                if call.status != "waiting" or (call.not_before and self.now < call.not_before):
                    continue
                if self.eligible(agent, call, queue):
                    score = call_score(queue.config, call, self.now)
                    # Ties go to the smaller call id: nothing depends on dict order.
                    if best is None or (score, best.id) > (best_score, call.id):
                        best, best_score = call, score
                    break  # the queue's order is its service order: the first fits best
        if best is not None:
            self.dispatch_call(best)
            left = self.state.calls.get(best.id)
            if agent.status == "ready" and (left is None or left.status != "waiting"):
                # The queue's strategy gave that caller to another free agent (ready at
                # the same instant): this one takes the next caller.
                self.dispatch_agent(agent)

    def dispatch_freed(self, agents: Iterable[Agent]) -> None:
        for agent in agents:
            self.dispatch_agent(agent)

    def dispatch_all(self) -> None:
        for queue in sorted(self.state.queues.values(), key=lambda q: q.id):
            for _, call_id in list(queue.order):
                call = self.state.calls.get(call_id)
                if call is not None:
                    self.dispatch_call(call)

    def pool(self, call: Call, queue: Queue) -> list[Agent]:
        """The ready agents this call may be offered to now."""
        state = self.state
        preferred = self.preferred_only(call, queue)
        if preferred:
            agent = state.agents.get(preferred)
            ok = agent is not None and agent.status == "ready" and self.eligible(agent, call, queue)
            return [agent] if ok else []
        required = requirements(queue.config, call)
        if required:
            smallest = min(required, key=lambda skill: len(state.ready_by_skill.get(skill, ())))
            candidates: Iterable[str] = sorted(state.ready_by_skill.get(smallest, ()))
        else:
            candidates = list(state.ready)
        pool = [
            state.agents[agent_id]
            for agent_id in candidates
            if agent_id not in call.declined and self.eligible(state.agents[agent_id], call, queue)
        ]
        for extra in added_queues(queue.config, call.step):
            other = state.queues.get(extra)
            if other is None:
                continue
            known = {agent.id for agent in pool}
            pool += [
                state.agents[agent_id]
                for agent_id in list(state.ready)
                if agent_id not in known
                and agent_id not in call.declined
                and base_pool_holds(other.config, state.agents[agent_id].config)
            ]
        return pool

    def preferred_only(self, call: Call, queue: Queue) -> str | None:
        """The preferred agent, while the call waits for them alone."""
        preferred = call.preferred_agent_id
        if preferred and waited(call, self.now) < queue.config.preferred_agent_seconds:
            return preferred
        return None

    def eligible(self, agent: Agent, call: Call, queue: Queue) -> bool:
        if agent.id in call.declined:
            return False
        preferred = self.preferred_only(call, queue)
        if preferred and preferred != agent.id:
            return False
        config = queue.config
        if eligible_by_skills(config, call, agent.config):
            return True
        return any(
            extra in self.state.queues
            and base_pool_holds(self.state.queues[extra].config, agent.config)
            for extra in added_queues(config, call.step)
        )

    def overflow(self, call: Call, queue: Queue, no_agent_ready: bool) -> bool:
        """Move the call to the next overflow step whose condition holds now."""
        steps = queue.config.overflow
        for index in range(call.step + 1, len(steps)):
            step = steps[index]
            condition = ""
            if step.after_seconds is not None and waited(call, self.now) >= step.after_seconds:
                condition = f"waited {step.after_seconds:g}s"
            elif (
                step.when_queue_length_at_least is not None
                and len(queue.order) >= step.when_queue_length_at_least
            ):
                condition = f"queue length >= {step.when_queue_length_at_least}"
            elif step.when_no_agent_ready and no_agent_ready:
                condition = "no eligible agent ready"
            if condition:
                self.emit(
                    ev.CallOverflowed(
                        at=self.now,
                        call_id=call.id,
                        queue_id=queue.id,
                        from_step=call.step,
                        to_step=index,
                        condition=condition,
                    )
                )
                return True
            return False  # steps apply in order: the next one must hold first
        return False

    # -- shared endings --------------------------------------------------------------

    def cancel_offers(self, call: Call, reason: str) -> list[Agent]:
        freed = []
        for agent_id in sorted(call.offers):
            self.emit(
                ev.CallOfferCancelled(
                    at=self.now, call_id=call.id, agent_id=agent_id, reason=reason
                )
            )
            freed.append(self.state.agents[agent_id])
        return freed

    def start_wrap_up(self, agent: Agent, call: Call) -> None:
        queue = self.state.queues.get(call.queue_id)
        wrap_seconds = queue.config.wrap_up_seconds if queue else 0.0
        until = self.now + timedelta(seconds=wrap_seconds)
        self.emit(
            ev.AgentWrapUpStarted(
                at=self.now,
                agent_id=agent.id,
                call_id=call.id,
                wrap_until=until,
                queue_id=call.queue_id,
            )
        )
        if wrap_seconds <= 0:
            self.end_wrap_up(agent)
            self.dispatch_agent(agent)

    def end_wrap_up(self, agent: Agent) -> None:
        wrap = (self.now - agent.since).total_seconds() if agent.since else 0.0
        call_id = agent.call_id or ""
        last = agent.last_call
        self.emit(
            ev.AgentWrapUpEnded(
                at=self.now,
                agent_id=agent.id,
                call_id=call_id,
                wrap=max(0.0, wrap),
                queue_id=last[1] if last and last[0] == call_id else "",
            )
        )

    def end_party(self, call: Call) -> list[Agent]:
        """The consulted or conferenced agent leaves as the call ends; they are freed."""
        party_id = call.party_agent_id
        if party_id is None:
            return []
        talk = max(0.0, (self.now - call.party_since).total_seconds()) if call.party_since else 0.0
        if call.party_kind == "consult":
            self.emit(
                ev.CallConsultEnded(
                    at=self.now,
                    call_id=call.id,
                    agent_id=call.agent_id or "",
                    consult_agent_id=party_id,
                    reason="call_ended",
                    talk=talk,
                )
            )
        else:
            self.emit(
                ev.CallPartyLeft(
                    at=self.now,
                    call_id=call.id,
                    agent_id=call.agent_id or "",
                    party_agent_id=party_id,
                    talk=talk,
                )
            )
        return [self.state.agents[party_id]]

    def supervisors_leave(self, call: Call) -> None:
        """The agent's part ends: the supervisors listening to it leave."""
        for supervisor_id, (_, since) in sorted(call.supervisors.items()):
            self.emit(
                ev.SupervisorLeft(
                    at=self.now,
                    call_id=call.id,
                    agent_id=call.agent_id or "",
                    supervisor_id=supervisor_id,
                    duration=max(0.0, (self.now - since).total_seconds()),
                )
            )

    def resume(self, call: Call) -> None:
        if call.held_since is not None:
            hold = max(0.0, (self.now - call.held_since).total_seconds())
            self.emit(
                ev.CallResumed(
                    at=self.now,
                    call_id=call.id,
                    agent_id=call.agent_id or "",
                    queue_id=call.queue_id,
                    hold=hold,
                )
            )

    def leg_ended(self, call: Call, ended_by: str, transferred: bool) -> ev.CallEnded:
        """``CallEnded`` for the agent's part: talk excludes the seconds on hold."""
        hold = call.hold_until(self.now)
        talk = (self.now - call.answered_at).total_seconds() - hold if call.answered_at else 0.0
        return ev.CallEnded(
            at=self.now,
            call_id=call.id,
            agent_id=call.agent_id or "",
            queue_id=call.queue_id,
            talk=max(0.0, talk),
            hold=hold,
            ended_by=ended_by,
            transferred=transferred,
        )

    def transfer(self, call: Call, kind: str, **target: str | None) -> Agent:
        """The agent's part ends: ``CallTransferred``, then its ``CallEnded``."""
        agent = self.state.agents[call.agent_id or ""]
        self.supervisors_leave(call)
        ended = self.leg_ended(call, "agent", transferred=True)
        if call.callback_number:  # the customer called back is on the line: a live call now
            self.callback_completed(call, "connected", call.callback_attempt + 1, agent.id)
        self.emit(
            ev.CallTransferred(
                at=self.now,
                call_id=call.id,
                from_agent_id=agent.id,
                kind=kind,
                queue_id=call.queue_id,
                **target,
            )
        )
        self.emit(ended)
        return agent

    def hand_over(self, call: Call, kind: str) -> None:
        """The consulted or conferenced agent keeps the caller; the first wraps up."""
        party = self.state.agents[call.party_agent_id or ""]
        self.resume(call)
        first = self.transfer(call, kind, to_agent_id=party.id)
        self.emit(
            ev.CallAnswered(
                at=self.now,
                call_id=call.id,
                agent_id=party.id,
                queue_id=call.queue_id,
                wait=call.answer_wait or 0.0,
                ring=0.0,
                announce=announcement(self.state, call, party),
            )
        )
        self.start_wrap_up(first, call)

    def callback_completed(
        self,
        call: Call,
        outcome: str,
        attempt: int,
        agent_id: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        self.emit(
            ev.CallbackCompleted(
                at=self.now,
                callback_id=callback_id(call.id),
                call_id=call.id,
                number=call.callback_number or "",
                queue_id=call.queue_id,
                agent_id=agent_id,
                outcome=outcome,
                attempt=attempt,
                retry_at=retry_at,
            )
        )

    def miss(self, agent: Agent, limit: int) -> None:
        """After ``limit`` consecutive missed offers the agent is set not ready."""
        if limit and agent.misses >= limit and agent.status == "ready":
            self.emit(ev.AgentNotReady(at=self.now, agent_id=agent.id, reason=MISSED_OFFERS_REASON))


# -- pure helpers -----------------------------------------------------------------------


def describe(agent: Agent) -> str:
    """Why an agent cannot take part in a call, in plain words."""
    if agent.status == "logged_out":
        return f"agent {agent.id!r} is logged out"
    if agent.status == "not_ready":
        return f"agent {agent.id!r} is not ready ({agent.reason})"
    if agent.status == "wrap_up":
        return f"agent {agent.id!r} is in wrap-up"
    if agent.status == "offered":
        return f"agent {agent.id!r} is being offered another call"
    return f"agent {agent.id!r} is on a call"


def announcement(state: RoutingState, call: Call, agent: Agent) -> str | None:
    """The agent's work number, when the call's queue announces it."""
    queue = state.queues.get(call.queue_id)
    if queue is not None and queue.config.announce_agent_number:
        return agent.config.work_number
    return None


def callback_id(call_id: str) -> str:
    return f"cb-{call_id}"


def call_score(config: QueueConfig, call: Call, now: datetime) -> float:
    """Priority with aging, comparable across queues: seconds waited plus priority bonus."""
    step = config.priority_step_seconds
    # Aging counts from the first time the caller queued, even after a transfer.
    aged = max(0.0, (now - call.enqueued_at).total_seconds())
    return aged + (call.priority + config.priority) * step


def _idle_key(agent: Agent) -> datetime:
    return agent.idle_since or agent.since or datetime.min


def choose(
    queue: Queue, call: Call, pool: list[Agent], now: datetime
) -> tuple[list[Agent], dict[str, Any]]:
    """The queue's strategy picks from the pool; returns the chosen and why."""
    config = queue.config
    strategy = config.strategy
    required = requirements(config, call)
    today = now.date()

    def calls_today(agent: Agent) -> int:
        return agent.calls_today if agent.day == today else 0

    def talk_today(agent: Agent) -> float:
        return agent.talk_today if agent.day == today else 0.0

    def skill_sum(agent: Agent) -> int:
        return sum(agent.config.skills.get(skill, 0) for skill in required)

    scores: dict[str, Any]
    if strategy == "longest_idle" or strategy == "ring_all":
        scores = {a.id: (now - _idle_key(a)).total_seconds() if a.idle_since else 0.0 for a in pool}
        ranked = sorted(pool, key=lambda a: (_idle_key(a), a.id))
    elif strategy == "round_robin":
        ids = sorted(a.id for a in pool)
        after = [i for i in ids if queue.last_agent is None or i > queue.last_agent]
        order = after + [i for i in ids if i not in after]
        by_id = {a.id: a for a in pool}
        ranked = [by_id[i] for i in order]
        scores = {agent_id: index for index, agent_id in enumerate(order)}
    elif strategy == "fewest_calls":
        ranked = sorted(pool, key=lambda a: (calls_today(a), _idle_key(a), a.id))
        scores = {a.id: calls_today(a) for a in pool}
    elif strategy == "least_talk_time":
        ranked = sorted(pool, key=lambda a: (talk_today(a), _idle_key(a), a.id))
        scores = {a.id: round(talk_today(a), 1) for a in pool}
    elif strategy == "linear":
        ranked = sorted(pool, key=lambda a: (a.config.rank, a.id))
        scores = {a.id: a.config.rank for a in pool}
    elif strategy == "random":
        ordered = sorted(pool, key=lambda a: a.id)
        pick = random.Random(f"{config.random_seed}:{queue.id}:{queue.draws}").randrange(
            len(ordered)
        )
        ranked = [ordered[pick], *ordered[:pick], *ordered[pick + 1 :]]
        scores = {a.id: (1.0 if a is ordered[pick] else 0.0) for a in pool}
    else:  # best_skill
        ranked = sorted(pool, key=lambda a: (-skill_sum(a), _idle_key(a), a.id))
        scores = {a.id: skill_sum(a) for a in pool}
    chosen = ranked if strategy == "ring_all" and not call.callback_number else ranked[:1]
    explanation = {
        "strategy": strategy,
        "overflow_step": call.step,
        "requirements": required,
        "preferred_agent": bool(
            call.preferred_agent_id and pool and pool[0].id == call.preferred_agent_id
        ),
        "pool_size": len(pool),
        "candidates": [
            {"agent_id": a.id, "score": scores[a.id]} for a in ranked[:EXPLAINED_CANDIDATES]
        ],
        "chosen": [a.id for a in chosen],
    }
    return chosen, explanation


# -- command handlers ------------------------------------------------------------------


def _configure_queue(d: _Decision, c: cmd.ConfigureQueue) -> None:
    unknown = sorted(
        {q for step in c.config.overflow for q in step.add_queues}
        - set(d.state.queues)
        - {c.queue_id}
    )
    if unknown:
        raise Invalid(f"overflow names unknown queue(s): {', '.join(unknown)}")
    d.emit(
        ev.QueueConfigured(
            at=d.now,
            queue_id=c.queue_id,
            name=c.config.name,
            config=c.config.model_dump(mode="json"),
        )
    )
    d.dispatch_all()


def _remove_queue(d: _Decision, c: cmd.RemoveQueue) -> None:
    queue = d.queue(c.queue_id)
    if queue.order:
        raise Conflict(f"queue {c.queue_id!r} still holds {len(queue.order)} call(s)")
    users = sorted(
        other.id
        for other in d.state.queues.values()
        if other.id != queue.id
        and c.queue_id in added_queues(other.config, len(other.config.overflow))
    )
    if users:
        raise Conflict(f"queue {c.queue_id!r} is an overflow target of {', '.join(users)}")
    campaigns = sorted(
        campaign.id
        for campaign in d.state.campaigns.values()
        if campaign.config.queue_id == c.queue_id and campaign.status != "completed"
    )
    if campaigns:
        raise Conflict(f"queue {c.queue_id!r} dials for campaign(s) {', '.join(campaigns)}")
    d.emit(ev.QueueRemoved(at=d.now, queue_id=c.queue_id))


def _configure_agent(d: _Decision, c: cmd.ConfigureAgent) -> None:
    d.emit(
        ev.AgentConfigured(
            at=d.now,
            agent_id=c.agent_id,
            name=c.config.name,
            config=c.config.model_dump(mode="json"),
        )
    )
    d.dispatch_agent(d.state.agents[c.agent_id])


def _log_in(d: _Decision, c: cmd.LogIn) -> None:
    agent = d.agent(c.agent_id)
    if agent.status == "logged_out":
        d.emit(ev.AgentLoggedIn(at=d.now, agent_id=agent.id))


def _make_ready(d: _Decision, c: cmd.MakeReady) -> None:
    agent = d.logged_in(c.agent_id)
    if agent.status in ("offered", "on_call"):
        raise Conflict(f"agent {agent.id!r} is {agent.status.replace('_', ' ')}")
    if agent.status == "wrap_up":
        d.end_wrap_up(agent)
    elif agent.status == "not_ready":
        d.emit(ev.AgentReady(at=d.now, agent_id=agent.id))
    d.dispatch_agent(agent)


def _make_not_ready(d: _Decision, c: cmd.MakeNotReady) -> None:
    agent = d.logged_in(c.agent_id)
    if agent.status in ("offered", "on_call"):
        raise Conflict(
            f"agent {agent.id!r} is {agent.status.replace('_', ' ')}: "
            "finish or reject the call first"
        )
    allowed = d.state.settings.not_ready_reasons
    if c.reason not in allowed:
        raise Invalid(
            f"not-ready reason {c.reason!r} is not allowed; allowed: {', '.join(allowed)}"
        )
    if agent.status == "wrap_up":
        d.end_wrap_up(agent)
    if agent.status != "not_ready" or agent.reason != c.reason:
        d.emit(ev.AgentNotReady(at=d.now, agent_id=agent.id, reason=c.reason))


def _log_out(d: _Decision, c: cmd.LogOut) -> None:
    agent = d.agent(c.agent_id)
    if agent.status == "logged_out":
        return
    if agent.status == "on_call":
        raise Conflict(f"agent {agent.id!r} is on a call")
    offered = d.state.calls.get(agent.call_id or "") if agent.status == "offered" else None
    if offered is not None:
        d.emit(
            ev.CallOfferCancelled(
                at=d.now, call_id=offered.id, agent_id=agent.id, reason="agent_logged_out"
            )
        )
    if agent.status == "wrap_up":  # logging out ends it (a campaign call's disposition too)
        d.end_wrap_up(agent)
    d.emit(ev.AgentLoggedOut(at=d.now, agent_id=agent.id))
    if offered is not None:
        d.dispatch_call(offered)


def _enqueue(d: _Decision, c: cmd.EnqueueCall) -> None:
    queue = d.queue(c.queue_id)
    if c.call_id in d.state.calls:
        raise Conflict(f"call {c.call_id!r} is already queued or connected")
    config = queue.config
    refusal = None
    if not is_open(config.hours, d.now):
        refusal = "closed"
    elif config.max_length is not None and len(queue.order) >= config.max_length:
        refusal = "full"
    elif config.join_when_empty == "if_ready" and queue.staffed == 0:
        refusal = "join_empty"
    elif config.join_when_empty == "if_logged_in" and not any(
        agent.status != "logged_out" and base_pool_holds(config, agent.config)
        for agent in d.state.agents.values()
    ):
        refusal = "join_empty"
    if refusal:
        d.emit(ev.CallExitedQueue(at=d.now, call_id=c.call_id, queue_id=queue.id, reason=refusal))
        return
    key = sort_key(config, c.priority, d.now, d.state.seq + 1)
    position = d.state.position_of(queue, (key, c.call_id))
    customer_id, preferred = c.customer_id, c.preferred_agent_id
    if customer_id is None and c.call_id in d.state.identified:
        customer_id, known_preferred = d.state.identified[c.call_id]  # told by the CRM
        preferred = preferred or known_preferred
    if preferred is None and customer_id and config.preferred_agent_seconds:
        preferred = d.state.last_agent.get(customer_id)  # the agent they spoke to last
    d.emit(
        ev.CallQueued(
            at=d.now,
            call_id=c.call_id,
            queue_id=queue.id,
            priority=c.priority,
            position=position,
            ewt=estimated_wait(d.state, queue, position),
            skills=dict(c.skills),
            customer_id=customer_id,
            ani=c.ani,
            preferred_agent_id=preferred,
        )
    )
    thresholds = [s.when_queue_length_at_least for s in config.overflow]
    if any(t is not None and len(queue.order) >= t for t in thresholds):
        # The queue grew past an overflow threshold: widen every waiting call's
        # pool, then serve them in queue order (the newcomer last).
        waiting = [d.state.calls[call_id] for _, call_id in queue.order]
        for other in waiting:
            while other.status == "waiting" and d.overflow(other, queue, no_agent_ready=False):
                pass
        for other in waiting:
            d.dispatch_call(other)
    else:
        d.dispatch_call(d.state.calls[c.call_id])


def _offered_to(d: _Decision, call_id: str, agent_id: str) -> tuple[Call, Agent]:
    call = d.call(call_id)
    agent = d.agent(agent_id)
    if agent_id not in call.offers:
        if call.status == "connected" and call.agent_id == agent_id:
            raise Conflict(f"call {call_id!r} is already answered by agent {agent_id!r}")
        raise Conflict(f"call {call_id!r} is not offered to agent {agent_id!r}")
    expires = call.offers[agent_id]
    if d.now > expires:
        raise Conflict(f"the offer of call {call_id!r} to agent {agent_id!r} expired at {expires}")
    return call, agent


def _answer(d: _Decision, c: cmd.AnswerCall) -> None:
    call, agent = _offered_to(d, c.call_id, c.agent_id)
    others = [d.state.agents[a] for a in sorted(call.offers) if a != agent.id]
    ring = (d.now - call.offered_at).total_seconds() if call.offered_at else 0.0
    # A call transferred to an agent keeps the wait of its first answer in this queue.
    wait = call.answer_wait if call.answer_wait is not None else waited(call, d.now)
    d.emit(
        ev.CallAnswered(
            at=d.now,
            call_id=call.id,
            agent_id=agent.id,
            queue_id=call.queue_id,
            wait=wait,
            ring=max(0.0, ring),
            announce=announcement(d.state, call, agent),
        )
    )
    for other in others:
        d.emit(
            ev.CallOfferCancelled(
                at=d.now, call_id=call.id, agent_id=other.id, reason="answered_elsewhere"
            )
        )
    d.dispatch_freed(others)


def _reject(d: _Decision, c: cmd.RejectCall) -> None:
    call, agent = _offered_to(d, c.call_id, c.agent_id)
    d.emit(ev.CallOfferDeclined(at=d.now, call_id=call.id, agent_id=agent.id, reason="rejected"))
    d.dispatch_call(call)
    d.dispatch_agent(agent)


def _hang_up(d: _Decision, c: cmd.HangUp) -> None:
    call = d.call(c.call_id)
    if call.status != "connected":
        if call.callback_number:
            if c.by == "caller":
                return  # expected: the caller keeps their place and hangs up
            freed = d.cancel_offers(call, "caller_hung_up")
            d.callback_completed(call, "cancelled", max(1, call.callback_attempt))
            d.dispatch_freed(freed)
            return
        position = d.state.queue_position(call)
        wait = waited(call, d.now)
        freed = d.cancel_offers(call, "caller_hung_up")
        d.emit(
            ev.CallAbandoned(
                at=d.now, call_id=call.id, queue_id=call.queue_id, wait=wait, position=position
            )
        )
        d.dispatch_freed(freed)
        return
    agent = d.state.agents[call.agent_id or ""]
    d.supervisors_leave(call)
    freed = d.end_party(call)
    if call.callback_number and c.outcome != "connected":
        _callback_not_reached(d, call, agent, c.outcome)
    else:
        d.emit(d.leg_ended(call, c.by, transferred=False))
        if call.callback_number:
            d.callback_completed(call, "connected", call.callback_attempt + 1, agent.id)
    d.start_wrap_up(agent, call)
    d.dispatch_freed(freed)


def _callback_not_reached(d: _Decision, call: Call, agent: Agent, outcome: str) -> None:
    queue = d.state.queues.get(call.queue_id)
    policy = queue.config.callback if queue else None
    attempt = call.callback_attempt + 1
    retry = policy is not None and attempt < policy.max_attempts
    retry_at = d.now + timedelta(seconds=policy.retry_delay_seconds) if retry else None
    d.callback_completed(call, outcome if retry else "gave_up", attempt, agent.id, retry_at)


def _request_callback(d: _Decision, c: cmd.RequestCallback) -> None:
    call = d.call(c.call_id)
    if call.status == "connected":
        raise Conflict(f"call {call.id!r} is already connected to an agent")
    if call.callback_number:
        raise Conflict(f"call {call.id!r} already has a callback to {call.callback_number}")
    freed = d.cancel_offers(call, "callback_requested")
    d.emit(
        ev.CallbackRequested(
            at=d.now,
            callback_id=callback_id(call.id),
            call_id=call.id,
            number=c.number,
            queue_id=call.queue_id,
        )
    )
    d.dispatch_freed(freed)
    d.dispatch_call(call)


def _identify_customer(d: _Decision, c: cmd.IdentifyCustomer) -> None:
    call = d.state.calls.get(c.call_id)
    if call is not None and (call.customer_id or call.status == "connected"):
        return  # known already, or too late to matter
    queue = d.state.queues.get(call.queue_id) if call else None
    preferred = c.preferred_agent_id
    if preferred is None and queue is not None and queue.config.preferred_agent_seconds:
        preferred = d.state.last_agent.get(c.customer_id)
    d.emit(
        ev.CallCustomerIdentified(
            at=d.now, call_id=c.call_id, customer_id=c.customer_id, preferred_agent_id=preferred
        )
    )
    if call is not None:
        d.dispatch_call(call)


def _finish_wrap_up(d: _Decision, c: cmd.FinishWrapUp) -> None:
    agent = d.logged_in(c.agent_id)
    if agent.status != "wrap_up":
        raise Conflict(f"agent {agent.id!r} is not in wrap-up")
    d.end_wrap_up(agent)
    d.dispatch_agent(agent)


def _configure_settings(d: _Decision, c: cmd.ConfigureSettings) -> None:
    d.emit(ev.RoutingSettingsConfigured(at=d.now, config=c.settings.model_dump(mode="json")))


# -- call handling -----------------------------------------------------------------------


def _hold(d: _Decision, c: cmd.HoldCall) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    if call.held_since is not None:
        raise Conflict(f"call {call.id!r} is already on hold")
    d.emit(ev.CallHeld(at=d.now, call_id=call.id, agent_id=c.agent_id, queue_id=call.queue_id))


def _resume(d: _Decision, c: cmd.ResumeCall) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    if call.held_since is None:
        raise Conflict(f"call {call.id!r} is not on hold")
    if call.party_kind == "consult":
        raise Conflict(
            f"call {call.id!r} is in a consult with agent {call.party_agent_id!r}: "
            "complete or cancel it to return to the caller"
        )
    d.resume(call)


def _mute(d: _Decision, c: cmd.MuteCall) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    if call.muted == c.muted:
        raise Conflict(f"call {call.id!r} is already {'muted' if c.muted else 'unmuted'}")
    event = ev.CallMuted if c.muted else ev.CallUnmuted
    d.emit(event(at=d.now, call_id=call.id, agent_id=c.agent_id))


def _may_pass_on(call: Call, doing: str) -> None:
    """A caller is passed on only when talking to one agent alone."""
    if call.held_since is not None and call.party_kind is None:
        raise Conflict(f"call {call.id!r} is on hold: resume it before {doing}")
    if call.party_kind == "consult":
        raise Conflict(
            f"call {call.id!r} is in a consult with agent {call.party_agent_id!r}: "
            "complete or cancel it first"
        )
    if call.party_kind == "conference":
        raise Conflict(
            f"call {call.id!r} is in a conference with agent {call.party_agent_id!r}: "
            "leave it first"
        )


def _one_target(targets: dict[str, str | None]) -> None:
    given = [name for name, value in targets.items() if value]
    if len(given) != 1:
        raise Invalid(f"name exactly one of {', '.join(targets)} (got {len(given)})")


def _transfer(d: _Decision, c: cmd.TransferCall) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    targets = {"to_queue_id": c.to_queue_id, "to_agent_id": c.to_agent_id,
               "to_number": c.to_number}  # fmt: skip
    _one_target(targets)
    _may_pass_on(call, "transferring")
    if c.to_queue_id:
        _transfer_to_queue(d, call, d.queue(c.to_queue_id))
    elif c.to_agent_id:
        _transfer_to_agent(d, call, c.to_agent_id)
    else:
        agent = d.transfer(call, "external", number=c.to_number)
        d.start_wrap_up(agent, call)


def _transfer_to_queue(d: _Decision, call: Call, target: Queue) -> None:
    config = target.config
    if not is_open(config.hours, d.now):
        raise Conflict(f"queue {target.id!r} is closed")
    if config.max_length is not None and len(target.order) >= config.max_length:
        raise Conflict(f"queue {target.id!r} is full ({config.max_length} calls)")
    agent = d.transfer(call, "blind", to_queue_id=target.id)
    # A new visit (analytics counts it in this queue), aging from the first enqueue.
    key = sort_key(config, call.priority, call.enqueued_at, d.state.seq + 1)
    position = d.state.position_of(target, (key, call.id))
    d.emit(
        ev.CallQueued(
            at=d.now,
            call_id=call.id,
            queue_id=target.id,
            priority=call.priority,
            position=position,
            ewt=estimated_wait(d.state, target, position),
            skills=dict(call.skills),
            customer_id=call.customer_id,
            ani=call.ani,
            callback_number=call.callback_number,
            enqueued_at=call.enqueued_at,
        )
    )
    d.dispatch_call(d.state.calls[call.id])
    d.start_wrap_up(agent, call)


def _transfer_to_agent(d: _Decision, call: Call, to_agent_id: str) -> None:
    target = d.free_agent(to_agent_id, call.agent_id or "")
    queue = d.state.queues.get(call.queue_id)
    if queue is None:
        raise Conflict(f"queue {call.queue_id!r} of call {call.id!r} no longer exists")
    agent = d.transfer(call, "blind", to_agent_id=target.id)
    d.emit(
        ev.CallOffered(
            at=d.now,
            call_id=call.id,
            agent_id=target.id,
            queue_id=queue.id,
            offer_expires_at=d.now + timedelta(seconds=queue.config.ring_timeout_seconds),
            explanation={"transfer": "blind", "from_agent_id": agent.id, "chosen": [target.id]},
        )
    )
    d.start_wrap_up(agent, call)


def _start_consult(d: _Decision, c: cmd.StartConsult) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    _one_target({"to_agent_id": c.to_agent_id, "to_queue_id": c.to_queue_id})
    if call.party_agent_id is not None:
        raise Conflict(
            f"call {call.id!r} already has agent {call.party_agent_id!r} in a {call.party_kind}"
        )
    if c.to_queue_id:
        queue = d.queue(c.to_queue_id)
        ready = [d.state.agents[agent_id] for agent_id in d.state.ready]
        free = sorted(
            (a for a in ready if a.id != c.agent_id and base_pool_holds(queue.config, a.config)),
            key=lambda a: (_idle_key(a), a.id),
        )
        if not free:
            raise Conflict(f"no agent of queue {queue.id!r} is ready")
        consulted = free[0]  # the longest idle
    else:
        consulted = d.free_agent(c.to_agent_id or "", c.agent_id)
    if call.held_since is None:
        d.emit(ev.CallHeld(at=d.now, call_id=call.id, agent_id=c.agent_id, queue_id=call.queue_id))
    d.emit(
        ev.CallConsultStarted(
            at=d.now,
            call_id=call.id,
            agent_id=c.agent_id,
            consult_agent_id=consulted.id,
            to_queue_id=c.to_queue_id,
        )
    )


def _in_consult(d: _Decision, call_id: str) -> Call:
    call = d.call(call_id)
    if call.party_kind != "consult":
        raise Conflict(f"call {call_id!r} has no consult in progress")
    return call


def _complete_consult(d: _Decision, c: cmd.CompleteConsult) -> None:
    d.connected_to(c.call_id, c.agent_id)
    d.hand_over(_in_consult(d, c.call_id), "consult")


def _cancel_consult(d: _Decision, c: cmd.CancelConsult) -> None:
    d.agent(c.agent_id)
    call = _in_consult(d, c.call_id)
    consulted = d.state.agents[call.party_agent_id or ""]
    if c.agent_id not in (call.agent_id, consulted.id):
        raise Conflict(f"agent {c.agent_id!r} is not in the consult on call {call.id!r}")
    by_first = c.agent_id == call.agent_id
    talk = (d.now - call.party_since).total_seconds() if call.party_since else 0.0
    d.emit(
        ev.CallConsultEnded(
            at=d.now,
            call_id=call.id,
            agent_id=call.agent_id or "",
            consult_agent_id=consulted.id,
            reason="cancelled" if by_first else "consulted_hung_up",
            talk=max(0.0, talk),
        )
    )
    if by_first:
        d.resume(call)  # back to the caller; if the consulted agent hung up, it stays held
    d.dispatch_agent(consulted)


def _add_party(d: _Decision, c: cmd.AddParty) -> None:
    call = d.connected_to(c.call_id, c.agent_id)
    if call.party_agent_id is not None:
        raise Conflict(
            f"call {call.id!r} already has agent {call.party_agent_id!r} in a {call.party_kind}"
        )
    if call.held_since is not None:
        raise Conflict(f"call {call.id!r} is on hold: resume it before adding a party")
    party = d.free_agent(c.party_agent_id, c.agent_id)
    d.emit(
        ev.CallConferenced(at=d.now, call_id=call.id, agent_id=c.agent_id, party_agent_id=party.id)
    )


def _leave_conference(d: _Decision, c: cmd.LeaveConference) -> None:
    d.agent(c.agent_id)
    call = d.call(c.call_id)
    if call.party_kind != "conference":
        raise Conflict(f"call {call.id!r} is not in a conference")
    if c.agent_id == call.party_agent_id:
        freed = d.end_party(call)
        d.dispatch_freed(freed)
    elif c.agent_id == call.agent_id:
        d.hand_over(call, "conference")
    else:
        raise Conflict(f"agent {c.agent_id!r} is not in the conference on call {call.id!r}")


def _disposition(d: _Decision, c: cmd.Disposition) -> None:
    agent = d.agent(c.agent_id)
    last = agent.last_call
    if (
        agent.status not in ("on_call", "wrap_up")
        or agent.call_id != c.call_id
        or last is None
        or last[0] != c.call_id
    ):
        raise Conflict(f"agent {agent.id!r} is not on call {c.call_id!r} or wrapping it up")
    _, queue_id, customer_id = last
    queue = d.state.queues.get(queue_id)
    codes = queue.config.dispositions if queue else []
    if codes and c.disposition not in codes:
        raise Invalid(
            f"disposition {c.disposition!r} is not a code of queue {queue_id!r}; "
            f"its codes: {', '.join(codes)}"
        )
    d.emit(
        ev.CallDispositioned(
            at=d.now,
            call_id=c.call_id,
            agent_id=agent.id,
            queue_id=queue_id,
            disposition=c.disposition,
            notes=c.notes,
            follow_up=c.follow_up,
            customer_id=customer_id,
        )
    )
    link = d.state.campaign_calls.get(c.call_id)
    campaign = d.state.campaigns.get(link[0]) if link else None
    if link and campaign:
        d.emit(
            ev.ContactDispositioned(
                at=d.now,
                campaign_id=campaign.id,
                contact_id=link[1],
                call_id=c.call_id,
                agent_id=agent.id,
                disposition=c.disposition,
                completed=c.disposition in campaign.config.completed_dispositions,
                notes=c.notes,
                customer_id=customer_id,
                callback_at=c.callback_at,
            )
        )


# -- supervisors ----------------------------------------------------------------------


def _supervise(d: _Decision, c: cmd.Supervise) -> None:
    call = d.call(c.call_id)
    if call.status != "connected":
        raise Conflict(f"call {call.id!r} is not connected to an agent: it is {call.status}")
    if c.supervisor_id in (call.agent_id, call.party_agent_id):
        raise Conflict(f"{c.supervisor_id!r} is already on call {call.id!r} as its agent")
    joined = call.supervisors.get(c.supervisor_id)
    if joined is not None and joined[0] == c.mode:
        raise Conflict(f"supervisor {c.supervisor_id!r} is already in {c.mode} on call {call.id!r}")
    if c.mode == "takeover":
        _take_over(d, call, c.supervisor_id)
        return
    d.emit(
        ev.SupervisorJoined(
            at=d.now,
            call_id=call.id,
            agent_id=call.agent_id or "",
            supervisor_id=c.supervisor_id,
            mode=c.mode,
        )
    )


def _take_over(d: _Decision, call: Call, supervisor_id: str) -> None:
    """The supervisor becomes the call's agent; the agent's part ends and it wraps up
    (it may still record the disposition of what it handled)."""
    supervisor = d.state.agents.get(supervisor_id)
    if supervisor is None:
        raise Conflict(
            f"supervisor {supervisor_id!r} is not an agent of routing: "
            "configure and log them in as an agent to take calls over"
        )
    if supervisor.status not in ("ready", "not_ready"):
        raise Conflict(describe(supervisor))
    _may_pass_on(call, "taking it over")
    agent = d.state.agents[call.agent_id or ""]
    others = {sid: joined for sid, joined in call.supervisors.items() if sid != supervisor_id}
    ended = d.leg_ended(call, "agent", transferred=True)
    for other_id, (_, since) in sorted(others.items()):
        d.emit(
            ev.SupervisorLeft(
                at=d.now,
                call_id=call.id,
                agent_id=agent.id,
                supervisor_id=other_id,
                duration=max(0.0, (d.now - since).total_seconds()),
            )
        )
    d.emit(
        ev.SupervisorJoined(
            at=d.now,
            call_id=call.id,
            agent_id=agent.id,
            supervisor_id=supervisor_id,
            mode="takeover",
        )
    )
    d.emit(ended)
    d.emit(
        ev.CallAnswered(
            at=d.now,
            call_id=call.id,
            agent_id=supervisor.id,
            queue_id=call.queue_id,
            wait=call.answer_wait or 0.0,
            ring=0.0,
        )
    )
    d.start_wrap_up(agent, call)


def _stop_supervising(d: _Decision, c: cmd.StopSupervising) -> None:
    call = d.call(c.call_id)
    joined = call.supervisors.get(c.supervisor_id)
    if joined is None:
        raise Conflict(f"supervisor {c.supervisor_id!r} is not on call {call.id!r}")
    d.emit(
        ev.SupervisorLeft(
            at=d.now,
            call_id=call.id,
            agent_id=call.agent_id or "",
            supervisor_id=c.supervisor_id,
            duration=max(0.0, (d.now - joined[1]).total_seconds()),
        )
    )


def _due(deadlines: list, now: datetime) -> list:
    """The deadlines due, in order, visiting only them in the heap (a parent is never
    later than its children): campaigns keep thousands of retries scheduled."""
    due, stack = [], [0]
    while stack:
        index = stack.pop()
        if index < len(deadlines) and deadlines[index].when <= now:
            due.append(deadlines[index])
            stack += (2 * index + 1, 2 * index + 2)
    return sorted(due)


def _tick(d: _Decision, _: cmd.Tick) -> None:
    due = _due(d.state.deadlines, d.now)
    if not due:
        return
    d.emit(ev.DeadlinesPassed(at=d.now))
    for deadline in due:
        _deadline_reached(d, deadline.kind, deadline.key, deadline.when)


def _deadline_reached(d: _Decision, kind: str, key: str, when: datetime) -> None:
    state = d.state
    if kind == "offer":
        call_id, agent_id = key.split("|", 1)
        call = state.calls.get(call_id)
        if call is None or call.offers.get(agent_id) != when:
            return
        agent = state.agents[agent_id]
        d.emit(
            ev.CallOfferDeclined(at=d.now, call_id=call_id, agent_id=agent_id, reason="timed_out")
        )
        queue = state.queues.get(call.queue_id)
        d.miss(agent, queue.config.max_consecutive_misses if queue else 0)
        d.dispatch_call(call)
        d.dispatch_agent(agent)
    elif kind == "wrap_up":
        agent = state.agents.get(key)
        if agent is None or agent.status != "wrap_up" or agent.wrap_until != when:
            return
        d.end_wrap_up(agent)
        d.dispatch_agent(agent)
    elif kind == "overflow":
        call = state.calls.get(key)
        queue = state.queues.get(call.queue_id) if call else None
        if call is None or queue is None or call.status == "connected":
            return
        while d.overflow(call, queue, no_agent_ready=False):
            pass
        d.dispatch_call(call)
    elif kind in ("preview", "outbound", "abandon"):
        dialer.deadline(d, kind, key, when)
    elif kind == "campaign":
        return  # a retry came due: the dialer runs after every decision
    else:  # preferred window over, max wait reached, callback retry due
        call = state.calls.get(key)
        if call is not None:
            d.dispatch_call(call)


from callcenter.routing.domain import dialer  # noqa: E402 - it uses _Decision, defined above

_HANDLERS: dict[type, Any] = {
    cmd.ConfigureQueue: _configure_queue,
    cmd.RemoveQueue: _remove_queue,
    cmd.ConfigureAgent: _configure_agent,
    cmd.LogIn: _log_in,
    cmd.MakeReady: _make_ready,
    cmd.MakeNotReady: _make_not_ready,
    cmd.LogOut: _log_out,
    cmd.EnqueueCall: _enqueue,
    cmd.AnswerCall: _answer,
    cmd.RejectCall: _reject,
    cmd.HangUp: _hang_up,
    cmd.RequestCallback: _request_callback,
    cmd.IdentifyCustomer: _identify_customer,
    cmd.FinishWrapUp: _finish_wrap_up,
    cmd.ConfigureSettings: _configure_settings,
    cmd.HoldCall: _hold,
    cmd.ResumeCall: _resume,
    cmd.MuteCall: _mute,
    cmd.TransferCall: _transfer,
    cmd.StartConsult: _start_consult,
    cmd.CompleteConsult: _complete_consult,
    cmd.CancelConsult: _cancel_consult,
    cmd.AddParty: _add_party,
    cmd.LeaveConference: _leave_conference,
    cmd.Disposition: _disposition,
    cmd.Supervise: _supervise,
    cmd.StopSupervising: _stop_supervising,
    cmd.ConfigureCampaign: dialer.configure,
    cmd.AddContacts: dialer.add_contacts,
    cmd.ApplyScreening: dialer.apply_screening,
    cmd.StartCampaign: dialer.start,
    cmd.PauseCampaign: dialer.pause,
    cmd.ResumeCampaign: dialer.resume,
    cmd.SetDoNotCall: dialer.set_dnc,
    cmd.DialContact: dialer.dial_preview,
    cmd.ReportOutbound: dialer.report,
    cmd.Tick: _tick,
}
