"""Which flow version answers a number, remembered for a few seconds.

Every new call needs its number's binding, and a read transaction of its own
cost a fifth of a call. Bindings change rarely (a designer publishing): a
rebind through this process is seen at once, through another replica within
``ttl`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from callcenter.events.db import Database
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding


class Bindings:
    def __init__(
        self, db: Database, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._bound: dict[str, tuple[Binding, float]] = {}

    async def get(self, number: str) -> Binding | None:
        now = self.clock()
        hit = self._bound.get(number)
        if hit is not None and now < hit[1]:
            return hit[0]
        async with self.db.read() as conn:
            bound = await queries.binding(conn, number)
        if bound is None:
            self._bound.pop(number, None)
        else:
            self._bound[number] = (bound, now + self.ttl)
        return bound

    def forget(self, number: str) -> None:
        self._bound.pop(number, None)
