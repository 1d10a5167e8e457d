"""The fold: every topic's events, folded into the facts that KPIs are computed from.

Pure and in memory. The service feeds it from its archive of consumed events,
``callcenter-analytics fold`` from an exported event log; both then compute
KPIs from the same facts with ``callcenter.analytics.kpis``.

Facts are kept raw (each call's visit to each queue with its wait and outcome,
each agent's time per state, each survey and ticket), not pre-aggregated, so
that a changed setting (the service-level mode, the short-abandon threshold)
recomputes history exactly, and a late event lands in the interval its own
time says. Each event is applied once: the fold remembers which versions of
each stream it has applied, whatever order they come in.

Instants are POSIX seconds (floats) for speed; the input is the CloudEvents
attributes (strings) and the event's data as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

SLOT = 900  # seconds: the finest interval (15 minutes); coarser ones are unions of slots

Data = Mapping[str, Any]


def slot_of(moment: float) -> int:
    return int(moment // SLOT) * SLOT


@lru_cache(maxsize=4096)
def instant(text: str) -> float:
    """POSIX seconds of an ISO-8601 instant (the events of one decision share theirs)."""
    return datetime.fromisoformat(text).timestamp()


@dataclass(slots=True)
class Segment:
    """One call's visit to one queue: offered at ``queued_at``, then its outcome."""

    call_id: str
    queue_id: str
    queued_at: float
    priority: int = 0
    outcome: str | None = None  # answered, abandoned, exited, callback
    exit_reason: str | None = None
    wait: float | None = None
    agent_id: str | None = None
    ring: float = 0.0
    talk: float | None = None
    hold: float = 0.0
    wrap: float = 0.0
    transferred: bool = False


@dataclass(slots=True)
class Leg:
    """One agent's part of one answered call, from its answer to the end of its wrap-up.

    A call transferred or handed over has a leg per agent; each agent's AHT and
    transfer rate come from their own legs (a queue's from the call's segment).
    """

    call_id: str
    agent_id: str
    queue_id: str
    queued_at: float  # the visit's offer instant: the leg counts in its interval
    wait: float
    talk: float | None = None
    hold: float = 0.0
    wrap: float = 0.0
    transferred: bool = False


@dataclass(slots=True)
class CampaignCall:
    """One outbound attempt of a campaign and what became of it."""

    campaign_id: str
    call_id: str
    contact_id: str
    attempted_at: float
    queue_id: str = ""
    agent_id: str | None = None
    # answered (a conversation), abandoned (answered, no agent in time), or not
    # reached: no_answer, busy, machine, failed
    outcome: str | None = None
    wait: float = 0.0
    disposition: str | None = None
    completed: bool = False
    customer_id: str | None = None
    dispositioned_at: float | None = None
    talk: float | None = None
    hold: float = 0.0
    wrap: float = 0.0


@dataclass(slots=True)
class Supervision:
    """A supervisor on a live call in one mode (monitor, whisper, barge, takeover), until
    they left or changed mode (routing's ``SupervisorLeft.duration`` is the last mode's)."""

    call_id: str
    agent_id: str
    supervisor_id: str
    mode: str
    joined_at: float
    duration: float | None = None  # None: still on the call


@dataclass(slots=True)
class SurveyOffer:
    at: float
    call_id: str
    queue_id: str | None
    agent_id: str | None


@dataclass(slots=True)
class IvrCall:
    arrived_at: float
    outcome: str | None = None
    last_node: str | None = None


@dataclass(slots=True)
class Survey:
    """A survey answer; without a queue or agent of its own, the call's (at compute time)."""

    at: float
    call_id: str
    queue_id: str | None
    agent_id: str | None
    score: int


@dataclass(slots=True)
class Ticket:
    type: str
    opened_at: float
    customer_id: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    first_contact_resolution: bool = False
    # Per SLA metric: (on time?, when that was settled). A breach settles it as late.
    sla: dict[str, tuple[bool, float]] = field(default_factory=dict)


