"""Screening campaign contacts: each number routing will dial is matched to a customer
(read as E.164, as callers are) and answered with that customer's consent, one
CampaignContactsScreened per batch, exactly once; erased customers never match."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient

from callcenter.crm import campaigns
from callcenter.crm.app import create_app
from callcenter.crm.campaigns import screen_results
from callcenter.crm.consumers import routing_handler
from callcenter.crm.settings import Settings
from callcenter.events import store
from callcenter.events.catalogue import routing
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope, utcnow
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.testing import publish_streams

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py


def headers(role: Role = Role.AGENT) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject='sam', tenant='acme', roles=[role])}"
    }


AGENT, ADMIN = headers(), headers(Role.ADMIN)
NOBODY = {"calls": False, "sms": False, "email": False, "marketing": False}


def test_each_contact_takes_the_customer_of_its_number_else_the_one_it_names():
    by_phone = {"+33628123456": ("lea", {"calls": True, "marketing": False})}
    by_id = {"max": ("max", {}), "old": ("lea", {"calls": True})}
    contacts = [
        {"contact_id": "k1", "number": "06 28 12 34 56", "time_zone": "Europe/Paris"},
        {"contact_id": "k2", "number": "+33 6 00 00 00 01", "customer_id": "max"},
        {"contact_id": "k3", "number": "0600000002", "customer_id": "gone"},
        {"contact_id": "k4", "number": "garbage", "customer_id": "old"},
        {"number": "0628123456"},  # no contact id: not a contact
    ]
    numbers = {"06 28 12 34 56": "+33628123456", "+33 6 00 00 00 01": "+33600000001"}
    results = screen_results(contacts, numbers.get, by_phone, by_id)
    assert results == [
        {"contact_id": "k1", "customer_id": "lea", "consent": NOBODY | {"calls": True}},
        {"contact_id": "k2", "customer_id": "max", "consent": NOBODY},
        {"contact_id": "k3", "customer_id": None, "consent": {}},
        {"contact_id": "k4", "customer_id": "lea", "consent": NOBODY | {"calls": True}},
    ]


def customers_of_a_campaign(client: TestClient) -> dict[str, str]:
    """Léa (consents to calls), Max (to nothing), Pro (merged into Léa), Zoé (erased)."""

    def create(body: dict) -> str:
        answer = client.post("/v1/customers", headers=AGENT, json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    ids = {
        "lea": create({"last_name": "Martin", "phones": ["0628123456"],
                       "consent": {"calls": True, "sms": True}}),
        "max": create({"last_name": "Durand", "phones": ["0611223344"]}),
        "pro": create({"last_name": "Martin", "phones": ["0655443322"]}),
        "zoe": create({"last_name": "Petit", "phones": ["0699887766"],
                       "consent": {"calls": True}}),
    }  # fmt: skip
    merged = client.post(f"/v1/customers/{ids['lea']}/merge", json={"merged_id": ids["pro"]},
                         headers=headers(Role.SUPERVISOR))  # fmt: skip
    assert merged.status_code == 200, merged.text
    assert client.delete(f"/v1/customers/{ids['zoe']}", headers=ADMIN).status_code == 200
    return ids


def contacts_added(ids: dict[str, str]) -> routing.CampaignContactsAdded:
    return routing.CampaignContactsAdded(
        campaign_id="spring",
        contacts=[
            {"contact_id": "k1", "number": "+33 6 28 12 34 56", "time_zone": "Europe/Paris"},
            {"contact_id": "k2", "number": "06 99 88 77 66", "time_zone": "Europe/Paris"},
            {"contact_id": "k3", "number": "0600000001", "time_zone": "Europe/Paris"},
            {"contact_id": "k4", "number": "0611223344", "time_zone": "Europe/Paris"},
            {"contact_id": "k5", "number": "0655443322", "time_zone": "Europe/Paris"},
            {"contact_id": "k6", "number": "0600000002", "customer_id": ids["zoe"],
             "time_zone": "Europe/Paris"},
            {"contact_id": "k7", "number": "0600000003", "customer_id": ids["pro"],
             "time_zone": "Europe/Paris"},
        ],
        at=utcnow(),
    )  # fmt: skip


def expected(ids: dict[str, str]) -> list[dict]:
    lea = NOBODY | {"calls": True, "sms": True}
    return [
        {"contact_id": "k1", "customer_id": ids["lea"], "consent": lea},
        {"contact_id": "k2", "customer_id": None, "consent": {}},  # erased: no match
        {"contact_id": "k3", "customer_id": None, "consent": {}},
        {"contact_id": "k4", "customer_id": ids["max"], "consent": NOBODY},
        {"contact_id": "k5", "customer_id": ids["lea"], "consent": lea},  # merged into her
        {"contact_id": "k6", "customer_id": None, "consent": {}},
        {"contact_id": "k7", "customer_id": ids["lea"], "consent": lea},
    ]


def screenings(database_url: str) -> list:
    async def go() -> list:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return [e.envelope() for e in await store.read_all(conn)
                        if e.envelope().type == "CampaignContactsScreened"]  # fmt: skip
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_a_batch_is_screened_once_and_erased_customers_never_match(
    crm_offline, database_url, monkeypatch
):
    with crm_offline() as client:
        ids = customers_of_a_campaign(client)
    batch = new_envelope(contacts_added(ids), source="routing", tenant="acme",
                         stream_id="acme", stream_version=7, correlation_id="spring")  # fmt: skip
    other_tenant = batch.model_copy(update={"tenant": "globex", "id": "other"})
    handle = routing_handler(Settings())

    async def deliver(*envelopes) -> None:
        db = Database(database_url)
        try:
            for envelope in envelopes:
                async with db.transaction() as conn:
                    await handle(conn, envelope)
        finally:
            await db.dispose()

    asyncio.run(deliver(batch, batch, other_tenant))  # the same batch delivered twice
    [answer, elsewhere] = screenings(database_url)  # screened once, and the other tenant's
    assert (answer.stream_id, answer.tenant, answer.causation_id) == (
        "campaign:acme:spring",
        "acme",
        batch.id,
    )
    assert answer.data.campaign_id == "spring"
    assert answer.data.results == expected(ids)
    assert elsewhere.stream_id == "campaign:globex:spring"  # another tenant's customers
    assert all(result["customer_id"] is None for result in elsewhere.data.results)

    # A large batch is answered in parts, so that no message outgrows the broker's limit.
    monkeypatch.setattr(campaigns, "RESULTS_PER_EVENT", 3)
    asyncio.run(deliver(batch.model_copy(update={"id": "large"})))
    parts = [e for e in screenings(database_url) if e.causation_id == "large"]
    assert [len(e.data.results) for e in parts] == [3, 3, 1]
    assert [r for e in parts for r in e.data.results] == expected(ids)


@pytest.mark.broker
def test_contacts_added_in_routing_are_screened_through_the_broker(
    crm_settings, database_url, kafka, tmp_path, read_topic
):
    with TestClient(create_app(crm_settings())) as client:
        ids = customers_of_a_campaign(client)
        publish_streams(kafka, tmp_path / "routing.db", "routing",
                        {"acme": [contacts_added(ids)]})  # fmt: skip
        seen = asyncio.run(read_topic(kafka, "callcenter.crm", until="CampaignContactsScreened"))
        assert ("CampaignContactsScreened", "campaign:acme:spring") in seen
    [answer] = screenings(database_url)
    assert answer.data.results == expected(ids)
    with TestClient(create_app(crm_settings())):  # a restart: the batch is not screened again
        time.sleep(2)
    assert len(screenings(database_url)) == 1
