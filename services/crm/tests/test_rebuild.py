"""The customer read model is a fold of the customer streams: replaying rebuilds it exactly."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from callcenter.crm.rebuild import rebuild_customers
from callcenter.crm.store.tables import (
    customer_emails,
    customer_phones,
    customer_tags,
    customers,
    notes,
)
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
TABLES = (customers, customer_phones, customer_emails, customer_tags, notes)


def headers(tenant: str) -> dict[str, str]:
    bearer = issue_token(KEY, subject="alice", tenant=tenant, roles=[Role.AGENT])
    return {"Authorization": f"Bearer {bearer}"}


async def snapshot(db: Database) -> dict[str, list[tuple]]:
    async with db.read() as conn:
        result = {}
        for table in TABLES:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            result[table.name] = [tuple(row) for row in rows]
        return result


def test_replaying_the_store_rebuilds_the_read_model(crm, database_url):
    with crm() as client:
        for tenant in ("acme", "globex"):
            me = headers(tenant)
            lea = client.post("/v1/customers", headers=me, json={
                "first_name": "Léa", "last_name": "Martin", "phones": ["06 28 12 34 56"],
                "emails": ["lea@example.fr"], "tags": ["vip"], "tier": "key_secondary",
                "attributes": {"contract_no": "C-1"}, "consent": {"sms": True},
            }).json()  # fmt: skip
            client.post("/v1/customers", headers=me, json={"last_name": "Durand", "company": "X"})
            client.patch(f"/v1/customers/{lea['id']}", headers=me,
                         json={"phones": ["06 11 22 33 44", "01 42 68 53 00"], "tags": [],
                               "tier": "small", "company": "Acme"})  # fmt: skip
            client.post(f"/v1/customers/{lea['id']}/notes", headers=me, json={"text": "hello"})
            client.patch(
                f"/v1/customers/{lea['id']}",
                headers=me,
                json={"first_name": "Lea", "consent": {"calls": True}},
            )

    async def check() -> None:
        db = Database(database_url)
        try:
            before = await snapshot(db)
            assert len(before["crm_customers"]) == 4
            assert len(before["crm_notes"]) == 2
            async with db.transaction() as conn:
                assert await rebuild_customers(conn) == 4
            assert await snapshot(db) == before
        finally:
            await db.dispose()

    asyncio.run(check())
