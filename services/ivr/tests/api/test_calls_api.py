"""A call through the HTTP edge: flows published, numbers bound, callers pressing keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role
from callcenter.ivr.app import create_app


def publish(client, bearer, document, flow_id="main", tenant="acme"):
    response = client.put(f"/v1/flows/{flow_id}", json=document, headers=bearer(tenant))
    assert response.status_code in (200, 201), response.text
    return response.json()


def bind(client, bearer, number, version, flow_id="main", tenant="acme"):
    body = {"flow_id": flow_id, "version": version}
    response = client.put(f"/v1/numbers/{number}", json=body, headers=bearer(tenant))
    assert response.status_code == 200, response.text


def events_of(client, bearer, call_id, tenant="acme"):
    stream = f"ivr.call:{tenant}:{call_id}"
    page = client.get(f"/v1/events?stream_id={stream}&limit=500", headers=bearer(tenant))
    return [item["type"] for item in page.json()["items"]]


def test_a_caller_is_greeted_chooses_and_is_queued(client, queues, bearer, menu_flow):
    publish(client, bearer, menu_flow())
    bind(client, bearer, "+15551234", 1)
    new = {"from": "+33612345678", "to": "+15551234", "call_id": "c1"}
    started = client.post("/v1/calls", json=new, headers=bearer())
    assert started.status_code == 201, started.text
    first = started.json()
    assert [item["type"] for item in first["instructions"]] == ["say", "gather"]
    assert first["awaiting"] == "input"

    chosen = client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=bearer()).json()
    assert chosen["outcome"] == "queued"
    enqueue = chosen["instructions"][-1]
    assert enqueue == {
        "type": "enqueue",
        "queue": "sales",
        "skills": {"sales": 2},
        "priority": 3,
        "hold_music": None,
    }

    view = client.get("/v1/calls/c1", headers=bearer("acme", Role.SUPERVISOR))
    assert view.status_code == 200
    assert view.json()["path"] == ["welcome", "menu", "sales"]
    assert view.json()["queue_id"] == "sales"

    hung_up = client.post("/v1/calls/c1/hangup", headers=bearer())
    assert hung_up.json()["status"] == "ended"
    assert events_of(client, bearer, "c1") == [
        "CallArrived",
        "IvrNodeEntered",
        "IvrNodeEntered",
        "IvrInputReceived",
        "IvrVariablesSet",
        "IvrNodeEntered",
        "CallEnqueueRequested",
        "IvrCompleted",
        "CallHungUp",
    ]


def test_bad_input_is_a_problem_and_changes_nothing(client, queues, bearer, menu_flow):
    publish(client, bearer, menu_flow())
    bind(client, bearer, "+15551234", 1)
    client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "c1"}, headers=bearer()
    )
    before = events_of(client, bearer, "c1")

    unknown = client.post("/v1/calls/nope/input", json={"digits": "1"}, headers=bearer())
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")

    letters = client.post("/v1/calls/c1/input", json={"digits": "1a"}, headers=bearer())
    assert letters.status_code == 422
    assert letters.json()["errors"][0]["field"] == "body.digits"

    unbound = client.post("/v1/calls", json={"from": "+331", "to": "+19999"}, headers=bearer())
    assert unbound.status_code == 422 and unbound.json()["errors"][0]["field"] == "body.to"

    again = client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "c1"}, headers=bearer()
    )
    assert again.status_code == 409

    client.post("/v1/calls/c1/hangup", headers=bearer())
    ended = events_of(client, bearer, "c1")
    after_hangup = client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=bearer())
    assert after_hangup.status_code == 409
    assert after_hangup.json()["reason"] == "ended"
    twice = client.post("/v1/calls/c1/hangup", headers=bearer())
    assert twice.status_code == 409
    assert events_of(client, bearer, "c1") == ended
    assert ended[: len(before)] == before


def test_tenants_do_not_see_each_others_calls_numbers_or_flows(client, queues, bearer, menu_flow):
    publish(client, bearer, menu_flow())
    bind(client, bearer, "+15551234", 1)
    client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "c1"}, headers=bearer()
    )
    other = bearer("globex")
    assert client.get("/v1/calls/c1", headers=other).status_code == 404
    assert client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=other).status_code == 404
    assert client.get("/v1/flows/main", headers=other).status_code == 404
    assert client.get("/v1/numbers/+15551234", headers=other).status_code == 404
    taken = client.put(
        "/v1/numbers/+15551234", json={"flow_id": "main", "version": 1}, headers=other
    )
    assert taken.status_code == 409
    stolen = client.post(
        "/v1/calls", json={"from": "+15557654321", "to": "+15551234"}, headers=other
    )
    assert stolen.status_code == 422
    agent = client.post(
        "/v1/calls",
        json={"from": "+15557654321", "to": "+15551234"},
        headers=bearer("acme", Role.AGENT),
    )
    assert agent.status_code == 403


def test_a_malformed_flow_gets_every_problem_with_its_node(client, queues, bearer, menu_flow):
    flow = menu_flow()
    flow["nodes"]["menu"]["choices"]["3"] = "nowhere"
    flow["nodes"]["sales"]["queue"] = "ghosts"
    flow["nodes"]["orphan"] = {"type": "say", "next": "orphan"}
    response = client.put("/v1/flows/main", json=flow, headers=bearer())
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {(item["node"], item["field"]) for item in problem["errors"]} == {
        ("menu", "choices.3.next"),
        ("sales", "queue"),
    }
    shape = client.put(
        "/v1/flows/main", json={"start": "x", "nodes": {"x": {"type": "dance"}}}, headers=bearer()
    )
    assert shape.status_code == 422 and shape.json()["errors"][0]["node"] == "x"
    garbage = client.put("/v1/flows/main", content=b"{nope", headers=bearer())
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "body"
    assert client.get("/v1/flows/main", headers=bearer()).status_code == 404


def test_versions_are_immutable_and_a_call_keeps_its_version(client, queues, bearer, menu_flow):
    assert publish(client, bearer, menu_flow())["version"] == 1
    bind(client, bearer, "+15551234", 1)
    client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "old"}, headers=bearer()
    )

    changed = menu_flow()
    changed["nodes"]["menu"]["choices"]["1"] = "bye"
    assert publish(client, bearer, changed)["version"] == 2
    assert publish(client, bearer, changed)["version"] == 2  # the same document: no new version
    bind(client, bearer, "+15551234", 2)

    old = client.post("/v1/calls/old/input", json={"digits": "1"}, headers=bearer()).json()
    assert old["outcome"] == "queued"  # version 1 still decides for this call
    client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "new"}, headers=bearer()
    )
    new = client.post("/v1/calls/new/input", json={"digits": "1"}, headers=bearer()).json()
    assert new["outcome"] == "self_served"
    first = client.get("/v1/flows/main/versions/1", headers=bearer()).json()
    assert first["document"]["nodes"]["menu"]["choices"]["1"]["next"] == "sales"


def test_yaml_flows_and_simulation_without_a_phone(client, queues, bearer):
    yaml_flow = b"""
