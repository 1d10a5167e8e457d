"""What the hot path remembers: verified tokens (never past their expiry), number bindings."""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.api.deps import Tokens
from callcenter.ivr.bindings import Bindings
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding

KEY = "a-test-signing-key-of-32-bytes-or-more"


def test_a_remembered_token_still_expires():
    tokens = Tokens(KEY)
    token = issue_token(KEY, subject="ann", tenant="acme", roles=[Role.ADMIN], ttl_seconds=1)
    assert tokens.principal(token).tenant == "acme"
    assert tokens.principal(token) is tokens.principal(token)  # remembered
    time.sleep(1.1)
    with pytest.raises(ProblemError) as refused:
        tokens.principal(token)
    assert refused.value.status == 401


def test_a_token_signed_with_another_key_is_refused_every_time():
    tokens = Tokens(KEY)
    forged = issue_token("another-key-of-32-bytes-or-more!!", subject="m", tenant="acme",
                         roles=[Role.ADMIN])  # fmt: skip
    for _ in range(2):
        with pytest.raises(ProblemError):
            tokens.principal(forged)


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
