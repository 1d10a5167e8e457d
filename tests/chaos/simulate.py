"""``callcenter-simulator`` as a real telephony provider and agent desktop behave:
they retry.

    python tests/chaos/simulate.py <simulator arguments>    (CHAOS_JOURNAL=file.jsonl)

Every request goes through a transport that retries what did not get an answer
(connection refused or reset while a service restarts, 502/503/504) and what was
shed (429, after its Retry-After), for up to ``CHAOS_RETRY_SECONDS``. Every write
carries an ``Idempotency-Key`` kept across its retries (the IVR's webhooks honour
it, as a provider's retried webhook). Each write's final answer is journaled
(method, URL, status, body, and whether an attempt failed without an answer, so
that it may have been applied by an attempt the client never heard back from).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import httpx

from callcenter.simulator import main as simulator

RETRY_SECONDS = float(os.environ.get("CHAOS_RETRY_SECONDS", "90"))
RETRIED_STATUSES = {429, 502, 503, 504}


class RetryingTransport(httpx.AsyncBaseTransport):
    def __init__(self, journal: Path | None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.journal = journal

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        write = request.method != "GET"
        if write and "idempotency-key" not in request.headers:
            request.headers["Idempotency-Key"] = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_SECONDS
        unanswered, shed, backoff = 0, 0, 0.1
        while True:
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError:
                if loop.time() > deadline:
                    self._journal(request, None, b"", unanswered + 1, shed)
                    raise
                unanswered += 1
            else:
                if response.status_code not in RETRIED_STATUSES or loop.time() > deadline:
                    body = await response.aread()
                    await response.aclose()
                    if write:
                        self._journal(request, response.status_code, body, unanswered, shed)
                    return httpx.Response(response.status_code, headers=response.headers,
                                          content=body, request=request)  # fmt: skip
                await response.aclose()
                if response.status_code == 429:
                    shed += 1
                    backoff = max(backoff, float(response.headers.get("retry-after", "1")))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _journal(
        self, request: httpx.Request, status: int | None, body: bytes, unanswered: int, shed: int
    ) -> None:
        if self.journal is None:
            return
        entry = {
            "method": request.method,
            "url": str(request.url),
            "status": status,
            "request": _json(request.content),
            "response": _json(body),
            "unanswered": unanswered,
            "shed": shed,
        }
        with self.journal.open("a") as journal:
            journal.write(json.dumps(entry) + "\n")

    async def aclose(self) -> None:
        await self.inner.aclose()


def _json(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body[:200].decode(errors="replace")


def main() -> None:
    journal = os.environ.get("CHAOS_JOURNAL")
    original = simulator.client

    def client(url: str, key: str, tenant: str) -> httpx.AsyncClient:
        made = original(url, key, tenant)
        transport = RetryingTransport(Path(journal) if journal else None)
        return httpx.AsyncClient(
            base_url=made.base_url, headers=made.headers, timeout=20, transport=transport
        )

    simulator.client = client
    simulator.main(sys.argv[1:])


if __name__ == "__main__":
    main()
