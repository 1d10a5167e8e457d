"""Outbound campaigns in the ACD core: modes, calling windows across time zones and DST,
do-not-call and consent, retries per outcome, abandons, dispositions, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.campaigns import (
    CallingWindow,
    CampaignConfig,
    in_window,
    number_time_zones,
    parse_contacts,
)
from callcenter.routing.domain.errors import Conflict, Invalid, NotFound

PARIS = "+33612345601"
NEW_YORK = "+12125550101"
# A Monday, 2026-03-09 13:30 UTC: 14:30 in Paris, 09:30 in New York (US DST began
# on March 8; Europe's begins on March 29).
AFTER_US_DST = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def names(events) -> list[str]:
    return [type(event).__name__ for event in events]


def replays(desk) -> None:
    fresh = desk.replayed()
    if granted := getattr(desk, "granted", None):  # the day's counts afford_abandons gave
        camp = fresh.campaigns["camp"]
        camp.day = camp.day or desk.now.date().isoformat()
        camp.answered_today += granted[0]
        camp.abandoned_today += granted[1]
    desk.assert_replays(fresh)


def numbers(n: int, prefix: str = "+336123450") -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def campaign(desk, mode="progressive", contacts=None, consent=None, start=True, **config):
    """A campaign on queue q1 with screened contacts (consent granted unless said)."""
    if "q1" not in desk.state.queues:
        desk.queue(wrap_up_seconds=0)
    config.setdefault("windows", [{"start": "00:00", "end": "23:59"}])
    desk.do(cmd.ConfigureCampaign("camp", CampaignConfig(queue_id="q1", mode=mode, **config)))
    rows = [{"contact_id": f"k{i}", "number": n} for i, n in enumerate(contacts or [PARIS])]
    good, bad = parse_contacts(rows, set())
    assert not bad
    desk.do(cmd.AddContacts("camp", good))
    consent = consent or {}
    results = [
        {"contact_id": row["contact_id"], "customer_id": None,
         "consent": consent.get(row["contact_id"], {"calls": True, "marketing": True})}
        for row in good
    ]  # fmt: skip
    desk.do(cmd.ApplyScreening("camp", results))
    if start:
        return desk.do(cmd.StartCampaign("camp"))
    return []


def dialed(events) -> list[tuple[str, str | None]]:
    return [(e.number, e.agent_id) for e in events if type(e).__name__ == "OutboundCallRequested"]


def contact(desk, contact_id):
    return desk.state.campaigns["camp"].contacts[contact_id]


# -- the pure rules ----------------------------------------------------------------------


def test_the_time_zone_comes_from_the_number_and_windows_follow_dst():
    assert number_time_zones(PARIS) == ("Europe/Paris",)
    assert number_time_zones(NEW_YORK) == ("America/New_York",)
    with pytest.raises(ValueError, match=r"E\.164"):
        number_time_zones("0612345601")
    nine_to_eight = [CallingWindow(start="09:00", end="20:00")]
    week_before = AFTER_US_DST - timedelta(days=7)  # New York still on EST: 08:30
    assert in_window(nine_to_eight, ("America/New_York",), AFTER_US_DST)
    assert not in_window(nine_to_eight, ("America/New_York",), week_before)
    assert in_window(nine_to_eight, ("Europe/Paris",), week_before)
    # An ambiguous number must be inside the window in every one of its zones.
    assert not in_window(nine_to_eight, ("Europe/Paris", "America/New_York"), week_before)
    weekdays = [CallingWindow(days=[0, 1, 2, 3, 4], start="09:00", end="20:00")]
    assert not in_window(weekdays, ("Europe/Paris",), AFTER_US_DST - timedelta(days=1))


def test_bad_rows_are_reported_with_their_row_and_field_and_good_rows_kept():
    rows = [
        {"contact_id": "a", "number": PARIS},
        {"contact_id": "b", "number": "12"},
        {"contact_id": "a", "number": NEW_YORK},
        {"number": ""},
        {"contact_id": "bad id!", "number": NEW_YORK},
        {"number": "+33 6 12 34 56 02"},
    ]
    good, bad = parse_contacts(rows, {"old"})
    assert [g["number"] for g in good] == [PARIS, "+33612345602"]
    assert good[0]["time_zone"] == "Europe/Paris"
    assert [(b.row, b.field) for b in bad] == [
        (2, "number"),
        (3, "contact_id"),
        (4, "number"),
        (5, "contact_id"),
    ]


def test_invalid_windows_and_schedules_are_refused_naming_the_field():
    with pytest.raises(ValueError, match="start must be before end"):
        CallingWindow(start="20:00", end="09:00")
    with pytest.raises(ValueError, match="starts_at must be before ends_at"):
        CampaignConfig(queue_id="q1", starts_at=AFTER_US_DST, ends_at=AFTER_US_DST)


# -- progressive and preview ----------------------------------------------------------------


def test_progressive_dials_one_contact_per_ready_agent_and_retries_per_outcome(desk):
    desk.agent("alice")
    desk.agent("bob")
    started = campaign(desk, contacts=numbers(3))
    assert names(started)[:3] == ["CampaignStarted", "ContactAttempted", "OutboundCallRequested"]
    assert dialed(started) == [("+33612345000", "alice"), ("+33612345001", "bob")]
    assert (desk.status("alice"), desk.status("bob")) == ("offered", "offered")

    answered = desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))
    assert names(answered) == ["ContactAnswered"] and answered[0].agent_id == "alice"
    assert desk.state.calls["out:camp:k0:1"].agent_id == "alice"

    busy = desk.do(cmd.ReportOutbound("out:camp:k1:1", "busy"))
    assert names(busy)[0] == "ContactNotReached"
    assert busy[0].retry_at == desk.now + timedelta(seconds=600)
    # bob is free again and takes the next contact at once.
    assert dialed(busy) == [("+33612345002", "bob")]

    desk.do(cmd.ReportOutbound("out:camp:k2:1", "machine"))
    assert contact(desk, "k2").next_at == desk.now + timedelta(seconds=7200)
    assert desk.do(cmd.ReportOutbound("out:camp:k2:1", "machine")) == []  # reported twice

    desk.now += timedelta(seconds=600)
    retried = desk.wait(0)
    assert dialed(retried) == [("+33612345001", "bob")]
    assert contact(desk, "k1").attempts == 2
    replays(desk)


def test_inbound_callers_come_before_the_dialer(desk):
    desk.agent("alice")
    campaign(desk, contacts=numbers(2), start=False)
    desk.do(cmd.MakeNotReady("alice"))
    desk.call("in1")
    desk.do(cmd.StartCampaign("camp"))
    ready = desk.do(cmd.MakeReady("alice"))
    assert names(ready) == ["AgentReady", "CallOffered"]


def test_preview_reserves_an_agent_shows_the_card_and_the_agent_dials(desk, event_names):
    desk.agent("alice")
    started = campaign(desk, mode="preview", contacts=numbers(2), preview_seconds=20)
    assert names(started) == ["CampaignStarted", "ContactAttempted"]
    assert started[1].agent_id == "alice" and desk.status("alice") == "offered"
    desk.refuses(cmd.DialContact("camp", "k0", "bob"), Conflict, "previewed by agent 'alice'")
    desk.refuses(cmd.DialContact("camp", "k1", "alice"), Conflict, "not being previewed")
    desk.refuses(cmd.DialContact("camp", "zz", "alice"), NotFound, "contact 'zz'")
    dial = desk.do(cmd.DialContact("camp", "k0", "alice"))
    assert dialed(dial) == [("+33612345000", "alice")]
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "no_answer"))
    # The next card; unanswered by the agent, it dials itself after preview_seconds.
    assert contact(desk, "k1").status == "dialing"
    assert dialed(desk.wait(20)) == [("+33612345001", "alice")]
    replays(desk)


# -- rules: windows, DNC, consent, attempts ---------------------------------------------------


def test_only_contacts_inside_their_window_are_dialed_dst_included(desk):
    desk.now = AFTER_US_DST - timedelta(days=7)  # 08:30 in New York, 14:30 in Paris
    for name in ("alice", "bob"):
        desk.agent(name)
    started = campaign(
        desk, contacts=[NEW_YORK, PARIS], windows=[{"start": "09:00", "end": "20:00"}]
    )
    assert dialed(started) == [(PARIS, "alice")]
    desk.do(cmd.ReportOutbound("out:camp:k1:1", "answered"))
    assert dialed(desk.wait(1799)) == []
    assert dialed(desk.wait(1)) == [(NEW_YORK, "bob")]  # 09:00 in New York


def test_dnc_and_consent_keep_numbers_from_being_dialed(desk):
    for name in ("a1", "a2", "a3", "a4"):
        desk.agent(name)
    desk.do(cmd.SetDoNotCall(["+33612345001"]))
    consent = {"k2": {"calls": False}, "k3": {"calls": True, "marketing": False}}
    started = campaign(desk, contacts=numbers(5), consent=consent, marketing=True)
    assert [n for n, _ in dialed(started)] == ["+33612345000", "+33612345004"]


def test_a_service_campaign_ignores_the_marketing_flag_and_unscreened_contacts_wait(desk):
    desk.agent("alice")
    desk.agent("bob")
    campaign(desk, contacts=numbers(1), consent={"k0": {"marketing": False}}, start=False)
    rows, _ = parse_contacts([{"contact_id": "late", "number": NEW_YORK}], set())
    desk.do(cmd.AddContacts("camp", rows))
    started = desk.do(cmd.StartCampaign("camp"))
    assert [n for n, _ in dialed(started)] == ["+33612345000"]  # "late" is not screened
    screened = desk.do(
        cmd.ApplyScreening("camp", [{"contact_id": "late", "consent": {"calls": True}}])
    )
    assert [n for n, _ in dialed(screened)] == [NEW_YORK]


def test_attempts_stop_at_the_maximum_and_the_campaign_completes(desk):
    desk.agent("alice")
    campaign(desk, contacts=numbers(1), max_attempts=2,
             retry_delay_seconds={"no_answer": 60})  # fmt: skip
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "no_answer"))
    desk.now += timedelta(seconds=60)
    assert len(dialed(desk.wait(0))) == 1
    last = desk.do(cmd.ReportOutbound("out:camp:k0:2", "no_answer"))
    assert names(last)[0] == "ContactNotReached" and last[0].retry_at is None
    assert names(last)[-1] == "CampaignCompleted" and last[-1].reason == "exhausted"
    assert contact(desk, "k0").status == "done"


def test_campaign_commands_refused_in_the_wrong_state(desk):
    desk.queue()
    desk.refuses(cmd.StartCampaign("nope"), NotFound, "campaign 'nope'")
    desk.refuses(
        cmd.ConfigureCampaign("c2", CampaignConfig(queue_id="ghost")),
        Invalid,
        "queue_id: queue 'ghost'",
    )
    campaign(desk, contacts=numbers(1), start=False)
    desk.refuses(cmd.PauseCampaign("camp"), Conflict, "not running")
    desk.refuses(cmd.ResumeCampaign("camp"), Conflict, "not paused")
    desk.do(cmd.StartCampaign("camp"))
    desk.refuses(cmd.StartCampaign("camp"), Conflict, "is running")
    desk.do(cmd.PauseCampaign("camp"))
    desk.refuses(cmd.StartCampaign("camp"), Conflict, "resume it")
    desk.refuses(cmd.RemoveQueue("q1"), Conflict, "dials for campaign(s) camp")


def test_a_paused_campaign_dials_nobody_until_resumed(desk):
    desk.agent("alice", ready=False)
    campaign(desk, contacts=numbers(2))
    desk.do(cmd.PauseCampaign("camp"))
    assert dialed(desk.do(cmd.MakeReady("alice"))) == []
    assert len(dialed(desk.do(cmd.ResumeCampaign("camp")))) == 1


# -- predictive -------------------------------------------------------------------------------


def afford_abandons(desk, answered: int = 100, abandoned: int = 0) -> list:
    """As if the day had seen ``answered`` more callees (and ``abandoned`` more of them
    abandoned) before: the abandon cap's budget. ``replays`` knows of it."""
    desk.do(cmd.PauseCampaign("camp"))
    camp = desk.state.campaigns["camp"]
    today = desk.now.date().isoformat()
    if camp.day != today:
        camp.day, camp.answered_today, camp.abandoned_today = today, 0, 0
    camp.answered_today += answered
    camp.abandoned_today += abandoned
    before = getattr(desk, "granted", (0, 0))
    desk.granted = (before[0] + answered, before[1] + abandoned)
    return desk.do(cmd.ResumeCampaign("camp"))


