"""The HTTP API on both databases: KPIs as JSON and CSV, settings, the live view."""

import csv
import io

from callcenter.events.catalogue import routing as ev
from callcenter.events.kit.auth import Role


def a_morning(log):
    log.routing(ev.QueueConfigured(at=log.at(0), queue_id="q1", name="Billing",
                                   config={"service_level_seconds": 20}))  # fmt: skip
    for n, (wait, outcome) in enumerate([(5, "answered"), (30, "answered"), (10, "abandoned"),
                                         (2, "abandoned")]):  # fmt: skip
        at = n * 60
        log.routing(ev.CallQueued(at=log.at(at), call_id=f"c{n}", queue_id="q1", position=1))
        if outcome == "answered":
            log.routing(ev.CallAnswered(at=log.at(at + wait), call_id=f"c{n}", agent_id="a1",
                                        queue_id="q1", wait=wait, ring=1))  # fmt: skip
        else:
            log.routing(ev.CallAbandoned(at=log.at(at + wait), call_id=f"c{n}", queue_id="q1",
                                         wait=wait, position=1))  # fmt: skip
    return log


WINDOW = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}


def test_kpis_follow_a_settings_change_retroactively(analytics_client, log, archive, bearer):
    client = analytics_client
    archive(client, a_morning(log).envelopes)
    report = client.get("/v1/kpis", params=WINDOW, headers=bearer()).json()
    [row] = report["rows"]
    # against, short abandons (< 5 s) excluded: 1 of (2 answered + 1 abandoned)
    assert (row["offered"], row["answered"], row["abandoned"]) == (3, 2, 1)
    assert row["service_level"] == round(1 / 3, 4)
    changed = {"abandon_mode": "ignored", "exclude_short_abandons": False}
    response = client.put("/v1/settings", json=changed, headers=bearer())
    assert response.status_code == 200, response.text
    [row] = client.get("/v1/kpis", params=WINDOW, headers=bearer()).json()["rows"]
    assert row["offered"] == 4
    assert row["service_level"] == 0.5  # abandons within 20 s leave the denominator
    # Settings are the tenant's and survive a restart (checked in test_restart below).
    assert client.get("/v1/settings", headers=bearer()).json()["abandon_mode"] == "ignored"
    other = client.get("/v1/settings", headers=bearer("globex")).json()
    assert other["abandon_mode"] == "against"


def test_kpis_by_queue_as_csv(analytics_client, log, archive, bearer):
    archive(analytics_client, a_morning(log).envelopes)
    response = analytics_client.get(
        "/v1/kpis", params={**WINDOW, "by": "queue", "format": "csv"}, headers=bearer()
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["queue_id"], row["offered"], row["service_level"]) == ("q1", "3", "0.3333")


def test_a_tenant_sees_only_its_own_kpis(analytics_client, log, archive, bearer):
    archive(analytics_client, a_morning(log).envelopes)
    report = analytics_client.get("/v1/kpis", params=WINDOW, headers=bearer("globex")).json()
    assert report["rows"] == []


def test_live_view(analytics_client, log, archive, bearer):
    archive(analytics_client, a_morning(log).envelopes)
    view = analytics_client.get("/v1/live", headers=bearer()).json()
    assert [queue["name"] for queue in view["queues"]] == ["Billing"]
    assert set(view["agents"]) == {"ready", "ringing", "on_call", "wrap_up", "not_ready"}


def test_bad_input_is_a_problem_naming_the_field(analytics_client, bearer):
    client = analytics_client
    cases = [
        ({"interval": "7"}, "interval"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-24T00:00:00Z", "to": "2026-11-23T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ]
    for params, field in cases:
        response = client.get("/v1/kpis", params=params, headers=bearer())
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert field in response.text
    bad = client.put("/v1/settings", json={"timezone": "Mars/Olympus"}, headers=bearer())
    assert bad.status_code == 422 and "timezone" in bad.text
    bad = client.put("/v1/settings", json={"queue_targets": {"q1": 80}}, headers=bearer())
    assert bad.status_code == 422 and "queue_targets" in bad.text
    assert client.get("/v1/settings", headers=bearer()).json()["timezone"] == "UTC"


def test_roles(analytics_client, bearer):
    client = analytics_client
    assert client.get("/v1/kpis").status_code == 401
    agent = bearer("acme", Role.AGENT)
    assert client.get("/v1/live", headers=agent).status_code == 200
    assert client.put("/v1/settings", json={}, headers=agent).status_code == 403
    assert client.get("/v1/live/stream", params={"access_token": "nope"}).status_code == 401


def test_the_fold_is_rebuilt_from_the_archive_on_restart(analytics_settings, log, archive, bearer):
    from fastapi.testclient import TestClient

    from callcenter.analytics.app import create_app

    with TestClient(create_app(analytics_settings(run_consumers=False))) as client:
        archive(client, a_morning(log).envelopes)
        client.put("/v1/settings", json={"abandon_mode": "for"}, headers=bearer())
        before = client.get("/v1/kpis", params=WINDOW, headers=bearer()).json()
    with TestClient(create_app(analytics_settings(run_consumers=False))) as client:
        client.portal.call(client.app.state.analytics.caught_up.wait)
        after = client.get("/v1/kpis", params=WINDOW, headers=bearer()).json()
    assert after == before
    assert after["settings"]["abandon_mode"] == "for"


def test_staffing_forecast_from_the_same_weekdays(analytics_client, log, archive, bearer):
    log.routing(ev.QueueConfigured(at=log.at(-30 * 86400), queue_id="q1", config={}))
    for week, calls in enumerate([8, 10, 12, 10]):  # four Mondays at 09:00
        for n in range(calls):
            at, call_id = -week * 7 * 86400 + n * 60, f"w{week}c{n}"
            log.routing(ev.CallQueued(at=log.at(at), call_id=call_id, queue_id="q1", position=1))
            log.routing(ev.CallAnswered(at=log.at(at + 5), call_id=call_id, agent_id="a1",
                                        queue_id="q1", wait=5, ring=1))  # fmt: skip
            log.routing(ev.CallEnded(at=log.at(at + 185), call_id=call_id, agent_id="a1",
                                     queue_id="q1", talk=180, ended_by="caller"))  # fmt: skip
    archive(analytics_client, log.envelopes)
    params = {"day": "2026-11-30", "queue_id": "q1", "interval_minutes": 30}
    response = analytics_client.get("/v1/staffing/forecast", params=params, headers=bearer())
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["basis"] == "same-weekday"
    assert plan["days"] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    nine = next(row for row in plan["intervals"] if row["start"].startswith("2026-11-30T09:00"))
    assert (nine["calls"], nine["aht_seconds"]) == (10, 180)
    assert nine["agents"] >= 2 and nine["service_level"] >= 0.8
    quiet = plan["intervals"][0]
    assert (quiet["calls"], quiet["agents"]) == (0, 0)
    nothing = {"day": "2025-01-06"}
    refused = analytics_client.get("/v1/staffing/forecast", params=nothing, headers=bearer())
    assert refused.status_code == 422 and "day" in refused.text


def test_live_values_are_prometheus_gauges(analytics_client, log, archive):
    log.routing(ev.QueueConfigured(at=log.at(0), queue_id="gauged", config={}))
    log.routing(ev.CallQueued(at=log.at(0), call_id="g1", queue_id="gauged", position=1))
    archive(analytics_client, log.envelopes)
    metrics = analytics_client.get("/metrics").text
    assert 'callcenter_queue_calls_waiting{queue="gauged",tenant="acme"} 1.0' in metrics
    assert 'callcenter_agents{state="ready",tenant="acme"} 0.0' in metrics
