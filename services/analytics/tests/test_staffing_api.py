"""GET /v1/staffing/erlang-c on the analytics ASGI app: sizing, evaluating, and every refusal."""

from __future__ import annotations

import httpx
import pytest

from callcenter.analytics.app import create_app
from callcenter.analytics.settings import Settings
from callcenter.events.kit.auth import Role, issue_token

KEY = "analytics-staffing-tests-signing-key-32-bytes"
TOKEN = issue_token(KEY, subject="al", tenant="acme", roles=[Role.AGENT])
AGENT = {"Authorization": f"Bearer {TOKEN}"}
# The classic interval: 100 calls in 30 minutes, 180 s each (10 erlangs), answered within 20 s.
CLASSIC = {"calls": 100, "interval_minutes": 30, "aht_seconds": 180, "target_answer_seconds": 20}


@pytest.fixture
async def client(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, signing_key=KEY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as client:
        yield client


async def erlang_c(client: httpx.AsyncClient, **params) -> httpx.Response:
    return await client.get("/v1/staffing/erlang-c", params=params, headers=AGENT)


async def test_sizing_the_classic_interval(client):
    response = await erlang_c(client, **CLASSIC, target_service_level=0.8, shrinkage=0.3)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agents"] == 14
    assert body["agents_with_shrinkage"] == 20
    assert body["traffic_erlangs"] == 10.0
    assert body["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert body["asa_seconds"] == pytest.approx(7.836, abs=1e-3)
    assert body["occupancy"] == pytest.approx(10 / 14)
    assert body["probability_of_waiting"] == pytest.approx(0.1741, abs=1e-4)
    # The seeds' estimate beside it, at their 70% occupancy: 10 / 0.7 = 14.3 agents.
    assert body["back_of_envelope"] == {
        "agents": pytest.approx(14.2857, abs=1e-4),
        "agents_rounded": 14,
        "max_occupancy": 0.7,
    }


async def test_a_max_occupancy_adds_agents_and_drives_the_estimate(client):
    body = (await erlang_c(client, **CLASSIC, target_service_level=0.8, max_occupancy=0.7)).json()

    assert body["agents"] == 15
    assert body["occupancy"] == pytest.approx(2 / 3)
    assert body["agents_with_shrinkage"] == 15
    assert body["back_of_envelope"]["max_occupancy"] == 0.7


async def test_the_seeds_sizing_example_as_back_of_envelope(client):
    # 500,000 x 0.30% x 18% = 270 calls in the busy hour, 150 s each, 70% max occupancy.
    params = {"calls": 270, "interval_minutes": 60, "aht_seconds": 150}
    response = await erlang_c(
        client, **params, target_answer_seconds=20, target_service_level=0.8, max_occupancy=0.7
    )

    estimate = response.json()["back_of_envelope"]
    assert estimate["agents"] == pytest.approx(16.07, abs=0.01)
    assert estimate["agents_rounded"] == 16


async def test_evaluating_a_given_staffing(client):
    body = (await erlang_c(client, **CLASSIC, agents=13, shrinkage=0.2)).json()

    assert body["agents"] == 13
    assert body["agents_with_shrinkage"] == 17  # 16.25
    assert body["service_level"] == pytest.approx(0.7956, abs=1e-4)
    assert body["occupancy"] == pytest.approx(10 / 13)


async def test_five_thousand_agents(client):
    calls = 4900 * 1800 / 180  # 4,900 erlangs
    body = (await erlang_c(client, **{**CLASSIC, "calls": calls}, target_service_level=0.8)).json()

    assert body["agents"] == 4913
    assert body["traffic_erlangs"] == pytest.approx(4900)
    assert 0.8 <= body["service_level"] < 0.82


def refusal(response: httpx.Response, field: str, reason: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == f"query.{field}", problem
    assert reason in problem["errors"][0]["reason"], problem
    assert problem["detail"].startswith(f"query.{field}: ")


SIZE = {**CLASSIC, "target_service_level": 0.8}


@pytest.mark.parametrize(
    "params, field, reason",
    [
        ({**SIZE, "calls": 0}, "calls", "greater than 0"),
        ({**SIZE, "calls": -5}, "calls", "greater than 0"),
        ({**SIZE, "calls": "many"}, "calls", "valid number"),
        ({**SIZE, "calls": "inf"}, "calls", "finite number"),
        ({**SIZE, "interval_minutes": 0}, "interval_minutes", "greater than 0"),
        ({**SIZE, "interval_minutes": 1441}, "interval_minutes", "less than or equal to 1440"),
        ({**SIZE, "aht_seconds": -180}, "aht_seconds", "greater than 0"),
        ({**SIZE, "target_answer_seconds": -1}, "target_answer_seconds", "greater than or equal"),
        ({**SIZE, "target_service_level": 0}, "target_service_level", "greater than 0"),
        ({**SIZE, "target_service_level": 1}, "target_service_level", "less than 1"),
        ({**SIZE, "target_service_level": 1.5}, "target_service_level", "less than 1"),
        ({**SIZE, "shrinkage": 1}, "shrinkage", "less than 1"),
        ({**SIZE, "shrinkage": -0.1}, "shrinkage", "greater than or equal to 0"),
        ({**SIZE, "max_occupancy": 0}, "max_occupancy", "greater than 0"),
        ({**SIZE, "max_occupancy": 1.2}, "max_occupancy", "less than or equal to 1"),
        ({**SIZE, "agents": 0}, "agents", "greater than 0"),
        ({**CLASSIC, "agents": 10}, "agents", "10 agents cannot carry 10 erlangs"),
        ({**CLASSIC, "agents": 4}, "agents", "at least 11 are needed"),
        ({**SIZE, "agents": 14}, "agents", "not both nor neither"),
        (CLASSIC, "agents", "give either target_service_level"),
        ({**CLASSIC, "agents": 14, "max_occupancy": 0.8}, "max_occupancy", "applies when sizing"),
        ({**SIZE, "calls": 10_000_000}, "calls", "more than the 50000"),
        ({**SIZE, "max_occupancy": 0.00001}, "max_occupancy", "more than 100000 agents"),
        ({k: v for k, v in SIZE.items() if k != "aht_seconds"}, "aht_seconds", "Field required"),
    ],
)
async def test_impossible_inputs_are_422_naming_the_field(client, params, field, reason):
    refusal(await erlang_c(client, **params), field, reason)


async def test_a_bearer_token_is_required(client):
    response = await client.get("/v1/staffing/erlang-c", params=SIZE)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
