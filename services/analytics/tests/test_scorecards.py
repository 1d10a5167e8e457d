"""Agent scorecards: indicators ranked within the team, weights, anti-gaming flags."""

from callcenter.analytics.kpis import KpiSettings, ScorecardSettings, Window
from callcenter.analytics.scorecards import ExamScore, percentile_rank, scorecards
from callcenter.events.catalogue import routing as ev
from callcenter.events.catalogue import workorders


def test_percentile_rank():
    assert percentile_rank(10, [5, 7, 20], higher_is_better=True) == round(100 * 2 / 3, 1)
    assert percentile_rank(10, [5, 7, 20], higher_is_better=False) == round(100 / 3, 1)
    assert percentile_rank(10, [10, 10], higher_is_better=True) == 50.0
    assert percentile_rank(10, [], higher_is_better=True) == 50.0


def calls(log, agent, count, talk, start):
    for n in range(count):
        at, call_id = start + n * 600, f"{agent}-{start}-{n}"
        log.routing(ev.CallQueued(at=log.at(at), call_id=call_id, queue_id="q1", position=1))
        log.routing(ev.CallAnswered(at=log.at(at + 5), call_id=call_id, agent_id=agent,
                                    queue_id="q1", wait=5, ring=1))  # fmt: skip
        log.routing(ev.CallEnded(at=log.at(at + 5 + talk), call_id=call_id, agent_id=agent,
                                 queue_id="q1", talk=talk, ended_by="caller"))  # fmt: skip


def a_team(log):
    log.routing(ev.QueueConfigured(at=log.at(0), queue_id="q1", config={}))
    for agent in ("ann", "bob", "cat"):
        log.routing(ev.AgentConfigured(at=log.at(0), agent_id=agent, name=agent.title(),
                                       config={"groups": ["billing"]}))  # fmt: skip
    for _ in range(10):  # cat signs in and out all day
        log.routing(ev.AgentLoggedIn(at=log.at(1), agent_id="cat"))
        log.routing(ev.AgentLoggedOut(at=log.at(2), agent_id="cat"))
    calls(log, "ann", 10, talk=100, start=0)  # from 09:00
    calls(log, "bob", 5, talk=400, start=14 * 3600)  # from 23:00: night and long calls
    calls(log, "cat", 5, talk=100, start=3600)
    calls(log, "cat", 3, talk=4, start=7200)  # very short calls
    ticket = "ticket:t1"
    log.add(workorders.TicketOpened(ticket_id="t1", type="complaint"), ticket, 100)
    log.add(workorders.TicketResolved(ticket_id="t1", first_contact_resolution=True, by="ann",
                                      at=log.at(200)), ticket, 200)  # fmt: skip
    return log


def cards(log, settings=None, exams=()):
    fold = log.fold()
    now = fold.latest + 3600
    result = scorecards(fold.tenants["acme"], settings or KpiSettings(), Window(0, now, now), exams)
    return {card["agent_id"]: card for card in result["agents"]}, result["teams"]


def test_indicators_ranks_and_score(log):
    agents, [team] = cards(a_team(log))
    ann, bob = agents["ann"], agents["bob"]
    assert ann["indicators"]["answered"] == 10
    assert ann["indicators"]["first_contact_resolution"] == 1.0
    assert ann["ranks"]["answered"] == 100.0  # more than both others
    assert bob["ranks"]["aht_seconds"] == 0.0  # the longest handle time of the team
    assert ann["score"] > bob["score"]
    assert (team["team"], team["members"], team["answered"]) == ("billing", 3, 23)
    assert team["flagged_members"] == 2


def test_anti_gaming_flags(log):
    agents, _ = cards(a_team(log))
    assert agents["ann"]["flags"] == []
    assert set(agents["bob"]["flags"]) == {"night_spike", "very_long_calls"}
    assert set(agents["cat"]["flags"]) == {"frequent_sign_in_out", "very_short_calls"}


def test_weights_and_exam_scores(log):
    a_team(log)
    exams = [ExamScore("bob", "billing rules", 95, log.at(60).timestamp()),
             ExamScore("ann", "billing rules", 60, log.at(60).timestamp())]  # fmt: skip
    only_exams = KpiSettings(scorecard=ScorecardSettings(weights={"exam_score": 1}))
    agents, _ = cards(log, only_exams, exams)
    assert agents["bob"]["indicators"]["exam_score"] == 95
    assert (agents["bob"]["score"], agents["ann"]["score"]) == (100.0, 0.0)
    assert agents["cat"]["score"] == 0.0  # no exam: nothing weighs


def test_scorecards_api(analytics_client, log, archive, bearer):
    archive(analytics_client, a_team(log).envelopes)
    exam = {"exam": "billing rules", "score": 88, "taken_at": "2026-11-23T09:30:00Z"}
    posted = analytics_client.post("/v1/agents/cat/exam-scores", json=exam, headers=bearer())
    assert posted.status_code == 201, posted.text
    window = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-25T00:00:00Z"}
    body = analytics_client.get("/v1/scorecards", params=window, headers=bearer()).json()
    cat = next(card for card in body["agents"] if card["agent_id"] == "cat")
    assert cat["indicators"]["exam_score"] == 88
    bad = analytics_client.post("/v1/agents/cat/exam-scores", json={"exam": "x", "score": 101},
                                headers=bearer())  # fmt: skip
    assert bad.status_code == 422 and "score" in bad.text
    weights = {"scorecard": {"weights": {"charm": 1}}}
    refused = analytics_client.put("/v1/settings", json=weights, headers=bearer())
    assert refused.status_code == 422 and "charm" in refused.text
