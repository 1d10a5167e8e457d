"""A version counter that pushed views (server-sent event streams) wait on."""

from __future__ import annotations

import asyncio


class Changes:
    """``notify`` after each change; a stream waits with ``changed`` for a version past the
    one it last sent. Lives in one event loop (the service's)."""

    def __init__(self) -> None:
        self.version = 0
        self._moved = asyncio.Event()

    def notify(self) -> None:
        self.version += 1
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def changed(self, seen: int, within: float, unless: asyncio.Event) -> int:
        """Wait until the version moves past ``seen``, at most ``within`` seconds and not
        once ``unless`` is set (the service is closing); the version."""
        if self.version == seen and not unless.is_set():
            waiters = {asyncio.ensure_future(self._moved.wait()),
                       asyncio.ensure_future(unless.wait())}  # fmt: skip
            _, pending = await asyncio.wait(waiters, timeout=within, return_when="FIRST_COMPLETED")
            for waiter in pending:
                waiter.cancel()
        return self.version
