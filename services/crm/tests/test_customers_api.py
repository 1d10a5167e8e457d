"""Customers through the API, as agents and integrators use it, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.crm import shredding
from callcenter.crm.store.tables import card_reads, customers
from callcenter.events import store
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py


def token(role: Role = Role.AGENT, subject: str = "alice", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


AGENT = token(Role.AGENT)
OTHER_TENANT = token(Role.AGENT, tenant="globex")


def run(database_url: str, query):
    async def go():
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await query(conn)
        finally:
            await db.dispose()

    return asyncio.run(go())


def stored_events(database_url: str, stream_id: str) -> list:
    return run(database_url, lambda conn: store.read_stream(conn, stream_id))


def opened(database_url: str, event) -> dict[str, str]:
    """An event's personal fields, opened with the customer's key."""
    customer_id = event.stream_id.removeprefix("customer:")
    key = run(database_url, lambda conn: shredding.key_of(conn, event.tenant, customer_id))
    return shredding.personal_fields(event.data, key, customer_id)


def count(database_url: str, table) -> int:
    return run(database_url, lambda conn: conn.scalar(select(func.count()).select_from(table)))


def create(client, **body):
    return client.post("/v1/customers", json=body, headers=AGENT)


PHONES = [
    ("06 28 12 34 56", "FR", "+33628123456"),
    ("+33 6 28 12 34 56", "FR", "+33628123456"),
    ("0033 6 28 12 34 56", "FR", "+33628123456"),
    ("06.28.12.34.56", "FR", "+33628123456"),
    ("(06) 28-12-34-56", "FR", "+33628123456"),
    ("+33 (0)6 28 12 34 56", "FR", "+33628123456"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("+44 20 7946 0958", "FR", "+442079460958"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("+1 415-555-2671", "FR", "+14155552671"),
]


def test_phone_numbers_are_stored_as_e164_read_with_the_tenant_region(crm):
    # One tenant per region; each number once per tenant (the same number twice is a duplicate).
    regions = {f"t{i}": region for i, (_, region, _) in enumerate(PHONES)}
    with crm(tenant_regions=regions) as client:
        for i, (raw, _, e164) in enumerate(PHONES):
            created = client.post("/v1/customers", json={"phones": [raw]},
                                  headers=token(tenant=f"t{i}"))  # fmt: skip
            assert created.status_code == 201, (raw, created.text)
            assert created.json()["phones"] == [e164], raw


def test_national_and_international_forms_are_one_number(crm):
    with crm() as client:
        first = create(client, last_name="Martin", phones=["06 28 12 34 56"]).json()
        found = client.get("/v1/customers", params={"phone": "+33 6 28 12 34 56"}, headers=AGENT)
        assert [c["id"] for c in found.json()["items"]] == [first["id"]]
        again = create(client, last_name="Martin", phones=["+33628123456"])
        assert again.status_code == 409


def test_the_tenant_region_reads_national_numbers(crm):
    with crm(tenant_regions={"acme": "GB"}) as client:
        created = create(client, phones=["020 7946 0958"])
        assert created.json()["phones"] == ["+442079460958"]
        other = client.post("/v1/customers", json={"phones": ["06 28 12 34 56"]},
                            headers=OTHER_TENANT)  # fmt: skip
        assert other.json()["phones"] == ["+33628123456"]


INVALID_PHONES = [
    "12",
    "not a number",
    "+33 1",
    "06 28 12 34 5",
    "+999 123456",
    "06 28 12 34 56 78 90",
]
BAD_BODIES = [
    ({"emails": ["not-an-email"]}, "body.emails"),
    ({"tier": "gold"}, "body.tier"),
    ({"tags": ["two words"]}, "body.tags.0"),
    ({"nickname": "x"}, "body.nickname"),
    ({"first_name": "x" * 201}, "body.first_name"),
    ({"phones": "0628123456"}, "body.phones"),
]


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(crm, database_url):
    with crm() as client:
        for raw in INVALID_PHONES:
            answer = create(client, last_name="Martin", phones=["06 28 12 34 56", raw])
            assert answer.status_code == 422, raw
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["errors"][0]["field"] == "body.phones.1"
            assert "body.phones.1" in answer.json()["detail"]
        for body, field in BAD_BODIES:
            answer = client.post("/v1/customers", json=body, headers=AGENT)
            assert answer.status_code == 422, body
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["errors"][0]["field"] == field
    assert count(database_url, customers) == 0
    assert count(database_url, store.events) == 0


def test_a_customer_is_created_as_an_event_and_read_back(crm, database_url):
    with crm() as client:
        body = {
            "first_name": "Léa",
            "last_name": "Martin",
            "company": "Boulangerie Martin",
            "tier": "key_important",
            "phones": ["06 28 12 34 56", "+33 6 28 12 34 56", "01 42 68 53 00"],
            "emails": ["Lea.Martin@Example.fr"],
            "tags": ["vip", "bakery", "vip"],
        }
        created = create(client, **body)
        assert created.status_code == 201, created.text
        customer = created.json()
        assert customer["phones"] == ["+33628123456", "+33142685300"]
        assert customer["emails"] == ["lea.martin@example.fr"]
        assert customer["tags"] == ["vip", "bakery"]
        assert customer["version"] == 1
        read = client.get(f"/v1/customers/{customer['id']}", headers=AGENT)
        assert read.json() == customer

    [event] = stored_events(database_url, f"customer:{customer['id']}")
    assert event.type == "CustomerCreated"
    assert event.tenant == "acme"
    assert event.data.tier == "key_important"
    assert event.data.personal == {}  # sealed with the customer's key
    assert "Martin" not in event.data.sealed
    assert opened(database_url, event)["last_name"] == "Martin"


def test_duplicates_on_phone_or_email_are_a_409_naming_the_existing_customer(crm, database_url):
    with crm() as client:
        first = create(client, last_name="Martin", phones=["06 28 12 34 56"],
                       emails=["lea@example.fr"]).json()  # fmt: skip
        by_phone = create(client, last_name="Other", phones=["+33 6 28 12 34 56"])
        by_email = create(client, last_name="Other", emails=["LEA@example.fr"])
        for answer, field in ((by_phone, "body.phones.0"), (by_email, "body.emails.0")):
            assert answer.status_code == 409
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["existing_customer_id"] == first["id"]
            assert first["id"] in answer.json()["detail"]
            assert answer.json()["errors"][0]["field"] == field
    assert count(database_url, customers) == 1
    assert count(database_url, store.events) == 1


def test_patch_changes_only_what_is_given_and_checks_duplicates(crm, database_url):
    with crm() as client:
        lea = create(client, first_name="Léa", last_name="Martin", phones=["06 28 12 34 56"],
                     tags=["vip"]).json()  # fmt: skip
        bob = create(client, first_name="Bob", phones=["06 11 22 33 44"]).json()

        patched = client.patch(f"/v1/customers/{lea['id']}",
                               json={"tier": "small", "phones": ["06 12 34 56 78"]},
                               headers=AGENT)  # fmt: skip
        assert patched.status_code == 200, patched.text
        assert patched.json()["tier"] == "small"
        assert patched.json()["phones"] == ["+33612345678"]
        assert patched.json()["first_name"] == "Léa"
        assert patched.json()["tags"] == ["vip"]
        assert patched.json()["version"] == 2

        # The old number is free again; the new one is hers.
        old = client.get("/v1/customers", params={"phone": "0628123456"}, headers=AGENT)
        assert old.json()["items"] == []
        taken = client.patch(f"/v1/customers/{bob['id']}", json={"phones": ["0612345678"]},
                             headers=AGENT)  # fmt: skip
        assert taken.status_code == 409
        assert taken.json()["existing_customer_id"] == lea["id"]
        bad = client.patch(f"/v1/customers/{bob['id']}", json={"phones": ["12"]}, headers=AGENT)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.phones.0"
        assert client.get(f"/v1/customers/{bob['id']}", headers=AGENT).json() == bob

        same = client.patch(f"/v1/customers/{lea['id']}", json={"tier": "small"}, headers=AGENT)
        assert same.json()["version"] == 2  # nothing changed, no event

    events = stored_events(database_url, f"customer:{lea['id']}")
    assert [e.type for e in events] == ["CustomerCreated", "CustomerUpdated"]
    assert events[1].data.tier == "small"
    assert set(opened(database_url, events[1])) == {"phones"}


def test_tenants_never_see_each_others_customers(crm):
    with crm() as client:
        lea = create(client, last_name="Martin", phones=["06 28 12 34 56"]).json()
        assert client.get(f"/v1/customers/{lea['id']}", headers=OTHER_TENANT).status_code == 404
        patch = client.patch(f"/v1/customers/{lea['id']}", json={"tier": "small"},
                             headers=OTHER_TENANT)  # fmt: skip
        assert patch.status_code == 404
        assert client.get("/v1/customers", headers=OTHER_TENANT).json()["items"] == []
        # The same number is no duplicate in another tenant.
        other = client.post("/v1/customers", json={"phones": ["06 28 12 34 56"]},
                            headers=OTHER_TENANT)  # fmt: skip
        assert other.status_code == 201
        mine = client.get("/v1/customers", params={"phone": "0628123456"}, headers=AGENT)
        assert [c["id"] for c in mine.json()["items"]] == [lea["id"]]


def test_search_filters_and_cursor_pagination(crm):
    with crm() as client:
        made = [
            create(client, first_name="Léa", last_name="Martin", company="Acme Bakery",
                   tier="key_important", tags=["vip"], emails=["lea@example.fr"]),
            create(client, first_name="Paul", last_name="Martinez", tier="small", tags=["vip"]),
            create(client, first_name="Zoé", last_name="Durand", tier="small"),
        ]  # fmt: skip
        ids = {c.json()["last_name"]: c.json()["id"] for c in made}

        def names(**params) -> list[str]:
            answer = client.get("/v1/customers", params=params, headers=AGENT)
            assert answer.status_code == 200, answer.text
            return sorted(c["last_name"] for c in answer.json()["items"])

        assert names(name="martin") == ["Martin", "Martinez"]
        assert names(name="BAKERY") == ["Martin"]
        assert names(name="%") == []
        assert names(tag="vip") == ["Martin", "Martinez"]
        assert names(tier="small") == ["Durand", "Martinez"]
        assert names(tier="small", tag="vip") == ["Martinez"]
        assert names(email="LEA@example.fr") == ["Martin"]

        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = client.get("/v1/customers", params=params, headers=AGENT).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids.values())
        assert len(seen) == 3

        bad = client.get("/v1/customers", params={"phone": "xx"}, headers=AGENT)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.phone"
        assert client.get("/v1/customers", params={"tier": "gold"},
                          headers=AGENT).status_code == 422  # fmt: skip


def test_reading_a_card_is_audited_and_needs_a_token(crm, database_url):
    with crm() as client:
        lea = create(client, last_name="Martin").json()
        assert client.get(f"/v1/customers/{lea['id']}").status_code == 401
        assert client.post("/v1/customers", json={}).status_code == 401
        client.get(f"/v1/customers/{lea['id']}", headers=AGENT)
        assert client.get("/v1/customers/nobody", headers=AGENT).status_code == 404

    rows = run(database_url, lambda conn: conn.execute(select(card_reads)))
    assert [(r.subject, r.customer_id, r.call_id) for r in rows] == [("alice", lea["id"], None)]


def test_notes_go_on_the_customer_stream_and_timeline(crm, database_url):
    with crm() as client:
        lea = create(client, last_name="Martin").json()
        url = f"/v1/customers/{lea['id']}/notes"
        for body, field in (({"text": "  "}, "body.text"), ({}, "body.text"),
                            ({"text": "x" * 5001}, "body.text")):  # fmt: skip
            bad = client.post(url, json=body, headers=AGENT)
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["field"] == field
        assert client.post(url, json={"text": "hi"}, headers=OTHER_TENANT).status_code == 404
        first = client.post(url, json={"text": "Called about delivery"}, headers=AGENT)
        second = client.post(url, json={"text": "Delivery confirmed"},
                             headers=token(subject="bob"))  # fmt: skip
        assert first.status_code == second.status_code == 201
        entries = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert [(e["author"], e["text"]) for e in entries] == [
            ("bob", "Delivery confirmed"),
            ("alice", "Called about delivery"),
        ]
        assert client.get(f"/v1/customers/{lea['id']}/timeline",
                          headers=OTHER_TENANT).status_code == 404  # fmt: skip
        # The customer's stream went on: a later update appends after the notes.
        patched = client.patch(f"/v1/customers/{lea['id']}", json={"tier": "small"},
                               headers=AGENT)  # fmt: skip
        assert patched.json()["version"] == 4

    events = stored_events(database_url, f"customer:{lea['id']}")
    assert [e.type for e in events] == [
        "CustomerCreated", "NoteAdded", "NoteAdded", "CustomerUpdated"
    ]  # fmt: skip
    assert events[1].data.author == "alice"


def test_custom_attributes_and_consent_flags(crm, database_url):
    with crm() as client:
        created = create(client, last_name="Martin", attributes={"contract_no": "C-1234"},
                         consent={"calls": True, "sms": True})  # fmt: skip
        assert created.status_code == 201, created.text
        lea = created.json()
        assert lea["attributes"] == {"contract_no": "C-1234"}
        assert lea["consent"] == {"calls": True, "sms": True, "email": False, "marketing": False}
        assert create(client).json()["consent"] == dict.fromkeys(lea["consent"], False)

        url = f"/v1/customers/{lea['id']}"
        withdrawn = client.patch(url, json={"consent": {"calls": True}}, headers=AGENT).json()
        assert withdrawn["consent"] == {"calls": True, "sms": False, "email": False,
                                        "marketing": False}  # fmt: skip
        assert withdrawn["attributes"] == {"contract_no": "C-1234"}
        for body, field in (
            ({"attributes": {"Bad Key": "x"}}, "body.attributes.Bad Key.[key]"),
            ({"attributes": {"note": "x" * 501}}, "body.attributes.note"),
            ({"consent": {"fax": True}}, "body.consent.fax"),
        ):
            bad = client.patch(url, json=body, headers=AGENT)
            assert bad.status_code == 422, body
            assert bad.json()["errors"][0]["field"] == field
        assert client.get(url, headers=AGENT).json() == withdrawn

    events = stored_events(database_url, f"customer:{lea['id']}")
    assert events[0].data.consent["sms"] is True
    assert events[1].data.consent == {"calls": True, "sms": False, "email": False,
                                      "marketing": False}  # fmt: skip
    assert "attributes" not in opened(database_url, events[1])
