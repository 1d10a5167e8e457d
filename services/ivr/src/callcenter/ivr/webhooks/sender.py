"""Delivers the webhook outbox: signed, retried with exponential backoff.

Signature: ``X-Callcenter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the tenant's status_callback_secret>``; the receiver
recomputes it and rejects old timestamps (replays).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select, update

from callcenter.events.aio import sleep_or_stop
from callcenter.events.db import Database
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import webhooks

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0


def signature(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


TOLERANCE_SECONDS = 300


def verify_signature(
    secret: str,
    header: str,
    body: str,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver of our callbacks checks: the ``X-Callcenter-Signature`` header
    (``t=<unix>,v1=<hex>``) is ours for this body (constant-time comparison) and its
    time is within ``tolerance`` seconds of ``now`` (an old request replayed fails)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    stamps, macs = fields.get("t", []), fields.get("v1", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or not macs:
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split(",v1=", 1)[1].encode()
    return any(hmac.compare_digest(expected, mac.encode()) for mac in macs)


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 1, 2, 4, ... 300."""
    return min(MAX_BACKOFF, 2.0 ** (attempts - 1))


class WebhookSender:
    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 5.0,
        batch: int = 50,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.timeout = timeout
        self.batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception as error:  # noqa: BLE001 - keep delivering after a database hiccup
                log.warning("webhook delivery failed: %s", error)
                sent = 0
            if sent == 0:
                await sleep_or_stop(stop, 0.5)

    async def deliver_due(self) -> int:
        """Try every due webhook once; returns how many were tried."""
        now = self.clock()
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(webhooks)
                    .where(webhooks.c.status == "pending", webhooks.c.next_attempt_at <= now)
                    .order_by(webhooks.c.id)
                    .limit(self.batch)
                )
            ).all()
            secrets = {
                tenant: (await queries.load_telephony(conn, tenant)).status_callback_secret
                for tenant in {row.tenant for row in rows}
            }
        results = await asyncio.gather(*(self._send(row, secrets.get(row.tenant)) for row in rows))
        async with self.db.transaction() as conn:
            for row, error in zip(rows, results, strict=True):
                attempts = row.attempts + 1
                if error is None:
                    values = {"status": "delivered", "attempts": attempts, "last_error": None}
                elif attempts >= MAX_ATTEMPTS:
                    values = {"status": "failed", "attempts": attempts, "last_error": error}
                    log.warning("webhook %s to %s given up: %s", row.event_id, row.url, error)
                else:
                    values = {
                        "attempts": attempts,
                        "last_error": error,
                        "next_attempt_at": self.clock() + backoff(attempts),
                    }
                await conn.execute(update(webhooks).where(webhooks.c.id == row.id).values(**values))
        return len(rows)

    async def _send(self, row, secret: str | None) -> str | None:  # type: ignore[no-untyped-def]
        headers = {"Content-Type": "application/json", "X-Callcenter-Event-Id": row.event_id}
        if secret:
            headers["X-Callcenter-Signature"] = signature(secret, int(self.clock()), row.body)
        try:
            response = await self.client.post(
                row.url, content=row.body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as error:
            return (str(error) or type(error).__name__)[:500]
        if response.status_code >= 300:
            return f"HTTP {response.status_code}"
        return None
