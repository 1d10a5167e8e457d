"""KPI definitions (docs/kpis.md) on hand-computed vectors."""

import pytest

from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.events.catalogue import ivr, workorders
from callcenter.events.catalogue import routing as ev


def queue(log, queue_id="q1", threshold=20):
    log.routing(ev.QueueConfigured(
        at=log.at(0), queue_id=queue_id, name=queue_id.upper(),
        config={"service_level_seconds": threshold, "skills": {"general": 1}},
    ))  # fmt: skip


def offered(log, call_id, at, queue_id="q1"):
    log.routing(ev.CallQueued(at=log.at(at), call_id=call_id, queue_id=queue_id, position=1))


def answered(log, call_id, at, wait, agent="a1", queue_id="q1", talk=100, hold=20, wrap=10):
    log.routing(ev.CallAnswered(at=log.at(at + wait), call_id=call_id, agent_id=agent,
                                queue_id=queue_id, wait=wait, ring=2))  # fmt: skip
    end = at + wait + talk + hold
    log.routing(ev.CallEnded(at=log.at(end), call_id=call_id, agent_id=agent, queue_id=queue_id,
                             talk=talk, hold=hold, ended_by="caller"))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(end), agent_id=agent, call_id=call_id))
    log.routing(ev.AgentWrapUpEnded(at=log.at(end + wrap), agent_id=agent, call_id=call_id,
                                    wrap=wrap))  # fmt: skip


def abandoned(log, call_id, at, wait, queue_id="q1"):
    log.routing(ev.CallAbandoned(at=log.at(at + wait), call_id=call_id, queue_id=queue_id,
                                 wait=wait, position=1))  # fmt: skip


def whole_day(fold, settings=None, by="tenant", interval="all", now=None):
    now = now if now is not None else fold.latest + 12 * 3600
    window = Window(0, now, now)
    return compute(fold.tenants["acme"], settings or KpiSettings(), window, interval, by)


@pytest.fixture
def ten_calls(log):
    """10 calls, threshold 20 s: 6 answered within 20 s, 1 answered after, 1 abandoned
    within 20 s after 12 s, 1 short abandon (3 s), 1 abandoned after 40 s."""
    queue(log)
    for n, wait in enumerate([5, 10, 15, 20, 2, 8]):
        offered(log, f"in{n}", n * 60)
        answered(log, f"in{n}", n * 60, wait)
    offered(log, "late", 400)
    answered(log, "late", 400, 30)
    offered(log, "ab12", 500)
    abandoned(log, "ab12", 500, 12)
    offered(log, "short", 600)
    abandoned(log, "short", 600, 3)
    offered(log, "ab40", 700)
    abandoned(log, "ab40", 700, 40)
    return log


@pytest.mark.parametrize(
    ("mode", "exclude_short", "expected"),
    [
        # against: 6 / (7 answered + 2 abandoned [+ short])
        ("against", True, 6 / 9),
        ("against", False, 6 / 10),
        # ignored: abandons within the threshold leave the denominator; after it, they count
        ("ignored", True, 6 / 8),
        ("ignored", False, 6 / 8),
        # for: abandons within the threshold count as met
        ("for", True, 7 / 9),
        ("for", False, 8 / 10),
    ],
)
def test_service_level_in_each_abandon_mode(ten_calls, mode, exclude_short, expected):
    settings = KpiSettings(abandon_mode=mode, exclude_short_abandons=exclude_short)
    [row] = whole_day(ten_calls.fold(), settings)
    assert row["service_level"] == round(expected, 4)


def test_counts_rates_and_waits(ten_calls):
    [row] = whole_day(ten_calls.fold())
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandoned"]) == (
        9,
        7,
        2,
        1,
    )
    assert row["answered_in_threshold"] == 6
    assert row["abandon_rate"] == round(2 / 9, 4)
    assert row["answer_rate"] == round(7 / 9, 4)
    assert row["asa_seconds"] == round((5 + 10 + 15 + 20 + 2 + 8 + 30) / 7, 2)
    assert row["average_wait_seconds"] == round((90 + 12 + 40) / 9, 2)
    assert row["longest_wait_seconds"] == 40
    # AHT = talk + hold + wrap-up
    assert row["aht_seconds"] == 130
    assert (row["average_talk_seconds"], row["average_hold_seconds"]) == (100, 20)


