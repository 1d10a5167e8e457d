"""Merging two customers: one card, both histories, the numbers of both."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from callcenter.crm.consumers import ivr_handler
from callcenter.crm.rebuild import rebuild_customers
from callcenter.crm.store.tables import calls, customer_phones, customers, notes
from callcenter.events import store
from callcenter.events.catalogue import ivr
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py


def headers(role: Role, tenant: str = "acme") -> dict[str, str]:
    bearer = issue_token(KEY, subject="sam", tenant=tenant, roles=[role])
    return {"Authorization": f"Bearer {bearer}"}


AGENT, SUPERVISOR = headers(Role.AGENT), headers(Role.SUPERVISOR)


def call_arrives(database_url: str, settings, call_id: str, ani: str) -> None:
    """What the IVR consumer does with a CallArrived, in a transaction of its own."""

    async def go() -> None:
        db = Database(database_url)
        envelope = new_envelope(
            ivr.CallArrived(call_id=call_id, ani=ani, dnis="+3311"),
            source="ivr", tenant="acme", stream_id=f"call-{call_id}", stream_version=1,
            correlation_id=call_id,
        )  # fmt: skip
        try:
            async with db.transaction() as conn:
                await ivr_handler(settings)(conn, envelope)
        finally:
            await db.dispose()

    asyncio.run(go())


async def table_rows(db: Database) -> dict[str, list[tuple]]:
    async with db.read() as conn:
        return {
            table.name: [
                tuple(row)
                for row in await conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in (customers, customer_phones, notes)
        }


def test_a_merge_keeps_both_histories_and_numbers(crm, crm_settings, database_url):
    settings = crm_settings()
    with crm() as client:
        lea = client.post(
            "/v1/customers",
            headers=AGENT,
            json={"last_name": "Martin", "phones": ["06 28 12 34 56"], "tags": ["vip"]},
        ).json()
        twin = client.post("/v1/customers", headers=AGENT, json={
            "last_name": "Martin L.", "phones": ["01 42 68 53 00"],
            "emails": ["lea@example.fr"], "tags": ["bakery"]}).json()  # fmt: skip
        call_arrives(database_url, settings, "c1", "+33628123456")
        call_arrives(database_url, settings, "c2", "+33142685300")
        client.post(f"/v1/customers/{lea['id']}/notes", headers=AGENT, json={"text": "one"})
        client.post(f"/v1/customers/{twin['id']}/notes", headers=AGENT, json={"text": "two"})

        url = f"/v1/customers/{lea['id']}/merge"
        assert client.post(url, headers=AGENT, json={"merged_id": twin["id"]}).status_code == 403
        itself = client.post(url, headers=SUPERVISOR, json={"merged_id": lea["id"]})
        assert itself.status_code == 422
        assert itself.json()["errors"][0]["field"] == "body.merged_id"
        stranger = client.post(url, headers=headers(Role.SUPERVISOR, "globex"),
                               json={"merged_id": twin["id"]})  # fmt: skip
        assert stranger.status_code == 404

        merged = client.post(url, headers=SUPERVISOR, json={"merged_id": twin["id"]})
        assert merged.status_code == 200, merged.text
        survivor = merged.json()
        assert survivor["last_name"] == "Martin"
        assert survivor["phones"] == ["+33628123456", "+33142685300"]
        assert survivor["emails"] == ["lea@example.fr"]
        assert survivor["tags"] == ["vip", "bakery"]

        gone = client.get(f"/v1/customers/{twin['id']}", headers=AGENT)
        assert gone.status_code == 404
        assert gone.json()["merged_into"] == lea["id"]
        again = client.post(url, headers=SUPERVISOR, json={"merged_id": twin["id"]})
        assert again.status_code == 404
        listed = client.get("/v1/customers", params={"name": "martin"}, headers=AGENT).json()
        assert [c["id"] for c in listed["items"]] == [lea["id"]]

        timeline = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert sorted(e.get("text") or e["call_id"] for e in timeline) == ["c1", "c2", "one", "two"]
        export = client.get(f"/v1/customers/{lea['id']}/export", headers=headers(Role.ADMIN))
        assert sorted(n["text"] for n in export.json()["notes"]) == ["one", "two"]
        assert sorted(c["call_id"] for c in export.json()["calls"]) == ["c1", "c2"]
        # An old call of the merged customer pops the survivor's card.
        assert client.get("/v1/screen-pop/c2", headers=AGENT).json()["customer"]["id"] == lea["id"]

    # The merged customer's number now identifies the survivor.
    call_arrives(database_url, settings, "c3", "01 42 68 53 00")

    async def check() -> None:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                c3 = await conn.scalar(select(calls.c.customer_id).where(calls.c.call_id == "c3"))
                assert c3 == lea["id"]
                types = [e.type for e in await store.read_stream(conn, f"customer:{twin['id']}")]
                assert types == ["CustomerCreated", "NoteAdded", "CustomersMerged"]
            before = await table_rows(db)
            async with db.transaction() as conn:
                await rebuild_customers(conn)
            assert await table_rows(db) == before
        finally:
            await db.dispose()

    asyncio.run(check())
