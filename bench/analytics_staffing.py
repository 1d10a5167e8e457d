"""Measure Erlang C staffing: milliseconds per sizing and per request at ~5,000 agents.

    .venv/bin/python bench/analytics_staffing.py [--quick]

Pure: ``staffing.agents_needed`` for 4,900 erlangs (80% in 20 s, AHT 180 s: 4,913 agents)
and ``staffing.evaluate`` of 5,000 agents, and the largest sizing the API accepts (50,000
erlangs). Request: ``GET /v1/staffing/erlang-c`` on the analytics ASGI app through httpx
(in process: routing, auth, validation, JSON; no network), sizing and evaluating.
Each is timed one call at a time; p50 and p99 in ms. The machine is shared with other
work, so the load average is recorded with the numbers. Rewrites the "Analytics staffing"
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from event_backbone import machine, replace_section

from callcenter.analytics import staffing
from callcenter.analytics.app import create_app
from callcenter.analytics.settings import Settings
from callcenter.events.kit.auth import Role, issue_token

KEY = "bench-analytics-staffing-signing-key-32-bytes"
AHT, TARGET = 180.0, 20.0
SIZE_4900 = {"calls": 4900 * 1800 / AHT, "interval_minutes": 30, "aht_seconds": AHT,
             "target_answer_seconds": TARGET}  # fmt: skip


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples) * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"


def timed(call: Callable[[], object], runs: int) -> str:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


async def timed_requests(get: Callable[[], Awaitable[httpx.Response]], runs: int) -> str:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await get()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return percentiles(samples)


async def requests(runs: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), signing_key=KEY))
        token = issue_token(KEY, subject="bench", tenant="acme", roles=[Role.SUPERVISOR])
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as client:

            def get(**params: float) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: client.get("/v1/staffing/erlang-c", params=params, headers=headers)

            await get(**SIZE_4900, target_service_level=0.8)()  # warm up
            return [
                ("GET erlang-c sizing 4,900 erlangs (-> 4,913 agents), ASGI in process",
                 await timed_requests(get(**SIZE_4900, target_service_level=0.8), runs)),
                ("GET erlang-c evaluating agents=5000 at 4,900 erlangs, ASGI in process",
                 await timed_requests(get(**SIZE_4900, agents=5000), runs)),
            ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    runs = 50 if args.quick else 500
    load_before = os.getloadavg()[0]
    rows = [
        ("agents_needed, 4,900 erlangs, 80% in 20 s (-> 4,913 agents)",
         timed(lambda: staffing.agents_needed(4900.0, AHT, TARGET, 0.8), runs)),
        ("evaluate 5,000 agents at 4,900 erlangs",
         timed(lambda: staffing.evaluate(5000, 4900.0, AHT, TARGET), runs)),
        ("agents_needed, 50,000 erlangs (the API's largest), 80% in 20 s",
         timed(lambda: staffing.agents_needed(50_000.0, AHT, TARGET, 0.8), max(runs // 10, 20))),
    ]  # fmt: skip
    rows += asyncio.run(requests(runs))
    load_after = os.getloadavg()[0]
    table = "\n".join(f"| {what} | {result} |" for what, result in rows)
    section = (
        "## Analytics staffing\n\n"
        "What: Erlang C sizing and evaluation at about 5,000 agents, pure and through the\n"
        "API. How: `bench/analytics_staffing.py` (see its docstring)"
        + (" (--quick)" if args.quick else "")
        + f", {runs} runs each, one at a time.\nMachine: {machine()}, shared: load average "
        f"{load_before:.2f} before, {load_after:.2f} after. {datetime.now(UTC):%Y-%m-%d}.\n\n"
        "| what | result |\n|---|---|\n" + table + "\n"
    )
    replace_section("## Analytics staffing", section)
    print(section)


if __name__ == "__main__":
    main()
