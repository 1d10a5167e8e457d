"""Two creations racing for one number: the phone index's key refuses the second."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callcenter.crm import customers as model
from callcenter.crm.store.tables import customer_phones, customers
from callcenter.events import store
from callcenter.events.db import Database
from callcenter.events.kit.migrations import upgrade


@pytest.fixture
def crm_database_url(database_url):
    upgrade("callcenter.crm", database_url)
    return database_url


async def test_a_duplicate_missed_by_the_check_is_still_a_duplicate(crm_database_url, monkeypatch):
    db = Database(crm_database_url)
    try:
        first = model.Customer(id="first", last_name="Martin", phones=["+33628123456"])
        async with db.transaction() as conn:
            await model.create(conn, "acme", first, subject="alice")

        # The other writer committed between our check and our insert: the check saw nothing.
        real_check = model.find_duplicate
        calls = []

        async def check_that_missed_it(*args, **kwargs):
            calls.append(args)
            return None if len(calls) == 1 else await real_check(*args, **kwargs)

        monkeypatch.setattr(model, "find_duplicate", check_that_missed_it)
        second = model.Customer(id="second", last_name="Other", phones=["+33628123456"])
        with pytest.raises(model.Duplicate) as refused:
            async with db.transaction() as conn:
                await model.create(conn, "acme", second, subject="bob")
        assert refused.value.existing_id == "first"
        assert refused.value.field == "phones.0"
        assert len(calls) == 2  # the check missed it; the key caught it

        async with db.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(customers)) == 1
            assert await conn.scalar(select(func.count()).select_from(store.events)) == 1
            owner = await conn.scalar(select(customer_phones.c.customer_id))
            assert owner == "first"
    finally:
        await db.dispose()