def test_short_abandons_counted_in_offered_when_not_excluded(ten_calls):
    [row] = whole_day(ten_calls.fold(), KpiSettings(exclude_short_abandons=False))
    assert (row["offered"], row["abandoned"]) == (10, 3)


def test_callers_still_waiting_count_against_once_past_the_threshold(log):
    queue(log)
    offered(log, "c1", 0)
    offered(log, "c2", 100)
    fold = log.fold()
    now = log.at(115).timestamp()  # c1 waited 115 s, c2 15 s
    [row] = whole_day(fold, now=now)
    assert (row["waiting"], row["waiting_past_threshold"]) == (2, 1)
    assert row["service_level"] == 0.0
    assert row["longest_wait_seconds"] == 115


def test_intervals_and_queues(log):
    queue(log, "q1")
    queue(log, "q2", threshold=60)
    offered(log, "a", 0, "q1")  # 09:00
    answered(log, "a", 0, 30, queue_id="q1")
    offered(log, "b", 20 * 60, "q2")  # 09:20
    answered(log, "b", 20 * 60, 30, agent="a2", queue_id="q2")
    offered(log, "c", 50 * 60, "q1")  # 09:50
    abandoned(log, "c", 50 * 60, 10, "q1")
    fold = log.fold()
    by_15 = whole_day(fold, interval="15")
    # (The agents, never logged out, are idle on in later intervals: rows with no calls.)
    assert [(r["interval_start"][11:16], r["offered"]) for r in by_15 if r["offered"]] == [
        ("09:00", 1), ("09:15", 1), ("09:45", 1)
    ]  # fmt: skip
    by_30 = whole_day(fold, interval="30")
    assert [(r["interval_start"][11:16], r["offered"]) for r in by_30 if r["offered"]] == [
        ("09:00", 2),
        ("09:30", 1),
    ]
    queues = {row["queue_id"]: row for row in whole_day(fold, by="queue")}
    # The same 30 s wait misses q1's 20 s threshold and meets q2's 60 s.
    assert (queues["q1"]["service_level"], queues["q2"]["service_level"]) == (0.0, 1.0)
    agents = {row["agent_id"]: row for row in whole_day(fold, by="agent")}
    assert (agents["a1"]["answered"], agents["a2"]["answered"]) == (1, 1)


def test_day_intervals_follow_the_tenants_time_zone(log):
    queue(log)
    offered(log, "a", -9.5 * 3600)  # 23:30 UTC the day before = 00:30 in Paris
    offered(log, "b", 0)
    fold = log.fold()
    window = Window(
        log.at(-12 * 3600).timestamp(), log.at(3600).timestamp(), log.at(3600).timestamp()
    )
    utc = compute(fold.tenants["acme"], KpiSettings(), window, "day")
    paris = compute(fold.tenants["acme"], KpiSettings(timezone="Europe/Paris"), window, "day")
    assert [r["offered"] for r in utc] == [1, 1]
    assert [r["offered"] for r in paris] == [2]
    assert paris[0]["interval_start"] == "2026-11-23T00:00:00+01:00"


def test_occupancy_from_agent_states(log):
    queue(log)
    log.routing(ev.AgentLoggedIn(at=log.at(0), agent_id="a1"))
    log.routing(ev.AgentReady(at=log.at(60), agent_id="a1"))  # 60 s not ready
    offered(log, "c", 100)
    log.routing(ev.CallOffered(at=log.at(100), call_id="c", agent_id="a1", queue_id="q1",
                               offer_expires_at=log.at(115)))  # fmt: skip
    # idle 60->100 (40 s), ringing 100->102 (2 s), talk 102->222, wrap 222->252
    answered(log, "c", 100, 2, talk=100, hold=20, wrap=30)
    log.routing(ev.AgentLoggedOut(at=log.at(300), agent_id="a1"))  # idle 252->300 (48 s)
    [row] = whole_day(log.fold(), by="agent")
    handling, available = 120 + 30, 40 + 2 + 48
    assert row["handling_seconds"] == handling
    assert row["available_seconds"] == available
    assert row["not_ready_seconds"] == 60
    assert row["occupancy"] == round(handling / (handling + available), 4)
    assert (row["offers"], row["logins"]) == (1, 1)