start: menu
nodes:
  menu:
    type: menu
    prompts: ["Balance 1"]
    choices: {"1": lookup}
    on_failure: bye
  lookup:
    type: http
    url: http://127.0.0.1:9/x
    results: {balance: account.balance}
    next: say
    on_error: bye
  say: {type: say, prompts: ["You have {balance}."], next: bye}
  bye: {type: hangup}
"""
    headers = {**bearer(), "Content-Type": "application/yaml"}
    assert client.put("/v1/flows/yaml", content=yaml_flow, headers=headers).status_code == 201
    script = {
        "inputs": [{"digits": "5"}, {"digits": "1"}],
        "dips": {"lookup": {"outcome": "ok", "body": {"account": {"balance": 12}}}},
    }
    run = client.post("/v1/flows/yaml/simulate", json=script, headers=bearer())
    assert run.status_code == 200, run.text
    result = run.json()
    assert result["path"] == ["menu", "lookup", "say", "bye"]
    assert result["outcome"] == "self_served"
    said = [
        i["text"] for step in result["steps"] for i in step["instructions"] if i["type"] == "say"
    ]
    assert "You have 12." in said
    wrong = client.post("/v1/flows/yaml/simulate", json={"dips": {"menu": {}}}, headers=bearer())
    assert wrong.status_code == 422


def test_a_data_dip_calls_the_integrator_and_falls_back_when_it_is_down(
    client, queues, bearer, menu_flow
):
    publish(client, bearer, menu_flow())  # lookup points at a closed port
    bind(client, bearer, "+15551234", 1)
    client.post(
        "/v1/calls", json={"from": "+331", "to": "+15551234", "call_id": "c1"}, headers=bearer()
    )
    client.post("/v1/calls/c1/input", json={"digits": "2"}, headers=bearer())
    answer = client.post("/v1/calls/c1/input", json={"digits": "1234"}, headers=bearer()).json()
    assert answer["outcome"] == "queued"
    assert "IvrDataDipCompleted" in events_of(client, bearer, "c1")


def test_two_replicas_sharing_a_database_never_act_on_a_stale_call(
    client, ivr_settings, queues, bearer, menu_flow
):
    """Replica A remembers the calls it wrote; when replica B moved one on, A's
    next append collides on the stream version, A reads the call again and retries."""
    publish(client, bearer, menu_flow())
    bind(client, bearer, "+15551234", 1)
    new = {"from": "+33612345678", "to": "+15551234", "call_id": "c1"}
    assert client.post("/v1/calls", json=new, headers=bearer()).status_code == 201

    with TestClient(create_app(ivr_settings)) as other:
        wrong = other.post("/v1/calls/c1/input", json={"digits": "9"}, headers=bearer())
        assert wrong.status_code == 200, wrong.text  # invalid key: the menu asks again

    chosen = client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=bearer())
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["outcome"] == "queued"
    steps = events_of(client, bearer, "c1")
    assert steps.count("IvrInputInvalid") == 1
    assert steps[-1] == "IvrCompleted"
