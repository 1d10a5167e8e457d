"""Per-tenant rate limit: a tenant past its budget gets 429 while the others are served."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from tests.integration.test_service_kit import bearer, make_app

RATE = 0.5  # a token every 2 s: a loaded machine cannot earn one back mid-test
BURST = 3


def _limited(response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 429
    return int(response.headers["retry-after"])


def _rate_limited_app(monkeypatch, database_url, kafka, tmp_path):
    monkeypatch.setenv("CALLCENTER_TENANT_RATE_LIMIT", str(RATE))
    monkeypatch.setenv("CALLCENTER_TENANT_RATE_LIMIT_BURST", str(BURST))
    return make_app("routing", database_url, kafka, tmp_path)


def test_a_tenant_past_its_rate_gets_429_while_another_is_served(
    monkeypatch, database_url, kafka, tmp_path
):
    alpha, beta = bearer("alpha"), bearer("beta")
    with TestClient(_rate_limited_app(monkeypatch, database_url, kafka, tmp_path)) as client:
        for _ in range(BURST):
            assert client.get("/v1/queues", headers=alpha).status_code == 200
        retry_after = _limited(client.get("/v1/queues", headers=alpha))
        assert 1 <= retry_after <= 1 / RATE

        assert client.get("/v1/queues", headers=beta).status_code == 200
        other_user_of_alpha = bearer("alpha", Role.ADMIN)  # the budget is the tenant's
        _limited(client.get("/v1/queues", headers=other_user_of_alpha))
        for path in ("/healthz", "/readyz", "/metrics"):  # probes are never limited
            assert client.get(path).status_code in (200, 503), path

        time.sleep(retry_after)
        assert client.get("/v1/queues", headers=alpha).status_code == 200


def test_a_forged_token_spends_its_address_budget_not_the_tenant_named_in_it(
    monkeypatch, database_url, kafka, tmp_path
):
    forged = issue_token("not-the-key" * 4, subject="x", tenant="alpha", roles=[Role.ADMIN])
    with TestClient(_rate_limited_app(monkeypatch, database_url, kafka, tmp_path)) as client:
        for _ in range(BURST):
            refused = client.get("/v1/queues", headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401
        _limited(client.get("/v1/queues", headers={"Authorization": f"Bearer {forged}"}))
        _limited(client.get("/v1/queues"))  # the same address, no token

        assert client.get("/v1/queues", headers=bearer("alpha")).status_code == 200


def test_the_limit_is_off_by_default(monkeypatch, database_url, kafka, tmp_path):
    monkeypatch.delenv("CALLCENTER_TENANT_RATE_LIMIT", raising=False)
    with TestClient(make_app("routing", database_url, kafka, tmp_path)) as client:
        headers = bearer("alpha")
        assert all(client.get("/v1/queues", headers=headers).status_code == 200 for _ in range(50))