def test_ivr_containment_csat_fcr_and_work_order_on_time(log):
    for n, outcome in enumerate(["self_served", "queued", "self_served", "hung_up"]):
        stream = f"call:{n}"
        log.add(ivr.CallArrived(call_id=f"c{n}", ani="+331", dnis="+332"), stream, n)
        log.add(ivr.IvrCompleted(call_id=f"c{n}", outcome=outcome, duration=5), stream, n + 5)
    for n, score in enumerate([5, 4, 3, 1, 5]):
        log.add(ivr.SurveyAnswered(call_id=f"s{n}", question="q", score=score), f"s:{n}", 60)
    tickets = [("t1", True, True), ("t2", False, True), ("t3", True, False)]
    for ticket_id, fcr, on_time in tickets:
        stream = f"ticket:{ticket_id}"
        log.add(workorders.TicketOpened(ticket_id=ticket_id, type="complaint"), stream, 10)
        due = log.at(3600)
        if on_time:
            log.add(workorders.TicketSlaClockChanged(
                ticket_id=ticket_id, metric="resolution", transition="met", status="met",
                at=log.at(1800), target_seconds=3600, consumed_seconds=1800,
            ), stream, 1800)  # fmt: skip
        else:
            log.add(workorders.TicketSlaBreached(
                ticket_id=ticket_id, metric="resolution", due_at=due, at=due), stream, 3600
            )  # fmt: skip
        log.add(workorders.TicketResolved(ticket_id=ticket_id, first_contact_resolution=fcr,
                                          at=log.at(4000)), stream, 4000)  # fmt: skip
    [row] = whole_day(log.fold())
    assert row["ivr_containment"] == 0.5
    assert row["csat"] == 0.6
    assert row["first_contact_resolution"] == round(2 / 3, 4)
    assert row["work_order_on_time_rate"] == round(2 / 3, 4)


def test_late_events_land_in_their_own_interval(log):
    queue(log)
    offered(log, "early", 0)
    offered(log, "later", 3600)
    answered(log, "later", 3600, 5)
    # The answer of the 09:00 call arrives after everything of 10:00.
    answered(log, "early", 0, 25)
    rows = [row for row in whole_day(log.fold(), interval="60") if row["offered"]]
    found = [(r["interval_start"][11:16], r["answered"], r["answered_in_threshold"]) for r in rows]
    assert found == [("09:00", 1, 0), ("10:00", 1, 1)]


def test_duplicate_deliveries_are_applied_once(ten_calls):
    once = whole_day(ten_calls.fold())
    doubled = ten_calls.fold(ten_calls.envelopes + ten_calls.envelopes[3:9])
    assert whole_day(doubled) == once
    assert doubled.duplicates == 6


def test_hold_time_is_part_of_aht(log):
    """Talk 60 s, two holds (20 s resumed, 15 s still held at the end), wrap-up 10 s."""
    queue(log)
    offered(log, "c1", 0)
    log.routing(ev.CallAnswered(at=log.at(5), call_id="c1", agent_id="a1", queue_id="q1",
                                wait=5, ring=1))  # fmt: skip
    log.routing(ev.CallHeld(at=log.at(35), call_id="c1", agent_id="a1", queue_id="q1"))
    log.routing(ev.CallResumed(at=log.at(55), call_id="c1", agent_id="a1", queue_id="q1",
                               hold=20))  # fmt: skip
    log.routing(ev.CallHeld(at=log.at(85), call_id="c1", agent_id="a1", queue_id="q1"))
    log.routing(ev.CallEnded(at=log.at(100), call_id="c1", agent_id="a1", queue_id="q1",
                             talk=60, hold=35, ended_by="caller"))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(100), agent_id="a1", call_id="c1",
                                      queue_id="q1"))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(110), agent_id="a1", call_id="c1", wrap=10,
                                    queue_id="q1"))  # fmt: skip

    [row] = whole_day(log.fold())

    assert row["aht_seconds"] == 60 + 35 + 10
    assert (row["average_talk_seconds"], row["average_hold_seconds"]) == (60, 35)


