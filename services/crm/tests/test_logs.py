"""No customer data in the CRM's logs."""

from __future__ import annotations

import logging

from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.logs import DropQueryStrings, JsonFormatter

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
BEARER = issue_token(KEY, subject="alice", tenant="acme", roles=[Role.AGENT])
AGENT = {"Authorization": f"Bearer {BEARER}"}
PII = ["Léa", "Martin", "Boulangerie", "628123456", "28 12 34 56", "lea@example.fr", "invoice"]


def test_working_with_a_customer_logs_none_of_their_data(crm, caplog):
    caplog.set_level(logging.DEBUG)
    with crm() as client:
        body = {"first_name": "Léa", "last_name": "Martin", "company": "Boulangerie Martin",
                "phones": ["06 28 12 34 56"], "emails": ["lea@example.fr"]}  # fmt: skip
        lea = client.post("/v1/customers", json=body, headers=AGENT).json()
        assert client.post("/v1/customers", json=body, headers=AGENT).status_code == 409
        bad = {**body, "phones": ["06 28 12 34 5"]}
        assert client.post("/v1/customers", json=bad, headers=AGENT).status_code == 422
        client.get("/v1/customers", params={"name": "Martin", "phone": "0628123456"},
                   headers=AGENT)  # fmt: skip
        client.patch(f"/v1/customers/{lea['id']}", json={"last_name": "Martin-Durand"},
                     headers=AGENT)  # fmt: skip
        client.post(f"/v1/customers/{lea['id']}/notes", json={"text": "invoice"}, headers=AGENT)
        client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT)

    formatter = JsonFormatter("crm")
    server_lines = [formatter.format(r) for r in caplog.records if r.name != "httpx"]
    # The capture works: the test client's own log shows the query it sent.
    assert any("Martin" in r.getMessage() for r in caplog.records if r.name == "httpx")
    for line in server_lines:
        for value in PII:
            assert value not in line, line


def test_the_access_log_drops_query_strings():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/customers?name=Martin&tag=vip", "1.1", 200), None,
    )  # fmt: skip
    assert DropQueryStrings().filter(record)
    line = JsonFormatter("crm").format(record)
    assert "/v1/customers" in line
    assert "Martin" not in line
    assert "vip" not in line