@dataclass(slots=True)
class Agent:
    name: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    # logged_out, idle, ringing, talk, wrap, not_ready:<reason>, and consult or
    # conference: helping a colleague's caller (consulted, or added to a conference)
    state: str = "logged_out"
    since: float = 0.0
    call_id: str | None = None
    # Seconds per state, per slot: what occupancy and adherence are computed from.
    seconds: dict[int, dict[str, float]] = field(default_factory=dict)
    # Offers, declines and sign-ins per slot.
    counts: dict[int, dict[str, int]] = field(default_factory=dict)

    def count(self, slot: int, name: str) -> None:
        counts = self.counts.setdefault(slot, {})
        counts[name] = counts.get(name, 0) + 1

    def enter(self, state: str, at: float) -> None:
        """Close the span in the current state at ``at`` and start ``state``."""
        if self.state != "logged_out" and at > self.since:
            spread(self.seconds, self.state, self.since, at)
        self.state, self.since = state, max(at, self.since)


def spread(seconds: dict[int, dict[str, float]], state: str, start: float, end: float) -> None:
    """Add the span [start, end) to ``state``, split at slot boundaries."""
    while start < end:
        slot = slot_of(start)
        stop = min(end, slot + SLOT)
        bucket = seconds.setdefault(slot, {})
        bucket[state] = bucket.get(state, 0.0) + (stop - start)
        start = stop


