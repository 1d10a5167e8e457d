"""What the hot path remembers: number bindings (verified tokens: the kit's tests)."""

from __future__ import annotations

import asyncio

from callcenter.events.db import Database
from callcenter.ivr.bindings import Bindings
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding

KEY = "a-test-signing-key-of-32-bytes-or-more"


def test_a_rebind_through_another_replica_is_seen_within_the_ttl(database_url, ivr_settings):
    async def scenario() -> list[int | None]:
        db = Database(database_url)
        now = [0.0]
        cache = Bindings(db, ttl=5, clock=lambda: now[0])
        seen = []

        async def rebind(version: int) -> None:  # as another replica does
            async with db.transaction() as conn:
                await queries.bind_number(conn, Binding("+1555", "acme", "main", version), "t")

        await rebind(1)
        seen.append((await cache.get("+1555")).flow_version)
        await rebind(2)
        seen.append((await cache.get("+1555")).flow_version)  # remembered
        now[0] = 5.1
        seen.append((await cache.get("+1555")).flow_version)
        await db.dispose()
        return seen

    assert asyncio.run(scenario()) == [1, 1, 2]