def test_a_blind_transfer_counts_in_the_transfer_rate_and_in_the_second_queue(log):
    """As routing logs it: c1 answered in q1 by a1 after 5 s, transferred to q2 after 40 s
    of talk; a1 wraps up (10 s) while c1 waits 8 s in q2, where a2 answers it."""
    queue(log, "q1")
    queue(log, "q2")
    offered(log, "c1", 0, "q1")
    log.routing(ev.CallAnswered(at=log.at(5), call_id="c1", agent_id="a1", queue_id="q1",
                                wait=5, ring=1))  # fmt: skip
    log.routing(ev.CallTransferred(at=log.at(45), call_id="c1", from_agent_id="a1",
                                   to_queue_id="q2", kind="blind", queue_id="q1"))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(45), call_id="c1", agent_id="a1", queue_id="q1",
                             talk=40, hold=0, ended_by="agent", transferred=True))  # fmt: skip
    log.routing(ev.CallQueued(at=log.at(45), call_id="c1", queue_id="q2", position=1,
                              enqueued_at=log.at(0)))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(45), agent_id="a1", call_id="c1",
                                      queue_id="q1"))  # fmt: skip
    log.routing(ev.CallAnswered(at=log.at(53), call_id="c1", agent_id="a2", queue_id="q2",
                                wait=8, ring=1))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(55), agent_id="a1", call_id="c1", wrap=10,
                                    queue_id="q1"))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(113), call_id="c1", agent_id="a2", queue_id="q2",
                             talk=60, hold=0, ended_by="caller"))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(113), agent_id="a2", call_id="c1",
                                      queue_id="q2"))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(118), agent_id="a2", call_id="c1", wrap=5,
                                    queue_id="q2"))  # fmt: skip

    queues = {row["queue_id"]: row for row in whole_day(log.fold(), by="queue")}

    first, second = queues["q1"], queues["q2"]
    assert (first["offered"], first["answered"], first["transfer_rate"]) == (1, 1, 1.0)
    assert (second["offered"], second["answered"], second["transfer_rate"]) == (1, 1, 0.0)
    assert (first["asa_seconds"], second["asa_seconds"]) == (5, 8)
    assert (first["aht_seconds"], second["aht_seconds"]) == (40 + 10, 60 + 5)
    [total] = whole_day(log.fold())
    assert (total["offered"], total["transfer_rate"]) == (2, 0.5)


def test_a_consult_transfer_adds_both_agents_parts_to_the_calls_handle_time(log):
    """a1 talks 30 s, consults a2 for 20 s (the caller on hold), a2 takes the caller for
    50 s; both wrap up. One call answered once in q1, transferred, handled 30+20+50+10+5."""
    queue(log)
    offered(log, "c1", 0)
    log.routing(ev.CallAnswered(at=log.at(4), call_id="c1", agent_id="a1", queue_id="q1",
                                wait=4, ring=1))  # fmt: skip
    log.routing(ev.CallHeld(at=log.at(34), call_id="c1", agent_id="a1", queue_id="q1"))
    log.routing(ev.CallConsultStarted(at=log.at(34), call_id="c1", agent_id="a1",
                                      consult_agent_id="a2"))  # fmt: skip
    log.routing(ev.CallResumed(at=log.at(54), call_id="c1", agent_id="a1", queue_id="q1",
                               hold=20))  # fmt: skip
    log.routing(ev.CallTransferred(at=log.at(54), call_id="c1", from_agent_id="a1",
                                   to_agent_id="a2", kind="consult", queue_id="q1"))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(54), call_id="c1", agent_id="a1", queue_id="q1",
                             talk=30, hold=20, ended_by="agent", transferred=True))  # fmt: skip
    log.routing(ev.CallAnswered(at=log.at(54), call_id="c1", agent_id="a2", queue_id="q1",
                                wait=4, ring=0))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(54), agent_id="a1", call_id="c1",
                                      queue_id="q1"))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(64), agent_id="a1", call_id="c1", wrap=10,
                                    queue_id="q1"))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(104), call_id="c1", agent_id="a2", queue_id="q1",
                             talk=50, hold=0, ended_by="caller"))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(104), agent_id="a2", call_id="c1",
                                      queue_id="q1"))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(109), agent_id="a2", call_id="c1", wrap=5,
                                    queue_id="q1"))  # fmt: skip

    [row] = whole_day(log.fold())

    assert (row["offered"], row["answered"], row["asa_seconds"]) == (1, 1, 4)
    assert row["transfer_rate"] == 1.0
    assert row["aht_seconds"] == 30 + 20 + 50 + 10 + 5


