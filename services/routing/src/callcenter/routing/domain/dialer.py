"""The outbound side of the decider: campaign commands, the edge's reports, and the
dialer, which runs after every decision of a tenant with campaigns (so a freed
agent, a retry coming due or a window opening are acted on at once).

Inbound comes first: the dialer only uses agents still ready after the inbound
callers were dispatched. An answered callee waiting for an agent (predictive)
comes before everything else: the next free agent of the queue takes them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from callcenter.events.catalogue import routing as ev
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.campaigns import (
    RING_SECONDS,
    Campaign,
    Contact,
    Leg,
    consent_allows,
    in_window,
    may_overdial,
    pacing_ratio,
    retry_at,
)
from callcenter.routing.domain.errors import Conflict, Invalid, NotFound
from callcenter.routing.domain.pools import base_pool_holds
from callcenter.routing.domain.state import Agent, Queue, RoutingState

if TYPE_CHECKING:
    from callcenter.routing.domain.decide import _Decision


def campaign_of(d: _Decision, campaign_id: str) -> Campaign:
    try:
        return d.state.campaigns[campaign_id]
    except KeyError:
        raise NotFound(f"campaign {campaign_id!r} does not exist") from None


# -- commands --------------------------------------------------------------------------


def configure(d: _Decision, c: cmd.ConfigureCampaign) -> None:
    if c.config.queue_id not in d.state.queues:
        raise Invalid(f"queue_id: queue {c.config.queue_id!r} does not exist")
    campaign = d.state.campaigns.get(c.campaign_id)
    if campaign is not None and campaign.status == "completed":
        raise Conflict(f"campaign {c.campaign_id!r} is completed")
    d.emit(
        ev.CampaignConfigured(
            at=d.now,
            campaign_id=c.campaign_id,
            name=c.config.name,
            config=c.config.model_dump(mode="json"),
        )
    )


def add_contacts(d: _Decision, c: cmd.AddContacts) -> None:
    campaign = campaign_of(d, c.campaign_id)
    if campaign.status == "completed":
        raise Conflict(f"campaign {c.campaign_id!r} is completed")
    new = [row for row in c.contacts if row["contact_id"] not in campaign.contacts]
    if not new:
        raise Invalid("contacts: no new contact in the list")
    d.emit(ev.CampaignContactsAdded(at=d.now, campaign_id=campaign.id, contacts=new))


def apply_screening(d: _Decision, c: cmd.ApplyScreening) -> None:
    campaign = d.state.campaigns.get(c.campaign_id)
    if campaign is None:
        return  # another service's event about a campaign this tenant does not hold
    results = [r for r in c.results if r.get("contact_id") in campaign.contacts]
    if results:
        d.emit(ev.ContactsScreened(at=d.now, campaign_id=campaign.id, results=results))


def start(d: _Decision, c: cmd.StartCampaign) -> None:
    campaign = campaign_of(d, c.campaign_id)
    if campaign.status != "draft":
        hint = ": resume it" if campaign.status == "paused" else ""
        raise Conflict(f"campaign {campaign.id!r} is {campaign.status}{hint}")
    d.emit(ev.CampaignStarted(at=d.now, campaign_id=campaign.id))


def pause(d: _Decision, c: cmd.PauseCampaign) -> None:
    campaign = campaign_of(d, c.campaign_id)
    if campaign.status != "running":
        raise Conflict(f"campaign {campaign.id!r} is {campaign.status}, not running")
    d.emit(ev.CampaignPaused(at=d.now, campaign_id=campaign.id, reason="supervisor"))


def resume(d: _Decision, c: cmd.ResumeCampaign) -> None:
    campaign = campaign_of(d, c.campaign_id)
    if campaign.status != "paused":
        raise Conflict(f"campaign {campaign.id!r} is {campaign.status}, not paused")
    d.emit(ev.CampaignResumed(at=d.now, campaign_id=campaign.id))


def set_dnc(d: _Decision, c: cmd.SetDoNotCall) -> None:
    d.emit(ev.DoNotCallListSet(at=d.now, numbers=sorted(set(c.numbers))))


def dial_preview(d: _Decision, c: cmd.DialContact) -> None:
    campaign = campaign_of(d, c.campaign_id)
    contact = campaign.contacts.get(c.contact_id)
    if contact is None:
        raise NotFound(f"contact {c.contact_id!r} is not in campaign {campaign.id!r}")
    leg = d.state.legs.get(contact.call_id or "")
    if leg is None or leg.status != "preview":
        raise Conflict(f"contact {contact.id!r} is not being previewed")
    if leg.agent_id != c.agent_id:
        raise Conflict(f"contact {contact.id!r} is previewed by agent {leg.agent_id!r}")
    if not in_window(campaign.config.windows, contact.time_zones, d.now):
        raise Conflict(f"contact {contact.id!r} is outside its calling hours")
    if contact.number in d.state.dnc:
        raise Conflict(f"contact {contact.id!r} is on the do-not-call list now")
    request(d, campaign, contact, leg.call_id, leg.agent_id)


def report(d: _Decision, c: cmd.ReportOutbound) -> None:
    """What became of a leg (the IVR edge's OutboundCallStatus)."""
    leg = d.state.legs.get(c.call_id)
    if leg is None or leg.status != "dialing":
        return  # reported twice, or after the leg timed out
    campaign = d.state.campaigns[leg.campaign_id]
    contact = campaign.contacts[leg.contact_id]
    if c.status == "answered":
        agent = d.state.agents.get(leg.agent_id or "")
        if agent is None or agent.status != "offered" or agent.call_id != leg.call_id:
            agent = free_agent(d.state, d.state.queues.get(campaign.config.queue_id))
        if agent is not None:
            answered(d, campaign, leg, agent)
        else:
            d.emit(
                ev.ContactConnecting(
                    at=d.now,
                    campaign_id=campaign.id,
                    contact_id=contact.id,
                    call_id=leg.call_id,
                    queue_id=campaign.config.queue_id,
                )
            )
        return
    not_reached(d, campaign, leg, c.status)


def answered(d: _Decision, campaign: Campaign, leg: Leg, agent: Agent) -> None:
    wait = (d.now - leg.since).total_seconds() if leg.status == "connecting" else 0.0
    d.emit(
        ev.ContactAnswered(
            at=d.now,
            campaign_id=campaign.id,
            contact_id=leg.contact_id,
            call_id=leg.call_id,
            agent_id=agent.id,
            queue_id=campaign.config.queue_id,
            wait=max(0.0, wait),
        )
    )


def take_connecting(d: _Decision, agent: Agent) -> bool:
    """A freed agent takes the callee waiting longest for an agent of their queue."""
    waiting = sorted(
        (leg for leg in d.state.legs.values() if leg.status == "connecting"),
        key=lambda leg: (leg.since, leg.call_id),
    )
    for leg in waiting:
        campaign = d.state.campaigns[leg.campaign_id]
        queue = d.state.queues.get(campaign.config.queue_id)
        if queue is not None and base_pool_holds(queue.config, agent.config):
            answered(d, campaign, leg, agent)
            return True
    return False


def not_reached(
    d: _Decision, campaign: Campaign, leg: Leg, outcome: str, final: bool = False
) -> None:
    contact = campaign.contacts[leg.contact_id]
    again = None if final else retry_at(campaign.config, outcome, contact.attempts, d.now)
    reserved = d.state.agents.get(leg.agent_id or "")
    d.emit(
        ev.ContactNotReached(
            at=d.now,
            campaign_id=campaign.id,
            contact_id=contact.id,
            call_id=leg.call_id,
            outcome=outcome,
            attempt=contact.attempts,
            retry_at=again,
        )
    )
    if reserved is not None:
        d.dispatch_agent(reserved)  # back to ready: inbound callers first


def deadline(d: _Decision, kind: str, key: str, when: datetime) -> None:
    leg = d.state.legs.get(key)
    if leg is None:
        return
    campaign = d.state.campaigns[leg.campaign_id]
    if kind == "preview" and leg.status == "preview":
        contact = campaign.contacts[leg.contact_id]
        if contact.number in d.state.dnc:  # listed while the card was shown: never
            not_reached(d, campaign, leg, "failed", final=True)
        elif in_window(campaign.config.windows, contact.time_zones, d.now):
            request(d, campaign, contact, leg.call_id, leg.agent_id)
        else:
            not_reached(d, campaign, leg, "failed")
    elif kind == "outbound" and leg.status == "dialing":
        not_reached(d, campaign, leg, "failed")  # the edge never reported the leg
    elif kind == "abandon" and leg.status == "connecting":
        d.emit(
            ev.ContactAbandoned(
                at=d.now,
                campaign_id=campaign.id,
                contact_id=leg.contact_id,
                call_id=leg.call_id,
                queue_id=campaign.config.queue_id,
                wait=max(0.0, (d.now - leg.since).total_seconds()),
            )
        )


# -- the dialer ------------------------------------------------------------------------


def free_agents(state: RoutingState, queue: Queue | None) -> list[Agent]:
    """Ready agents of the queue's base pool, the longest idle first."""
    if queue is None:
        return []
    agents = [
        state.agents[agent_id]
        for agent_id in state.ready
        if base_pool_holds(queue.config, state.agents[agent_id].config)
    ]
    return sorted(agents, key=lambda a: (a.idle_since or a.since or datetime.min, a.id))


def free_agent(state: RoutingState, queue: Queue | None) -> Agent | None:
    agents = free_agents(state, queue)
    return agents[0] if agents else None


def dialable(
    state: RoutingState,
    campaign: Campaign,
    contact: Contact,
    now: datetime,
    windows_open: dict[tuple[str, ...], bool] | None = None,
) -> bool:
    """Every rule for dialing this contact now (cheap checks first). ``windows_open``
    remembers the window check per set of zones within one pass."""
    config = campaign.config
    if contact.status != "pending" or contact.attempts >= config.max_attempts:
        return False
    if contact.next_at is not None and now < contact.next_at:
        return False
    if not consent_allows(contact, config.marketing) or contact.number in state.dnc:
        return False
    if contact.number in state.numbers_in_use:
        return False
    memo = windows_open if windows_open is not None else {}
    inside = memo.get(contact.time_zones)
    if inside is None:
        inside = in_window(config.windows, contact.time_zones, now)
        if inside and config.mode == "preview":  # the card's time must end inside too
            later = now + timedelta(seconds=config.preview_seconds)
            inside = in_window(config.windows, contact.time_zones, later)
        memo[contact.time_zones] = inside
    return inside


def next_contact(state: RoutingState, campaign: Campaign, now: datetime) -> Contact | None:
    """The first dialable contact: retries due first, then the untried in upload order."""
    windows_open: dict[tuple[str, ...], bool] = {}
    for contact in campaign.candidates(now):
        if dialable(state, campaign, contact, now, windows_open):
            return contact
    return None


def attempt(d: _Decision, campaign: Campaign, contact: Contact, agent: Agent | None) -> None:
    number = contact.attempts + 1
    call_id = f"out:{campaign.id}:{contact.id}:{number}"
    d.emit(
        ev.ContactAttempted(
            at=d.now,
            campaign_id=campaign.id,
            contact_id=contact.id,
            call_id=call_id,
            number=contact.number,
            attempt=number,
            mode=campaign.config.mode,
            agent_id=agent.id if agent else None,
            queue_id=campaign.config.queue_id,
        )
    )
    if campaign.config.mode != "preview":
        request(d, campaign, contact, call_id, agent.id if agent else None)


def request(
    d: _Decision, campaign: Campaign, contact: Contact, call_id: str, agent_id: str | None
) -> None:
    config = campaign.config
    d.emit(
        ev.OutboundCallRequested(
            at=d.now,
            call_id=call_id,
            number=contact.number,
            caller_id=config.caller_id,
            queue_id=config.queue_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            agent_id=agent_id,
            detect_machine=True,
            timeout=config.ring_timeout_seconds,
        )
    )


def exhausted(state: RoutingState, campaign: Campaign) -> bool:
    """Nothing in flight, no conversation still to be dispositioned (it may ask for a
    callback), and nobody left who could ever be dialed."""
    if any(leg.campaign_id == campaign.id for leg in state.legs.values()):
        return False
    if any(link[0] == campaign.id for link in state.campaign_calls.values()):
        return False
    for contact in campaign.contacts.values():
        if contact.status in ("dialing", "talking"):
            return False
        if contact.status == "pending" and contact.attempts < campaign.config.max_attempts:
            blocked = contact.screened and not consent_allows(contact, campaign.config.marketing)
            if not blocked and contact.number not in state.dnc:
                return False
    return True


def run(d: _Decision) -> None:
    state, now = d.state, d.now
    connecting = sorted(
        (leg for leg in state.legs.values() if leg.status == "connecting"),
        key=lambda leg: (leg.since, leg.call_id),
    )
    for leg in connecting:
        campaign = state.campaigns[leg.campaign_id]
        agent = free_agent(state, state.queues.get(campaign.config.queue_id))
        if agent is not None:
            answered(d, campaign, leg, agent)
    running = sorted(
        (c for c in state.campaigns.values() if c.status == "running"),
        key=lambda c: (-c.config.priority, c.id),
    )
    for campaign in running:
        config = campaign.config
        if config.ends_at is not None and now >= config.ends_at:
            d.emit(ev.CampaignCompleted(at=now, campaign_id=campaign.id, reason="ended"))
            continue
        if config.starts_at is not None and now < config.starts_at:
            continue
        queue = state.queues.get(config.queue_id)
        if config.mode == "predictive" and may_overdial(campaign, now):
            _dial_predictive(d, campaign, queue)
        else:
            while (agent := free_agent(state, queue)) is not None:
                contact = next_contact(state, campaign, now)
                if contact is None:
                    break
                attempt(d, campaign, contact, agent)
        if campaign.contacts and exhausted(state, campaign):
            d.emit(ev.CampaignCompleted(at=now, campaign_id=campaign.id, reason="exhausted"))


def _dial_predictive(d: _Decision, campaign: Campaign, queue: Queue | None) -> None:
    """Dial (agents available soon) x pacing ratio, less the calls already in flight.

    Available soon: the ready agents, plus each busy agent of the queue for the
    chance that they free up within a ring (ring time / handle time)."""
    if queue is None:
        return
    state = d.state
    ready = len(free_agents(state, queue))
    busy = sum(
        1
        for agent_id, queues in state.members.items()
        if queue.id in queues and state.agents[agent_id].status in ("on_call", "wrap_up")
    )
    soon = busy * min(1.0, RING_SECONDS / max(queue.handle_seconds, 1.0))
    in_flight = sum(
        1
        for leg in state.legs.values()
        if leg.campaign_id == campaign.id and leg.status in ("dialing", "connecting")
    )
    target = math.floor((ready + soon) * pacing_ratio(campaign, d.now) + 1e-9) - in_flight
    for _ in range(max(0, target)):
        contact = next_contact(state, campaign, d.now)
        if contact is None:
            return
        attempt(d, campaign, contact, None)