def test_predictive_overdials_and_abandons_a_callee_no_agent_takes_within_the_wait(desk):
    desk.agent("alice", ready=False)
    desk.agent("bob", ready=False)
    campaign(desk, mode="predictive", contacts=numbers(10))
    afford_abandons(desk)
    started = dialed(desk.do(cmd.MakeReady("alice"))) + dialed(desk.do(cmd.MakeReady("bob")))
    # Answer rate 0.5 before any measure: 2 calls per ready agent, none reserved.
    assert [a for _, a in started] == [None] * 4
    first = desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))
    assert names(first) == ["ContactAnswered"] and first[0].agent_id == "alice"
    desk.do(cmd.ReportOutbound("out:camp:k1:1", "answered"))
    waiting = desk.do(cmd.ReportOutbound("out:camp:k2:1", "answered"))
    assert names(waiting) == ["ContactConnecting"]

    desk.now += timedelta(seconds=1)
    freed = desk.do(cmd.HangUp("out:camp:k0:1", by="caller"))  # alice frees in time
    taken = [e for e in freed if type(e).__name__ == "ContactAnswered"]
    assert taken[0].agent_id == "alice" and taken[0].wait == 1

    late = desk.do(cmd.ReportOutbound("out:camp:k3:1", "answered"))
    assert names(late)[0] == "ContactConnecting"
    abandoned = desk.wait(2)
    assert "ContactAbandoned" in names(abandoned)
    camp = desk.state.campaigns["camp"]
    assert camp.abandoned == 1 and camp.abandon_rate_today(desk.now) == 1 / 104
    assert contact(desk, "k3").next_at == desk.now + timedelta(seconds=3600)
    replays(desk)


