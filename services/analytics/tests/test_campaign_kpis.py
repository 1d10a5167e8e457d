"""Outbound campaign KPIs (docs/kpis.md, "Outbound campaigns") on hand-computed vectors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from callcenter.analytics import offline
from callcenter.analytics.kpis import KpiSettings, ScorecardSettings, Window, compute
from callcenter.analytics.live import snapshot
from callcenter.analytics.scorecards import scorecards
from callcenter.events.catalogue import routing as ev
from callcenter.events.catalogue import workorders
from callcenter.events.codec import to_json_line

CAMPAIGN = {"campaign_id": "spring"}


def attempt(log, n: int, at: float, agent: str | None = "a1", campaign="spring") -> str:
    call_id = f"{campaign}-o{n}"
    log.routing(ev.ContactAttempted(at=log.at(at), campaign_id=campaign, contact_id=f"k{n}",
                                    call_id=call_id, number=f"+4420790000{n:02d}", attempt=1,
                                    mode="predictive", agent_id=agent,
                                    queue_id="sales"))  # fmt: skip
    return call_id


def reached(log, n, at, agent="a1", disposition=None, completed=False, customer=None,
            talk=100.0, hold=0.0, wrap=20.0, campaign="spring"):  # fmt: skip
    call_id = attempt(log, n, at, agent, campaign)
    common = {"campaign_id": campaign, "contact_id": f"k{n}", "call_id": call_id}
    log.routing(ev.ContactAnswered(at=log.at(at + 10), agent_id=agent, queue_id="sales", wait=1,
                                   **common))  # fmt: skip
    end = at + 10 + talk + hold
    log.routing(ev.CallEnded(at=log.at(end), call_id=call_id, agent_id=agent, talk=talk,
                             hold=hold, ended_by="agent"))  # fmt: skip
    log.routing(ev.AgentWrapUpStarted(at=log.at(end), agent_id=agent, call_id=call_id))
    if disposition:
        log.routing(ev.ContactDispositioned(at=log.at(end + 5), agent_id=agent,
                                            disposition=disposition, completed=completed,
                                            customer_id=customer, **common))  # fmt: skip
    log.routing(ev.AgentWrapUpEnded(at=log.at(end + wrap), agent_id=agent, call_id=call_id,
                                    wrap=wrap))  # fmt: skip


def not_reached(log, n, at, outcome="no_answer"):
    call_id = attempt(log, n, at, None)
    log.routing(ev.ContactNotReached(at=log.at(at + 25), contact_id=f"k{n}", call_id=call_id,
                                     outcome=outcome, attempt=1, **CAMPAIGN))  # fmt: skip


def abandoned(log, n, at):
    call_id = attempt(log, n, at, None)
    log.routing(ev.ContactAbandoned(at=log.at(at + 12), contact_id=f"k{n}", call_id=call_id,
                                    queue_id="sales", wait=2, **CAMPAIGN))  # fmt: skip


@pytest.fixture
def campaign_day(log):
    """20 attempts of campaign "spring": 6 not reached (4 no answer, 1 busy, 1 machine),
    1 abandoned, 13 reached by a1 and a2: 5 sales (completed), 6 not interested,
    1 wrong party, 1 not dispositioned. Reached calls: talk 100 s, hold 10 s, wrap 20 s."""
    log.routing(ev.CampaignConfigured(at=log.at(0), name="Spring offer",
                                      config={"queue_id": "sales"}, **CAMPAIGN))  # fmt: skip
    outcomes = ["no_answer"] * 4 + ["busy", "machine"]
    for n, outcome in enumerate(outcomes):
        not_reached(log, n, 60 * n, outcome)
    abandoned(log, 6, 400)
    dispositions = ["sale"] * 5 + ["not_interested"] * 6 + ["wrong_party", None]
    for n, disposition in enumerate(dispositions, start=7):
        reached(log, n, 500 + 200 * n, agent="a1" if n % 2 else "a2", disposition=disposition,
                completed=disposition == "sale", customer=f"cust{n}", hold=10)  # fmt: skip
    return log


def campaign_rows(fold, settings=None, interval="all"):
    now = fold.latest + 60
    window = Window(0, now, now)
    return compute(fold.tenants["acme"], settings or KpiSettings(), window, interval, "campaign")


def test_campaign_kpis(campaign_day):
    [row] = campaign_rows(campaign_day.fold())
    assert row["campaign_id"] == "spring" and row["name"] == "Spring offer"
    assert row["outbound_attempts"] == 20
    assert (row["outbound_reached"], row["outbound_not_reached"], row["outbound_abandoned"]) == (
        13, 6, 1,
    )  # fmt: skip
    assert row["reach_rate"] == round(13 / 20, 4)
    # Right party: every dispositioned conversation but the wrong party's (11 of 13).
    assert row["right_party_contacts"] == 11
    assert row["right_party_rate"] == round(11 / 13, 4)
    # Abandoned outbound: of the live answers (reached + abandoned), as Ofcom and the FTC.
    assert row["outbound_abandon_rate"] == round(1 / 14, 4)
    assert row["marketing_completion_rate"] == round(5 / 13, 4)
    assert row["outbound_aht_seconds"] == 130
    assert "service_level" not in row  # a campaign row holds campaign figures only


def test_wrong_party_dispositions_are_a_setting(campaign_day):
    settings = KpiSettings(wrong_party_dispositions=["wrong_party", "not_interested"])
    [row] = campaign_rows(campaign_day.fold(), settings)
    assert row["right_party_contacts"] == 5


def test_campaign_figures_per_agent_queue_and_tenant(campaign_day):
    fold = campaign_day.fold()
    now = fold.latest + 60
    window = Window(0, now, now)
    agents = {r["agent_id"]: r for r in compute(fold.tenants["acme"], KpiSettings(), window,
                                                "all", "agent")}  # fmt: skip
    # a1 has the odd-numbered calls 7..19 (7 calls, sales 7, 9, 11), a2 the even ones.
    assert agents["a1"]["outbound_reached"] == 7 and agents["a1"]["outbound_completed"] == 3
    assert agents["a2"]["outbound_reached"] == 6 and agents["a2"]["outbound_completed"] == 2
    assert agents["a1"]["marketing_completion_rate"] == round(3 / 7, 4)
    # Campaign calls are the agents' talk time, not inbound calls answered.
    assert agents["a1"]["answered"] == 0 and agents["a1"]["handling_seconds"] > 0
    [tenant] = compute(fold.tenants["acme"], KpiSettings(), window, "all", "tenant")
    assert tenant["outbound_attempts"] == 20 and tenant["offered"] == 0
    [queue] = compute(fold.tenants["acme"], KpiSettings(), window, "all", "queue")
    assert queue["queue_id"] == "sales" and queue["outbound_attempts"] == 20


def test_a_dialed_callee_routed_like_a_caller_is_no_inbound_call(log):
    """Should routing queue and connect a campaign call as it does inbound calls, the
    call still counts in the campaign only: not offered to the queue, not answered there."""
    call_id = attempt(log, 1, 0)
    log.routing(ev.CallQueued(at=log.at(10), call_id=call_id, queue_id="sales", position=1))
    log.routing(ev.CallAnswered(at=log.at(11), call_id=call_id, agent_id="a1", queue_id="sales",
                                wait=1, ring=0))  # fmt: skip
    log.routing(ev.ContactAnswered(at=log.at(11), campaign_id="spring", contact_id="k1",
                                   call_id=call_id, agent_id="a1", queue_id="sales",
                                   wait=1))  # fmt: skip
    log.routing(ev.CallEnded(at=log.at(71), call_id=call_id, agent_id="a1", queue_id="sales",
                             talk=60, ended_by="caller"))  # fmt: skip
    fold = log.fold()
    now = fold.latest + 60
    [row] = compute(fold.tenants["acme"], KpiSettings(), Window(0, now, now), "all", "queue")
    assert (row["offered"], row["answered"], row["outbound_reached"]) == (0, 0, 1)
    assert row["outbound_aht_seconds"] == 60
    agents = compute(fold.tenants["acme"], KpiSettings(), Window(0, now, now), "all", "agent")
    assert agents[0]["answered"] == 0 and agents[0]["handling_seconds"] == 60


def test_attempts_count_in_their_own_interval(campaign_day):
    rows = campaign_rows(campaign_day.fold(), interval="15")
    # 7 attempts in 09:00-09:15 (seconds 0-400), the 13 reached at 1900-4300 s.
    assert [row["interval_start"][11:16] for row in rows] == ["09:00", "09:30", "09:45", "10:00"]
    assert [row["outbound_attempts"] for row in rows] == [7, 4, 5, 4]
    assert sum(row["outbound_reached"] for row in rows) == 13


def test_the_wallboard_shows_campaigns_only_when_there_are_some(campaign_day, log_factory):
    fold = campaign_day.fold()
    [panel] = snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["campaigns"]
    assert panel["name"] == "Spring offer" and panel["attempts"] == 20
    assert panel["outbound_abandon_rate"] == round(1 / 14, 4)
    assert panel["status"] == "bad"  # above the 3% cap
    relaxed = KpiSettings(outbound_abandon_cap=0.08)
    assert snapshot(fold.tenants["acme"], relaxed, fold.latest)["campaigns"][0]["status"] == (
        "warning"
    )
    empty = log_factory().fold()
    assert snapshot(empty.tenant("acme"), KpiSettings(), fold.latest)["campaigns"] == []


def test_the_offline_fold_reports_campaigns(campaign_day, tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(to_json_line(e) + "\n" for e in campaign_day.envelopes))
    offline.main(["--events", str(path), "--by", "campaign"])
    report = json.loads(capsys.readouterr().out)
    [row] = report["tenants"]["acme"]["kpis"]
    assert row["campaign_id"] == "spring" and row["marketing_completion_rate"] == round(5 / 13, 4)


def test_sales_completion_and_complaints_after_a_sale(log):
    """Dan sells on 3 of 4 campaign calls, two of his customers complain within the
    window; Eve sells once of 4, nobody complains; a complaint about Eve's customer
    before her sale, or another type of ticket, does not count."""
    for agent in ("dan", "eve"):
        log.routing(ev.AgentConfigured(at=log.at(0), agent_id=agent, config={"groups": ["sales"]}))
    for n, sold in enumerate([True, True, True, False]):
        reached(log, n, 300 * n, agent="dan", disposition="sale" if sold else "no_sale",
                completed=sold, customer=f"d{n}")  # fmt: skip
    for n, sold in enumerate([True, False, False, False], start=10):
        reached(log, n, 300 * n, agent="eve", disposition="sale" if sold else "no_sale",
                completed=sold, customer=f"e{n}")  # fmt: skip
    day = 86400
    tickets = [("t1", "complaint", "d0", 2 * day), ("t2", "complaint", "d1", 10 * day),
               ("t3", "complaint", "d2", 40 * day),  # after the 30 days
               ("t4", "complaint", "e10", 100), ("t5", "question", "e10", 2 * day)]  # fmt: skip
    for ticket_id, kind, customer, at in tickets:
        log.add(workorders.TicketOpened(ticket_id=ticket_id, type=kind, customer_id=customer,
                                        at=log.at(at)), f"ticket:{ticket_id}", at)  # fmt: skip
    fold = log.fold()
    now = log.at(7200).timestamp()
    result = scorecards(fold.tenants["acme"], KpiSettings(), Window(0, now, now))
    agents = {card["agent_id"]: card for card in result["agents"]}
    dan, eve = agents["dan"], agents["eve"]
    assert dan["indicators"]["sales_completion"] == 0.75
    assert eve["indicators"]["sales_completion"] == 0.25
    assert dan["ranks"]["sales_completion"] == 100.0
    assert dan["complaints_after_sale"] == 2 and "complaints_after_sale" in dan["flags"]
    assert eve["complaints_after_sale"] == 0 and "complaints_after_sale" not in eve["flags"]
    # A wider window of days counts the third complaint too; a larger share is tolerated.
    wider = KpiSettings(scorecard=ScorecardSettings(complaint_days=60, flag_share=0.9))
    result = scorecards(fold.tenants["acme"], wider, Window(0, now, now))
    dan = next(card for card in result["agents"] if card["agent_id"] == "dan")
    assert dan["complaints_after_sale"] == 3 and "complaints_after_sale" in dan["flags"]
    lenient = KpiSettings(scorecard=ScorecardSettings(flag_share=0.9))
    result = scorecards(fold.tenants["acme"], lenient, Window(0, now, now))
    dan = next(card for card in result["agents"] if card["agent_id"] == "dan")
    assert dan["complaints_after_sale"] == 2 and dan["flags"] == []


def test_campaign_kpis_over_the_api(analytics_client, campaign_day, archive, bearer):
    client = analytics_client
    reached(campaign_day, 40, 600, campaign="autumn", disposition="sale", completed=True)
    archive(client, campaign_day.envelopes)
    window = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}
    body = client.get("/v1/kpis", params={**window, "by": "campaign"}, headers=bearer()).json()
    assert [row["campaign_id"] for row in body["rows"]] == ["autumn", "spring"]
    one = {**window, "by": "campaign", "campaign_id": "spring", "format": "csv"}
    response = client.get("/v1/kpis", params=one, headers=bearer())
    assert response.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["name"], row["outbound_attempts"], row["outbound_abandon_rate"]) == (
        "Spring offer", "20", str(round(1 / 14, 4)),
    )  # fmt: skip
    bad = client.get("/v1/kpis", params={**window, "by": "contact"}, headers=bearer())
    assert bad.status_code == 422 and "by" in bad.text
    # The live panel is today's (the service's clock, here the day after): the configured
    # campaign, no calls.
    client.app.state.analytics.clock = lambda: campaign_day.at(86400).timestamp()
    [panel] = client.get("/v1/live", headers=bearer()).json()["campaigns"]
    assert (panel["name"], panel["attempts"], panel["status"]) == ("Spring offer", 0, "idle")
    refused = client.put("/v1/settings", json={"outbound_abandon_cap": 0}, headers=bearer())
    assert refused.status_code == 422 and "outbound_abandon_cap" in refused.text


def test_todays_abandoned_outbound_rate_and_supervisors_are_gauges(analytics_client, log,
                                                                  archive):  # fmt: skip
    now = datetime.now(UTC)
    log.routing(ev.ContactAttempted(at=now, campaign_id="gauged", contact_id="k", call_id="g1",
                                    number="+441", attempt=1, mode="predictive"))  # fmt: skip
    log.routing(ev.ContactAbandoned(at=now, campaign_id="gauged", contact_id="k", call_id="g1"))
    log.routing(ev.SupervisorJoined(at=now, call_id="g2", agent_id="ann", supervisor_id="sue",
                                    mode="monitor"))  # fmt: skip
    archive(analytics_client, log.envelopes)
    metrics = analytics_client.get("/metrics").text
    assert (
        'callcenter_campaign_outbound_abandon_rate_today{campaign="gauged",tenant="acme"} 1.0'
        in metrics
    )
    assert 'callcenter_calls_supervised{mode="monitor",tenant="acme"} 1.0' in metrics
    assert 'callcenter_calls_supervised{mode="barge",tenant="acme"} 0.0' in metrics
