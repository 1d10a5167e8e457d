"""The dialer's invariants, whatever happens (hypothesis): a number is never dialed
twice at the same time, never outside its calling window, never on the do-not-call
list, never without consent, and never more often than the campaign's attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.events.catalogue import registry
from callcenter.events.catalogue import routing as ev
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.campaigns import (
    CampaignConfig,
    consent_allows,
    in_window,
    parse_contacts,
)
from callcenter.routing.domain.errors import RoutingError
from callcenter.routing.domain.snapshot import from_snapshot, snapshot_bytes, to_snapshot
from callcenter.routing.domain.state import RoutingState, evolve

# Tokyo, Paris, New York, Los Angeles, Sydney; the same number twice on purpose.
NUMBERS = ["+81312345678", "+33612345678", "+12125550123", "+13105550123", "+61212345678",
           "+33612345678", "+12025550123"]  # fmt: skip
START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # the weekend US DST begins

operation = st.one_of(
    st.tuples(st.just("report"), st.integers(0, 9),
              st.sampled_from(["answered", "no_answer", "busy", "machine", "failed"])),
    st.tuples(st.just("wait"), st.sampled_from([1, 3, 30, 600, 3600, 4 * 3600])),
    st.tuples(st.just("hangup"), st.integers(0, 9)),
    st.tuples(st.just("dnc"), st.lists(st.sampled_from(NUMBERS), max_size=3)),
    st.tuples(st.just("agent"), st.sampled_from(["a1", "a2", "a3"])),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mode=st.sampled_from(["progressive", "predictive", "preview"]),
    marketing=st.booleans(),
    max_attempts=st.integers(1, 3),
    consents=st.lists(
        st.fixed_dictionaries({"calls": st.booleans(), "marketing": st.booleans()}),
        min_size=len(NUMBERS),
        max_size=len(NUMBERS),
    ),
    operations=st.lists(operation, max_size=40),
)
def test_the_dialer_keeps_its_promises(
    desk_factory, mode, marketing, max_attempts, consents, operations
):
    desk = desk_factory()
    desk.now = START
    desk.queue(wrap_up_seconds=5)
    for agent in ("a1", "a2", "a3"):
        desk.agent(agent)
    config = CampaignConfig(
        queue_id="q1",
        mode=mode,
        marketing=marketing,
        max_attempts=max_attempts,
        windows=[{"days": [0, 1, 2, 3, 4, 5], "start": "09:00", "end": "20:00"}],
        retry_delay_seconds={"no_answer": 60, "busy": 30, "machine": 600, "failed": 10,
                             "abandoned": 120},
    )  # fmt: skip
    desk.do(cmd.ConfigureCampaign("camp", config))
    rows, _ = parse_contacts([{"contact_id": f"k{i}", "number": n} for i, n in
                              enumerate(NUMBERS)], set())  # fmt: skip
    desk.do(cmd.AddContacts("camp", rows))
    results = [{"contact_id": f"k{i}", "consent": c} for i, c in enumerate(consents)]
    desk.do(cmd.ApplyScreening("camp", results))
    live: dict[str, str] = {}  # number -> call id, from the events alone

    def check(events) -> None:
        campaign = desk.state.campaigns["camp"]
        for event in events:
            if isinstance(event, ev.ContactAttempted):
                contact = campaign.contacts[event.contact_id]
                assert event.number not in live, "dialed twice at the same time"
                assert event.attempt <= max_attempts
                assert event.number not in desk.state.dnc
                assert consent_allows(contact, marketing)
                live[event.number] = event.call_id
            if isinstance(event, ev.OutboundCallRequested):
                contact = campaign.contacts[event.contact_id]
                assert in_window(config.windows, contact.time_zones, event.at)
                assert event.number not in desk.state.dnc
            if isinstance(event, ev.ContactNotReached | ev.ContactAbandoned):
                live.pop(campaign.contacts[event.contact_id].number)
            if isinstance(event, ev.CallEnded) and event.call_id.startswith("out:"):
                if not event.transferred:
                    live.pop(event.call_id.split(":")[2] and
                             campaign.contacts[event.call_id.split(":")[2]].number)  # fmt: skip
        assert set(live.values()) == set(desk.state.numbers_in_use.values())

    def do(command) -> None:
        try:
            check(desk.do(command))
        except RoutingError:
            pass

    do(cmd.StartCampaign("camp"))
    for op in operations:
        kind = op[0]
        if kind == "report":
            legs = sorted(c for c, leg in desk.state.legs.items() if leg.status == "dialing")
            if legs:
                do(cmd.ReportOutbound(legs[op[1] % len(legs)], op[2]))
        elif kind == "wait":
            desk.now += timedelta(seconds=op[1])
            do(cmd.Tick())
        elif kind == "hangup":
            calls = sorted(c for c in desk.state.calls if c.startswith("out:"))
            if calls:
                do(cmd.HangUp(calls[op[1] % len(calls)], by="caller"))
        elif kind == "dnc":
            do(cmd.SetDoNotCall(op[1]))
        elif kind == "agent":
            agent = desk.state.agents[op[1]]
            if agent.status == "wrap_up":
                do(cmd.FinishWrapUp(op[1]))
            elif agent.status == "ready":
                do(cmd.MakeNotReady(op[1]))
            elif agent.status == "not_ready":
                do(cmd.MakeReady(op[1]))
    for contact in desk.state.campaigns["camp"].contacts.values():
        assert contact.attempts <= max_attempts
    # The log rebuilds the same state, and so does a snapshot (derived indexes too).
    fresh = RoutingState()
    for event in desk.log:
        evolve(fresh, registry.model(event.event_type).model_validate_json(event.model_dump_json()))
    assert snapshot_bytes(fresh) == snapshot_bytes(desk.state)
    reloaded = from_snapshot(to_snapshot(desk.state))
    for campaign_id, campaign in desk.state.campaigns.items():
        again = reloaded.campaigns[campaign_id]
        assert again.retry_order == campaign.retry_order
        later = desk.now + timedelta(days=2)
        # The dialer's indexes miss no contact still to be called.
        pending = {c.id for c in campaign.contacts.values() if c.status == "pending"}
        assert pending == {c.id for c in campaign.candidates(later) if c.status == "pending"}
        assert [c.id for c in again.candidates(later)] == [c.id for c in campaign.candidates(later)]