def test_predictive_pacing_falls_to_one_call_per_agent_at_the_abandon_cap(desk):
    from callcenter.routing.domain.campaigns import pacing_ratio

    desk.agent("alice", ready=False)
    campaign(desk, mode="predictive", contacts=numbers(3))
    camp = desk.state.campaigns["camp"]
    camp.answer_rate = 0.25
    assert pacing_ratio(camp, desk.now) == 3.0  # 1 / 0.25, capped at max_ratio 3
    camp.day, camp.answered_today, camp.abandoned_today = desk.now.date().isoformat(), 100, 2
    assert 1.0 < pacing_ratio(camp, desk.now) < 3.0
    camp.abandoned_today = 3
    assert pacing_ratio(camp, desk.now) == 1.0


def test_a_day_that_cannot_afford_an_abandon_dials_predictive_calls_with_an_agent_each(desk):
    """Early in the day (or after abandons) one more abandon would break the cap: the
    predictive campaign reserves an agent per call, like a progressive one."""
    desk.agent("alice")
    desk.agent("bob")
    started = campaign(desk, mode="predictive", contacts=numbers(10))
    assert sorted(a for _, a in dialed(started)) == ["alice", "bob"]  # 0 answered: no budget
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))
    desk.do(cmd.ReportOutbound("out:camp:k1:1", "answered"))
    assert desk.state.campaigns["camp"].abandoned == 0
    assert dialed(afford_abandons(desk, answered=40, abandoned=0)) == []  # both agents talk
    freed = desk.do(cmd.HangUp("out:camp:k0:1", by="caller"))
    unreserved = [a for _, a in dialed(freed)]
    assert unreserved and set(unreserved) == {None}  # 40 answered: 1.2 abandons to spend
    spent = dialed(afford_abandons(desk, answered=0, abandoned=1))
    assert [a for _, a in spent] == ["alice"]  # the budget spent: an agent per call again
    replays(desk)


