"""Size limits: request bodies (413 problem+json), flows and bulk operations (422)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role
from tests.integration.test_service_kit import SERVICES, bearer, make_app

MIB = 1024 * 1024
ADMIN = bearer("acme", Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR)
WRITES = {
    "routing": ("POST", "/v1/calls"),
    "ivr": ("PUT", "/v1/flows/big"),
    "crm": ("POST", "/v1/customers"),
    "workorders": ("POST", "/v1/tickets"),
    "analytics": ("PUT", "/v1/settings"),
}


def _too_large(response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "bytes" in response.json()["detail"]


@pytest.mark.parametrize("name", SERVICES)
def test_a_body_past_the_limit_is_refused_declared_or_streamed(name, database_url, kafka, tmp_path):
    method, path = WRITES[name]
    big = json.dumps({"padding": "x" * (MIB + 10)}).encode()
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        _too_large(client.request(method, path, content=big, headers=ADMIN))
        _too_large(client.request(method, path, content=big))  # before authentication too

        def chunks():  # no Content-Length: counted as it arrives
            for start in range(0, len(big), 64 * 1024):
                yield big[start : start + 64 * 1024]

        _too_large(client.request(method, path, content=chunks(), headers=ADMIN))
        small = client.request(method, path, json={"padding": "x"}, headers=ADMIN)
        assert small.status_code in (400, 409, 422), small.text  # read, then judged


def test_uploads_may_be_larger_where_the_route_takes_them(database_url, kafka, tmp_path):
    with TestClient(make_app("routing", database_url, kafka, tmp_path)) as client:
        queue = {"skills": {"general": 1}}
        assert client.put("/v1/queues/sales", json=queue, headers=ADMIN).status_code == 200
        campaign = {"campaign_id": "spring", "queue_id": "sales"}
        assert client.post("/v1/campaigns", json=campaign, headers=ADMIN).status_code == 201
        note = "n" * 1000  # a column the upload does not use
        rows = "\n".join(f"k{n},+336{n:08d},{note}" for n in range(1500))
        csv = f"contact_id,number,note\n{rows}\n".encode()
        assert MIB < len(csv) < 5_000_000
        headers = {**ADMIN, "Content-Type": "text/csv"}
        upload = client.post("/v1/campaigns/spring/contacts", content=csv, headers=headers)
        assert upload.status_code in (200, 201), upload.text[:300]
        over = csv + b"x" * (6 * MIB)
        _too_large(client.post("/v1/campaigns/spring/contacts", content=over, headers=headers))
        numbers = [f"+336{n:08d}" for n in range(100_001)]  # past the list's 100,000
        dnc = client.put("/v1/dnc", json={"numbers": numbers}, headers=ADMIN)
        assert dnc.status_code == 422 and "numbers" in dnc.text


def test_bulk_operations_are_bounded(database_url, kafka, tmp_path):
    with TestClient(make_app("workorders", database_url, kafka, tmp_path)) as client:
        body = {"ticket_ids": [f"T{n}" for n in range(501)], "to": "tier-2"}
        bulk = client.post("/v1/tickets:dispatch", json=body, headers=ADMIN)
        assert bulk.status_code == 422 and "ticket_ids" in bulk.text


def test_flows_are_bounded(database_url, kafka, tmp_path):
    with TestClient(make_app("ivr", database_url, kafka, tmp_path)) as client:
        nodes = {
            f"n{n}": {"type": "say", "prompts": ["x" * 200], "next": "n0"} for n in range(3000)
        }
        flow = {"name": "huge", "start": "n0", "nodes": nodes}
        assert 512 * 1024 < len(json.dumps(flow)) < MIB
        refused = client.put("/v1/flows/huge", json=flow, headers=ADMIN)
        assert refused.status_code in (413, 422) and "bytes" in refused.text
        # An alias bomb: a few hundred bytes of YAML naming a billion strings.
        bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
            f"*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
            f"*{chr(97 + n)}, *{chr(97 + n)}]\n"
            for n in range(8)
        )
        yaml_headers = {**ADMIN, "Content-Type": "application/yaml"}
        exploded = client.put("/v1/flows/bomb", content=bomb.encode(), headers=yaml_headers)
        assert exploded.status_code == 422, exploded.text[:300]