def test_a_caller_hanging_up_while_a_transfer_rings_stays_answered(log):
    """a1 answered c1 (talk 30 s), transferred it blind to a2; the caller hung up while
    a2's phone rang. The visit stays answered and transferred, with a1's handle time."""
    queue(log)
    offered(log, "c1", 0)
    log.routing(ev.CallAnswered(at=log.at(5), call_id="c1", agent_id="a1", queue_id="q1",
                                wait=5, ring=1))  # fmt: skip
    log.routing(ev.CallTransferred(at=log.at(35), call_id="c1", from_agent_id="a1",
                                   to_agent_id="a2", kind="blind", queue_id="q1"))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(35), call_id="c1", agent_id="a1", queue_id="q1",
                             talk=30, hold=0, ended_by="agent", transferred=True))  # fmt: skip
    log.routing(ev.CallOffered(at=log.at(35), call_id="c1", agent_id="a2", queue_id="q1",
                               offer_expires_at=log.at(50)))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(35), agent_id="a1", call_id="c1",
                                      queue_id="q1"))  # fmt: skip
    log.routing(ev.CallOfferCancelled(at=log.at(40), call_id="c1", agent_id="a2",
                                      reason="caller_hung_up"))  # fmt: skip
    log.routing(ev.CallAbandoned(at=log.at(40), call_id="c1", queue_id="q1", wait=5,
                                 position=1))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(45), agent_id="a1", call_id="c1", wrap=10,
                                    queue_id="q1"))  # fmt: skip

    [row] = whole_day(log.fold())

    assert (row["answered"], row["abandoned"], row["transfer_rate"]) == (1, 0, 1.0)
    assert row["aht_seconds"] == 30 + 10


def test_survey_response_rate_next_to_csat(log):
    """Five calls offered a survey: three answered it (one call answered two questions);
    an answer arriving before its offer (another stream) still counts."""
    queue(log)
    queue(log, "q2")
    for n, (queue_id, agent) in enumerate([("q1", "a1"), ("q1", "a1"), ("q1", "a2"),
                                           ("q2", "a2"), ("q2", None)]):  # fmt: skip
        offered(log, f"s{n}", n * 60, queue_id)
        answered(log, f"s{n}", n * 60, 5, agent=agent or "a3", queue_id=queue_id)
    answers = [("s0", 5), ("s0", 4), ("s2", 2), ("s4", 5)]
    for n, (call_id, score) in enumerate(answers):
        log.add(ivr.SurveyAnswered(call_id=call_id, question=f"q{n}", score=score),
                f"survey:{call_id}", 900)  # fmt: skip
    for n, (queue_id, agent) in enumerate([("q1", "a1"), ("q1", "a1"), ("q1", "a2"),
                                           ("q2", "a2"), ("q2", None)]):  # fmt: skip
        log.add(ivr.SurveyOffered(call_id=f"s{n}", queue_id=queue_id, agent_id=agent,
                                  channel="ivr"), f"offer:s{n}", 600)  # fmt: skip
    fold = log.fold()
    [tenant] = whole_day(fold)
    assert (tenant["surveys_offered"], tenant["surveys_responded"]) == (5, 3)
    assert tenant["survey_response_rate"] == 0.6
    assert tenant["csat"] == 0.75
    queues = {row["queue_id"]: row for row in whole_day(fold, by="queue")}
    assert queues["q1"]["survey_response_rate"] == round(2 / 3, 4)
    assert queues["q2"]["survey_response_rate"] == 0.5
    agents = {row["agent_id"]: row for row in whole_day(fold, by="agent")}
    assert agents["a1"]["survey_response_rate"] == 0.5
    assert agents["a2"]["survey_response_rate"] == 0.5
    # The offer without an agent is the call's agent's (a3 answered it).
    assert agents["a3"]["survey_response_rate"] == 1.0