# -- dispositions ---------------------------------------------------------------------------


def test_a_campaign_calls_disposition_completes_the_contact_or_schedules_a_callback(desk):
    desk.queue(wrap_up_seconds=60)
    desk.agent("alice")
    campaign(desk, contacts=numbers(2), dispositions=[], completed_dispositions=["sale"])
    desk.do(cmd.PauseCampaign("camp"))  # keep alice for these two calls
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))
    sale = desk.do(cmd.Disposition("out:camp:k0:1", "alice", "sale"))
    assert names(sale) == ["CallDispositioned", "ContactDispositioned"]
    assert sale[1].completed and sale[1].contact_id == "k0"
    desk.do(cmd.HangUp("out:camp:k0:1", by="agent"))
    assert desk.state.campaigns["camp"].progress(desk.now)["completed"] == 1
    assert contact(desk, "k0").status == "done"

    desk.do(cmd.FinishWrapUp("alice"))
    desk.do(cmd.ResumeCampaign("camp"))
    desk.do(cmd.ReportOutbound("out:camp:k1:1", "answered"))
    desk.do(cmd.HangUp("out:camp:k1:1", by="caller"))
    later = desk.now + timedelta(hours=2)
    again = desk.do(cmd.Disposition("out:camp:k1:1", "alice", "call_back", callback_at=later))
    assert not again[1].completed and again[1].callback_at == later
    assert (contact(desk, "k1").status, contact(desk, "k1").next_at) == ("pending", later)
    desk.do(cmd.FinishWrapUp("alice"))
    desk.now = later
    assert dialed(desk.wait(0)) == [("+33612345001", "alice")]
    replays(desk)


