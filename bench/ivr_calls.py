"""IVR throughput: new calls/s on one core with the demo flow, and p99 latency per input.

Runs the IVR app in this process (one asyncio loop: one core) on a fresh SQLite
database, through its HTTP API (httpx ASGI transport, no sockets). Each call:
POST /v1/calls (welcome + language menu), input "1" (English -> main menu),
input "2" (technical support -> enqueue). The relay is off (no broker): the
cost measured is the IVR's own (decide, append, snapshot, commit).
The demo flow's business-hours node is forced open, so results do not depend
on the time the benchmark runs.

    .venv/bin/python bench/ivr_calls.py [--calls 3000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from callcenter.events.bus import KafkaSettings
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.ivr.app import create_app
from callcenter.ivr.demo import demo_flow
from callcenter.ivr.settings import Settings

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEY = "bench-signing-key-of-at-least-32-bytes"


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


async def main(calls: int, concurrency: int, data: Path, url: str) -> None:
    settings = Settings(
        database_url=url, kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        run_relay=False, run_consumers=False, deliver_webhooks=False,
        data_dir=data, signing_key=KEY, demo_tenant="",
    )  # fmt: skip
    app = create_app(settings)
    token = issue_token(KEY, subject="bench", tenant="demo", roles=[Role.ADMIN])
    headers = {"Authorization": f"Bearer {token}"}
    flow = demo_flow().model_dump(mode="json", exclude_defaults=True)
    all_day = [{"start": "00:00", "end": "23:59:59.999999"}]
    flow["nodes"]["hours"]["weekly"] = dict.fromkeys(WEEK, all_day)
    flow["nodes"]["hours"]["holidays"] = []
    latencies: dict[str, list[float]] = {"start": [], "input 1 (language)": [],
                                         "input 2 (menu -> enqueue)": []}  # fmt: skip
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ivr") as client:
            # Routing's queues, as the routing-status consumer would record them.
            from callcenter.ivr.store import queries

            async with app.state.ivr.db.transaction() as conn:
                for queue in ("billing", "support", "complaints", "general"):
                    await queries.save_queue(conn, "demo", queue, queue)
            put = await client.put("/v1/flows/main", json=flow, headers=headers)
            assert put.status_code == 201, put.text
            bind = {"flow_id": "main", "version": 1}
            await client.put("/v1/numbers/+15550100", json=bind, headers=headers)

            async def one(n: int) -> None:
                steps = [
                    ("start", "/v1/calls",
                     {"from": "+15557654321", "to": "+15550100", "call_id": f"b{n}"}),
                    ("input 1 (language)", f"/v1/calls/b{n}/input", {"digits": "1"}),
                    ("input 2 (menu -> enqueue)", f"/v1/calls/b{n}/input", {"digits": "2"}),
                ]  # fmt: skip
                for name, path, body in steps:
                    began = time.perf_counter()
                    response = await client.post(path, json=body, headers=headers)
                    latencies[name].append(time.perf_counter() - began)
                    assert response.status_code in (200, 201), response.text
                assert response.json()["outcome"] == "queued"

            gate = asyncio.Semaphore(concurrency)

            async def limited(n: int) -> None:
                async with gate:
                    await one(n)

            await asyncio.gather(*(limited(n) for n in range(200)))  # warm up
            for values in latencies.values():
                values.clear()
            began = time.perf_counter()
            await asyncio.gather(*(limited(n) for n in range(200, 200 + calls)))
            elapsed = time.perf_counter() - began
    print(f"calls: {calls}, concurrency {concurrency}, {elapsed:.2f} s")
    print(f"new calls/s (each: start + 2 inputs, to the queue): {calls / elapsed:,.0f}")
    print(f"requests/s: {3 * calls / elapsed:,.0f}")
    for name, values in latencies.items():
        print(f"{name}: p50 {p(values, 0.5):.1f} ms, p99 {p(values, 0.99):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    url = f"sqlite:///{data / 'ivr.db'}"
    upgrade("callcenter.ivr", url)
    asyncio.run(main(args.calls, args.concurrency, data, url))