@dataclass
class Tenant:
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    segments: dict[tuple[str, str], Segment] = field(default_factory=dict)
    # The segment a call is in now (where its answer, end and wrap-up belong).
    current: dict[str, Segment] = field(default_factory=dict)
    segments_by_slot: dict[int, list[Segment]] = field(default_factory=dict)
    ivr_calls: dict[str, IvrCall] = field(default_factory=dict)
    ivr_by_slot: dict[int, list[IvrCall]] = field(default_factory=dict)
    surveys_by_slot: dict[int, list[Survey]] = field(default_factory=dict)
    callbacks_by_slot: dict[int, dict[str, int]] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    # Each agent's part of each answered call (the latest, per call and agent).
    legs: dict[tuple[str, str], Leg] = field(default_factory=dict)
    legs_by_slot: dict[int, list[Leg]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    campaign_calls: dict[str, CampaignCall] = field(default_factory=dict)
    campaign_calls_by_slot: dict[int, list[CampaignCall]] = field(default_factory=dict)
    # Supervisors on calls now, per (call, supervisor); every supervision by its start.
    supervising: dict[tuple[str, str], Supervision] = field(default_factory=dict)
    supervisions_by_slot: dict[int, list[Supervision]] = field(default_factory=dict)
    survey_offers_by_slot: dict[int, list[SurveyOffer]] = field(default_factory=dict)
    surveyed_calls: set[str] = field(default_factory=set)  # calls with a survey answer

    def agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = Agent()
        return agent

    def service_level_seconds(self, queue_id: str) -> float:
        config = self.queues.get(queue_id, {}).get("config", {})
        return float(config.get("service_level_seconds", 20))

    def waiting(self) -> list[Segment]:
        return [s for s in self.current.values() if s.outcome is None]


class _Applied:
    """Which versions of one stream were applied: a high-water mark and any beyond it."""

    __slots__ = ("beyond", "contiguous")

    def __init__(self) -> None:
        self.contiguous = 0
        self.beyond: set[int] = set()

    def first_time(self, version: int) -> bool:
        if version <= self.contiguous or version in self.beyond:
            return False
        if version == self.contiguous + 1:
            self.contiguous = version
            while self.contiguous + 1 in self.beyond:
                self.contiguous += 1
                self.beyond.discard(self.contiguous)
        else:
            self.beyond.add(version)
        return True


class Fold:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.applied = 0
        self.duplicates = 0
        self.latest = 0.0  # the latest event time seen: "now" for an offline fold
        self._streams: dict[str, _Applied] = {}

    def tenant(self, name: str) -> Tenant:
        tenant = self.tenants.get(name)
        if tenant is None:
            tenant = self.tenants[name] = Tenant()
        return tenant

    def apply(self, attributes: Mapping[str, str], data: Data) -> bool:
        """Fold one event; False if it was applied before (a duplicate delivery)."""
        stream = self._streams.get(attributes["streamid"])
        if stream is None:
            stream = self._streams[attributes["streamid"]] = _Applied()
        if not stream.first_time(int(attributes["streamversion"])):
            self.duplicates += 1
            return False
        self.applied += 1
        handler = _HANDLERS.get(attributes["type"])
        if handler is not None:
            at = data.get("at")
            moment = instant(at if isinstance(at, str) else attributes["time"])
            self.latest = max(self.latest, moment)
            handler(self.tenant(attributes["tenant"]), data, moment)
        return True


# Routing: configuration and agents --------------------------------------------------


def _queue_configured(tenant: Tenant, data: Data, at: float) -> None:
    tenant.queues[data["queue_id"]] = {"name": data.get("name", ""), "config": data["config"]}


def _queue_removed(tenant: Tenant, data: Data, at: float) -> None:
    tenant.queues.pop(data["queue_id"], None)


def _agent_configured(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    config = data.get("config", {})
    agent.name = data.get("name", "")
    agent.skills = dict(config.get("skills", {}))
    agent.groups = list(config.get("groups", []))


def _logged_in(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    agent.count(slot_of(at), "logins")
    agent.enter("not_ready:logged_in", at)


def _ready(tenant: Tenant, data: Data, at: float) -> None:
    tenant.agent(data["agent_id"]).enter("idle", at)


def _not_ready(tenant: Tenant, data: Data, at: float) -> None:
    tenant.agent(data["agent_id"]).enter(f"not_ready:{data['reason']}", at)


def _logged_out(tenant: Tenant, data: Data, at: float) -> None:
    tenant.agent(data["agent_id"]).enter("logged_out", at)


# Routing: calls ----------------------------------------------------------------------


def _queued(tenant: Tenant, data: Data, at: float) -> None:
    if data["call_id"] in tenant.campaign_calls:
        return  # a dialed callee waiting for an agent is no inbound caller (campaign KPIs)
    key = (data["call_id"], data["queue_id"])
    segment = tenant.segments.get(key)
    if segment is None:
        segment = Segment(data["call_id"], data["queue_id"], at, data.get("priority", 0))
        tenant.segments[key] = segment
        tenant.segments_by_slot.setdefault(slot_of(at), []).append(segment)
    tenant.current[segment.call_id] = segment


def _segment(tenant: Tenant, data: Data) -> Segment | None:
    segment = tenant.segments.get((data["call_id"], data.get("queue_id", "")))
    return segment or tenant.current.get(data["call_id"])


def _offered(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    agent.count(slot_of(at), "offers")
    agent.call_id = data["call_id"]
    agent.enter("ringing", at)


def _offer_declined(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    agent.count(slot_of(at), "missed" if data["reason"] == "timed_out" else "rejected")
    _offer_withdrawn(tenant, data, at)


def _offer_withdrawn(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    if agent.state == "ringing" and agent.call_id == data["call_id"]:
        agent.call_id = None
        agent.enter("idle", at)


def _answered(tenant: Tenant, data: Data, at: float) -> None:
    segment = _segment(tenant, data)
    agent_id = data["agent_id"]
    # An agent dialing a caller back: the visit ended with the request (out of the service
    # level), and the dial is counted by its CallbackCompleted.
    if segment is not None and segment.outcome != "callback":
        # A transferred call answered again keeps its first answer's wait (its ASA).
        if segment.outcome != "answered":
            segment.wait, segment.ring = data["wait"], data.get("ring", 0.0)
        segment.outcome, segment.agent_id = "answered", agent_id
        leg = Leg(segment.call_id, agent_id, segment.queue_id, segment.queued_at, data["wait"])
        tenant.legs[(segment.call_id, agent_id)] = leg
        tenant.legs_by_slot.setdefault(slot_of(segment.queued_at), []).append(leg)
    agent = tenant.agent(agent_id)
    agent.call_id = data["call_id"]
    agent.enter("talk", at)


def _abandoned(tenant: Tenant, data: Data, at: float) -> None:
    segment = _segment(tenant, data)
    # Hanging up while a transfer rings another agent: the visit was answered already.
    if segment is not None and segment.outcome != "answered":
        segment.outcome, segment.wait = "abandoned", data["wait"]


def _exited(tenant: Tenant, data: Data, at: float) -> None:
    segment = _segment(tenant, data)
    if segment is not None:
        segment.outcome, segment.exit_reason = "exited", data["reason"]
        segment.wait = data.get("wait", at - segment.queued_at)


def _ended(tenant: Tenant, data: Data, at: float) -> None:
    call_id, agent_id = data["call_id"], data["agent_id"]
    talk, hold = data["talk"], data.get("hold", 0.0)
    segment = tenant.current.get(call_id)
    if segment is not None and segment.agent_id == agent_id:
        # Added up: a call handed over to a second agent (consult) has two parts.
        segment.talk = (segment.talk or 0.0) + talk
        segment.hold += hold
    leg = tenant.legs.get((call_id, agent_id))
    if leg is not None:
        leg.talk = (leg.talk or 0.0) + talk
        leg.hold += hold  # passed on or not: CallTransferred says (a takeover is not)
    elif (outbound := tenant.campaign_calls.get(call_id)) is not None:
        if outbound.agent_id == agent_id:
            outbound.talk = (outbound.talk or 0.0) + talk
            outbound.hold += hold
    if tenant.supervising and not data.get("transferred"):
        _call_over(tenant, call_id, at)
    agent = tenant.agent(agent_id)
    if agent.call_id == call_id:
        agent.enter("idle", at)


def _wrap_up_started(tenant: Tenant, data: Data, at: float) -> None:
    agent = tenant.agent(data["agent_id"])
    agent.call_id = data["call_id"]
    agent.enter("wrap", at)


def _wrap_up_ended(tenant: Tenant, data: Data, at: float) -> None:
    # Routing names the queue of the call wrapped up: after a transfer the wrap-up
    # belongs to that visit, whoever holds the caller now.
    segment = _segment(tenant, data)
    if segment is not None and (data.get("queue_id") or segment.agent_id == data["agent_id"]):
        segment.wrap += data["wrap"]
    leg = tenant.legs.get((data["call_id"], data["agent_id"]))
    if leg is not None:
        leg.wrap += data["wrap"]
    elif (outbound := tenant.campaign_calls.get(data["call_id"])) is not None:
        if outbound.agent_id == data["agent_id"]:
            outbound.wrap += data["wrap"]
    agent = tenant.agent(data["agent_id"])
    agent.call_id = None
    if agent.state == "wrap":
        agent.enter("idle", at)


def _transferred(tenant: Tenant, data: Data, at: float) -> None:
    segment = tenant.current.get(data["call_id"])
    if segment is not None:
        segment.transferred = True
    leg = tenant.legs.get((data["call_id"], data["from_agent_id"]))
    if leg is not None:
        leg.transferred = True


# Routing: a second agent on the caller's call ----------------------------------------


def _joins(tenant: Tenant, agent_id: str, call_id: str, state: str, at: float) -> None:
    agent = tenant.agent(agent_id)
    agent.count(slot_of(at), f"{state}s")
    agent.call_id = call_id
    agent.enter(state, at)


def _leaves(tenant: Tenant, agent_id: str, call_id: str, state: str, at: float) -> None:
    agent = tenant.agent(agent_id)
    if agent.state == state and agent.call_id == call_id:
        agent.call_id = None
        agent.enter("idle", at)


def _consult_started(tenant: Tenant, data: Data, at: float) -> None:
    _joins(tenant, data["consult_agent_id"], data["call_id"], "consult", at)


def _consult_ended(tenant: Tenant, data: Data, at: float) -> None:
    _leaves(tenant, data["consult_agent_id"], data["call_id"], "consult", at)


def _conferenced(tenant: Tenant, data: Data, at: float) -> None:
    _joins(tenant, data["party_agent_id"], data["call_id"], "conference", at)


def _party_left(tenant: Tenant, data: Data, at: float) -> None:
    _leaves(tenant, data["party_agent_id"], data["call_id"], "conference", at)


# Routing: supervisors ------------------------------------------------------------------


def _supervisor_joined(tenant: Tenant, data: Data, at: float) -> None:
    key = (data["call_id"], data["supervisor_id"])
    found = tenant.supervising.get(key)
    if found is not None:  # the same supervisor changing mode (monitor, then barge)
        found.duration = max(0.0, at - found.joined_at)
    found = Supervision(data["call_id"], data["agent_id"], data["supervisor_id"], data["mode"], at)
    tenant.supervising[key] = found
    tenant.supervisions_by_slot.setdefault(slot_of(at), []).append(found)


def _supervisor_left(tenant: Tenant, data: Data, at: float) -> None:
    found = tenant.supervising.pop((data["call_id"], data["supervisor_id"]), None)
    if found is None:
        for found in tenant.supervisions_by_slot.get(slot_of(at - data["duration"]), ()):
            if found.call_id == data["call_id"] and found.supervisor_id == data["supervisor_id"]:
                break
        else:
            found = Supervision(data["call_id"], data["agent_id"], data["supervisor_id"],
                                "monitor", at - data["duration"])  # fmt: skip
            tenant.supervisions_by_slot.setdefault(slot_of(found.joined_at), []).append(found)
    found.duration = data["duration"]


def _call_over(tenant: Tenant, call_id: str, at: float) -> None:
    """The call ended: supervisors still on it (no SupervisorLeft seen) are off it."""
    for key in [key for key in tenant.supervising if key[0] == call_id]:
        found = tenant.supervising.pop(key)
        found.duration = max(0.0, at - found.joined_at)


# Routing: outbound campaigns -----------------------------------------------------------


def _campaign_configured(tenant: Tenant, data: Data, at: float) -> None:
    tenant.campaigns[data["campaign_id"]] = {
        "name": data.get("name", ""),
        "config": data.get("config", {}),
    }


def _campaign_call(tenant: Tenant, data: Data, at: float) -> CampaignCall:
    call = tenant.campaign_calls.get(data["call_id"])
    if call is None:
        call = CampaignCall(data["campaign_id"], data["call_id"], data["contact_id"], at)
        tenant.campaign_calls[call.call_id] = call
        tenant.campaign_calls_by_slot.setdefault(slot_of(at), []).append(call)
    if data.get("queue_id"):
        call.queue_id = data["queue_id"]
    return call


def _contact_attempted(tenant: Tenant, data: Data, at: float) -> None:
    call = _campaign_call(tenant, data, at)
    call.agent_id = data.get("agent_id") or call.agent_id


def _contact_answered(tenant: Tenant, data: Data, at: float) -> None:
    call = _campaign_call(tenant, data, at)
    call.outcome, call.agent_id, call.wait = "answered", data["agent_id"], data.get("wait", 0.0)
    agent = tenant.agent(data["agent_id"])
    if not (agent.state == "talk" and agent.call_id == call.call_id):
        agent.call_id = call.call_id
        agent.enter("talk", at)


def _contact_not_reached(tenant: Tenant, data: Data, at: float) -> None:
    _campaign_call(tenant, data, at).outcome = data["outcome"]


def _contact_abandoned(tenant: Tenant, data: Data, at: float) -> None:
    call = _campaign_call(tenant, data, at)
    call.outcome, call.wait = "abandoned", data.get("wait", 0.0)


def _contact_dispositioned(tenant: Tenant, data: Data, at: float) -> None:
    call = _campaign_call(tenant, data, at)
    call.disposition, call.completed = data["disposition"], bool(data["completed"])
    call.customer_id = data.get("customer_id") or call.customer_id
    call.agent_id = call.agent_id or data["agent_id"]
    call.dispositioned_at = at


def _callback_requested(tenant: Tenant, data: Data, at: float) -> None:
    segment = _segment(tenant, data)
    if segment is not None and segment.outcome is None:
        segment.outcome, segment.wait = "callback", at - segment.queued_at


def _callback_completed(tenant: Tenant, data: Data, at: float) -> None:
    _count_callback(tenant, at, data["outcome"])


def _count_callback(tenant: Tenant, at: float, name: str) -> None:
    counts = tenant.callbacks_by_slot.setdefault(slot_of(at), {})
    counts[name] = counts.get(name, 0) + 1


# IVR ---------------------------------------------------------------------------------


def _arrived(tenant: Tenant, data: Data, at: float) -> None:
    call = tenant.ivr_calls.get(data["call_id"])
    if call is None:
        call = tenant.ivr_calls[data["call_id"]] = IvrCall(at)
        tenant.ivr_by_slot.setdefault(slot_of(at), []).append(call)


def _node_entered(tenant: Tenant, data: Data, at: float) -> None:
    call = tenant.ivr_calls.get(data["call_id"])
    if call is not None:
        call.last_node = data["node_id"]


def _ivr_completed(tenant: Tenant, data: Data, at: float) -> None:
    call = tenant.ivr_calls.get(data["call_id"])
    if call is not None:
        call.outcome = data["outcome"]


def _survey_offered(tenant: Tenant, data: Data, at: float) -> None:
    offer = SurveyOffer(at, data["call_id"], data.get("queue_id"), data.get("agent_id"))
    tenant.survey_offers_by_slot.setdefault(slot_of(at), []).append(offer)


def _survey_answered(tenant: Tenant, data: Data, at: float) -> None:
    tenant.surveyed_calls.add(data["call_id"])
    survey = Survey(at, data["call_id"], data.get("queue_id"), data.get("agent_id"),
                    int(data["score"]))  # fmt: skip
    tenant.surveys_by_slot.setdefault(slot_of(at), []).append(survey)


# Work orders -------------------------------------------------------------------------


def _ticket_opened(tenant: Tenant, data: Data, at: float) -> None:
    ticket = Ticket(data.get("type", ""), at, data.get("customer_id"))
    tenant.tickets.setdefault(data["ticket_id"], ticket)


def _ticket_resolved(tenant: Tenant, data: Data, at: float) -> None:
    ticket = tenant.tickets.get(data["ticket_id"])
    if ticket is not None:
        ticket.resolved_at, ticket.resolved_by = at, data.get("by")
        ticket.first_contact_resolution = bool(data.get("first_contact_resolution"))


def _ticket_reopened(tenant: Tenant, data: Data, at: float) -> None:
    ticket = tenant.tickets.get(data["ticket_id"])
    if ticket is not None:
        ticket.resolved_at, ticket.resolved_by, ticket.first_contact_resolution = None, None, False


def _sla_clock_changed(tenant: Tenant, data: Data, at: float) -> None:
    ticket = tenant.tickets.get(data["ticket_id"])
    if ticket is not None and data["transition"] == "met":
        ticket.sla.setdefault(data["metric"], (True, at))


def _sla_breached(tenant: Tenant, data: Data, at: float) -> None:
    ticket = tenant.tickets.get(data["ticket_id"])
    if ticket is not None:
        settled = ticket.sla.get(data["metric"])
        if settled is None or settled[0]:
            ticket.sla[data["metric"]] = (False, at)


Handler = Callable[[Tenant, Data, float], None]

_HANDLERS: dict[str, Handler] = {
    "QueueConfigured": _queue_configured,
    "QueueRemoved": _queue_removed,
    "AgentConfigured": _agent_configured,
    "AgentLoggedIn": _logged_in,
    "AgentReady": _ready,
    "AgentNotReady": _not_ready,
    "AgentLoggedOut": _logged_out,
    "CallQueued": _queued,
    "CallOffered": _offered,
    "CallOfferDeclined": _offer_declined,
    "CallOfferCancelled": _offer_withdrawn,
    "CallAnswered": _answered,
    "CallAbandoned": _abandoned,
    "CallExitedQueue": _exited,
    "CallEnded": _ended,
    "AgentWrapUpStarted": _wrap_up_started,
    "AgentWrapUpEnded": _wrap_up_ended,
    "CallTransferred": _transferred,
    "CallConsultStarted": _consult_started,
    "CallConsultEnded": _consult_ended,
    "CallConferenced": _conferenced,
    "CallPartyLeft": _party_left,
    "SupervisorJoined": _supervisor_joined,
    "SupervisorLeft": _supervisor_left,
    "CampaignConfigured": _campaign_configured,
    "ContactAttempted": _contact_attempted,
    "ContactAnswered": _contact_answered,
    "ContactNotReached": _contact_not_reached,
    "ContactAbandoned": _contact_abandoned,
    "ContactDispositioned": _contact_dispositioned,
    "CallbackRequested": _callback_requested,
    "CallbackCompleted": _callback_completed,
    "CallArrived": _arrived,
    "IvrNodeEntered": _node_entered,
    "IvrCompleted": _ivr_completed,
    "SurveyOffered": _survey_offered,
    "SurveyAnswered": _survey_answered,
    "TicketOpened": _ticket_opened,
    "TicketResolved": _ticket_resolved,
    "TicketReopened": _ticket_reopened,
    "TicketSlaClockChanged": _sla_clock_changed,
    "TicketSlaBreached": _sla_breached,
}