def test_logging_out_in_wrap_up_ends_it_and_the_campaign_completes(desk, event_names):
    desk.queue(wrap_up_seconds=600)
    desk.agent("alice")
    campaign(desk, contacts=numbers(1), dispositions=[], completed_dispositions=["sale"])
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))
    desk.do(cmd.HangUp("out:camp:k0:1", by="caller"))
    assert desk.status("alice") == "wrap_up"
    out = desk.do(cmd.LogOut("alice"))
    # No disposition is awaited any more: the campaign's one contact is done.
    assert event_names(out) == ["AgentWrapUpEnded", "AgentLoggedOut", "CampaignCompleted"]
    desk.refuses(cmd.Disposition("out:camp:k0:1", "alice", "sale"), Conflict, "")
    replays(desk)


def test_campaigns_share_agents_by_priority_and_keep_to_their_schedule(desk):
    desk.queue(wrap_up_seconds=0)
    desk.agent("alice", ready=False)
    desk.now = AFTER_US_DST
    later = CampaignConfig(queue_id="q1", windows=[{"start": "00:00", "end": "23:59"}],
                           starts_at=AFTER_US_DST + timedelta(hours=1),
                           ends_at=AFTER_US_DST + timedelta(hours=2))  # fmt: skip
    urgent = CampaignConfig(queue_id="q1", windows=[{"start": "00:00", "end": "23:59"}],
                            priority=5)  # fmt: skip
    for campaign_id, config, number in (("b-low", later, PARIS), ("a-high", urgent, NEW_YORK)):
        desk.do(cmd.ConfigureCampaign(campaign_id, config))
        rows, _ = parse_contacts([{"contact_id": "k", "number": number}], set())
        desk.do(cmd.AddContacts(campaign_id, rows))
        desk.do(cmd.ApplyScreening(campaign_id, [{"contact_id": "k", "consent": {}}]))
        desk.do(cmd.StartCampaign(campaign_id))
    assert dialed(desk.do(cmd.MakeReady("alice"))) == [(NEW_YORK, "alice")]
    desk.do(cmd.ReportOutbound("out:a-high:k:1", "answered"))
    desk.do(cmd.HangUp("out:a-high:k:1", by="caller"))  # alice is free: b-low waits its start
    assert desk.status("alice") == "ready"
    desk.now += timedelta(hours=1)
    assert dialed(desk.wait(0)) == [(PARIS, "alice")]
    desk.do(cmd.ReportOutbound("out:b-low:k:1", "no_answer"))
    desk.now += timedelta(hours=1)
    ended = desk.wait(0)
    assert [
        (e.campaign_id, e.reason) for e in ended if type(e).__name__ == "CampaignCompleted"
    ] == [("b-low", "ended")]
    replays(desk)


def test_an_answered_callee_waiting_for_an_agent_goes_before_inbound_callers(desk):
    desk.queue(wrap_up_seconds=0)
    desk.agent("alice", ready=False)
    campaign(desk, mode="predictive", contacts=numbers(2))
    afford_abandons(desk)
    desk.do(cmd.MakeReady("alice"))  # two calls for one agent
    desk.do(cmd.ReportOutbound("out:camp:k0:1", "answered"))  # alice takes k0
    desk.call("in1")  # waits: alice is busy
    assert names(desk.do(cmd.ReportOutbound("out:camp:k1:1", "answered"))) == ["ContactConnecting"]
    desk.now += timedelta(seconds=1)
    freed = desk.do(cmd.HangUp("out:camp:k0:1", by="caller"))
    assert [n for n in names(freed) if n in ("ContactAnswered", "CallOffered")] == [
        "ContactAnswered"
    ]
    assert desk.state.calls["in1"].status == "waiting"
    replays(desk)
