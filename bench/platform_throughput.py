"""The whole platform under rising load: calls/s it absorbs, and request-to-offer latency.

    .venv/bin/python bench/platform_throughput.py [--rates 50,100,300] [--seconds 15]

`tools/devrun.py` (what `make run` runs) starts the embedded broker and the five
services as processes on their own SQLite files, without its simulator. A tenant
gets a queue and 300 ready agents. For each rate, this process places calls at that
rate for ``--seconds`` through the IVR (`POST /v1/calls` on a flow that queues at
once) and reads routing's topic with aiokafka: each `CallQueued` and `CallOffered`
is matched to its request by call id. Offered calls are answered and hung up at once
(`POST /v1/calls/{id}/answer` on routing, `hangup` on the IVR), so agents free up.

Reported per rate: calls/s accepted by the IVR (and what it refused: the load does
not retry), request-to-queued and
request-to-offered latency (p50, p99), and the backlog: calls accepted but not yet
queued in routing when the load stops, and how long they took to drain. The backlog
growing from one rate to the next is where lag starts. Everything shares this
machine's two cores (services, broker and this load), so the load average is
recorded. Rewrites the "Platform throughput" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from event_backbone import machine, replace_section

from callcenter.events.broker import free_port
from callcenter.events.codec import from_kafka
from callcenter.events.kit.auth import Role, issue_token, signing_key

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("routing", "ivr", "crm", "workorders", "analytics")
TENANT, NUMBER, AGENTS = "bench", "+15550111", 300
FLOW = {"name": "bench", "start": "q",
        "nodes": {"q": {"type": "enqueue", "prompts": ["Hold."], "queue": "bench"}}}  # fmt: skip


def start_platform(folder: Path) -> tuple[subprocess.Popen[str], dict[str, int], int]:
    ports = {name: free_port() for name in SERVICES}
    broker = free_port()
    environment = {
        **os.environ,
        "CALLCENTER_DATA_DIR": str(folder / "var"),
        "CALLCENTER_BROKER_PORT": str(broker),
        "CALLCENTER_SIMULATOR_RATE": "0",
        **{f"CALLCENTER_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **{f"CALLCENTER_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES},
    }
    launcher = subprocess.Popen([sys.executable, str(ROOT / "tools" / "devrun.py")],
                                env=environment, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert launcher.stdout is not None
    for line in launcher.stdout:
        if "platform is up" in line:
            return launcher, ports, broker
    raise RuntimeError("the platform did not start")


async def configure(clients: dict[str, httpx.AsyncClient]) -> None:
    routing, ivr = clients["routing"], clients["ivr"]
    queue = {"skills": {"bench": 1}, "wrap_up_seconds": 0, "ring_timeout_seconds": 60}
    (await routing.put("/v1/queues/bench", json=queue)).raise_for_status()
    for n in range(AGENTS):
        agent = f"b{n:03d}"
        (await routing.put(f"/v1/agents/{agent}", json={"skills": {"bench": 1}})).raise_for_status()
        await routing.post(f"/v1/agents/{agent}/login")
        await routing.post(f"/v1/agents/{agent}/ready")
    for _ in range(150):
        if (await ivr.put("/v1/flows/bench", json=FLOW)).status_code in (200, 201):
            break
        await asyncio.sleep(0.2)
    binding = {"flow_id": "bench", "version": 1}
    (await ivr.put(f"/v1/numbers/{NUMBER}", json=binding)).raise_for_status()


class Watch:
    """Routing's topic: when each call was queued and offered (by this process's clock)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.queued: dict[str, float] = {}
        self.offered: dict[str, tuple[float, str]] = {}
        self.new_offers: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer("callcenter.routing", bootstrap_servers=self.bootstrap,
                                    auto_offset_reset="latest", fetch_max_wait_ms=10)  # fmt: skip
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.monotonic()
                for records in batch.values():
                    for record in records:
                        envelope = from_kafka(record.value, record.headers)
                        call_id = getattr(envelope.data, "call_id", None)
                        if envelope.type == "CallQueued":
                            self.queued.setdefault(call_id, now)
                        elif envelope.type == "CallOffered" and call_id not in self.offered:
                            self.offered[call_id] = (now, envelope.data.agent_id)
                            self.new_offers.put_nowait((call_id, envelope.data.agent_id))
        finally:
            await consumer.stop()


async def answer_offers(watch: Watch, clients: dict[str, httpx.AsyncClient]) -> None:
    async def one(call_id: str, agent_id: str) -> None:
        try:
            answer = {"agent_id": agent_id}
            await clients["routing"].post(f"/v1/calls/{call_id}/answer", json=answer)
            await clients["ivr"].post(f"/v1/calls/{call_id}/hangup")
        except httpx.HTTPError:
            pass  # the run is over and the platform stopping

    running: set[asyncio.Task[None]] = set()
    while True:
        call_id, agent_id = await watch.new_offers.get()
        task = asyncio.create_task(one(call_id, agent_id))
        running.add(task)
        task.add_done_callback(running.discard)


def cpu_seconds() -> dict[str, float]:
    """CPU time so far of the broker, each service and this load, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        name = next((name for name in SERVICES if f"callcenter-{name} serve" in command), None)
        if name is None and "tansu broker" in command:
            name = "broker"
        if name is None and entry.name == str(os.getpid()):
            name = "load"
        if name is not None:
            found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


async def load(rate: float, seconds: float, clients, watch: Watch, label: str) -> dict:
    sent: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    accepted: set[str] = set()
    tasks = []

    async def place(call_id: str) -> None:
        sent[call_id] = time.monotonic()
        body = {"from": "+33612345678", "to": NUMBER, "call_id": call_id}
        status = (await clients["ivr"].post("/v1/calls", json=body)).status_code
        statuses[status] += 1
        if status == 201:
            accepted.add(call_id)

    started, cpu_before = time.monotonic(), cpu_seconds()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(place(f"{label}-{n:06d}")))
    await asyncio.gather(*tasks)
    load_ended, cpu_after = time.monotonic(), cpu_seconds()
    cpu = {name: (cpu_after[name] - cpu_before.get(name, 0.0)) / (load_ended - started)
           for name in cpu_after}  # fmt: skip
    backlog = sum(1 for call_id in accepted if call_id not in watch.queued)
    while any(call_id not in watch.queued for call_id in accepted):
        if time.monotonic() - load_ended > 120:
            break
        await asyncio.sleep(0.1)
    drained = time.monotonic() - load_ended
    to_queue = [watch.queued[c] - sent[c] for c in accepted if c in watch.queued]
    to_offer = [watch.offered[c][0] - sent[c] for c in accepted if c in watch.offered]
    return {
        "rate": rate,
        "accepted_per_s": len(accepted) / (load_ended - started),
        "queued": len(to_queue),
        "accepted": len(accepted),
        "refused": {status: n for status, n in sorted(statuses.items()) if status != 201},
        "sent": len(sent),
        "to_queue": to_queue,
        "to_offer": to_offer,
        "backlog": backlog,
        "drained": drained,
        "cpu": cpu,
    }


def ms(values: list[float], q: float) -> str:
    if len(values) < 2:
        return "-"
    return f"{statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000:,.0f}"


async def measure(rates: list[float], seconds: float, folder: Path) -> list[dict]:
    launcher, ports, broker = start_platform(folder)
    try:
        key = signing_key(None, folder / "var" / "dev-signing-key")
        roles = [Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR, Role.AGENT]
        token = issue_token(key, subject="bench", tenant=TENANT, roles=roles)
        limits = httpx.Limits(max_connections=200)
        clients = {name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                           headers={"Authorization": f"Bearer {token}"},
                                           limits=limits)
                   for name, port in ports.items()}  # fmt: skip
        await configure(clients)
        watch = Watch(f"127.0.0.1:{broker}")
        watcher = asyncio.create_task(watch.run())
        answerer = asyncio.create_task(answer_offers(watch, clients))
        await asyncio.sleep(3)  # the consumer joins
        results = []
        for rate in rates:
            results.append(await load(rate, seconds, clients, watch, f"r{rate:g}"))
        watcher.cancel()
        answerer.cancel()
        for client in clients.values():
            await client.aclose()
        return results
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50,100,300", help="calls/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(measure(rates, args.seconds, Path(folder)))
    load_after = os.getloadavg()[0]
    rows = "\n".join(
        f"| {r['rate']:g} | {r['accepted_per_s']:,.0f} | {r['accepted']:,}/{r['sent']:,} | "
        f"{', '.join(f'{n:,} x {status}' for status, n in r['refused'].items()) or '-'} | "
        f"{r['queued']:,}/{r['accepted']:,} | "
        f"{ms(r['to_queue'], 0.5)} / {ms(r['to_queue'], 0.99)} | "
        f"{ms(r['to_offer'], 0.5)} / {ms(r['to_offer'], 0.99)} | "
        f"{r['backlog']:,} | {r['drained']:.1f} |"
        for r in results
    )
    kept_up = [r["rate"] for r in results if r["accepted_per_s"] >= 0.9 * r["rate"]]
    behind = [r["rate"] for r in results if r["accepted_per_s"] < 0.9 * r["rate"]]
    knee = (
        f"Lag starts to grow between {max(kept_up):g} and {min(behind):g} calls/s: up to the "
        "first the platform takes the calls as they come; from the second on it accepts "
        f"about {min(r['accepted_per_s'] for r in results if r['rate'] in behind):,.0f} "
        "calls/s whatever the rate, and latency grows.\n\n"
        if kept_up and behind
        else ""
    )
    section = (
        "## Platform throughput\n\n"
        "What: calls per second the whole platform absorbs (IVR -> broker -> routing -> offer)\n"
        "and request-to-offer latency at rising rates. How: "
        f"`bench/platform_throughput.py --rates {args.rates} --seconds {args.seconds:g}` "
        "(see its docstring): `make run`'s launcher, five services and the embedded broker as\n"
        "processes, SQLite; 300 ready agents answer each offer at once.\n"
        f"Machine: {machine()}, everything on it (services, broker, load); load average "
        f"{load_before:.2f} before, {load_after:.2f} after. {datetime.now(UTC):%Y-%m-%d}.\n\n"
        "Each call is three requests (IVR start, routing answer, IVR hang-up) and about ten\n"
        "events through the broker and four consumers. The load is open (calls are sent at\n"
        "the rate, 200 connections at most) and does not retry: past the knee the IVR sheds\n"
        "what it cannot take (429) and the lag shows as request latency and backlog. Backlog:\n"
        "accepted calls not yet queued in routing when the load stops.\n\n"
        + knee
        + "| rate (calls/s) | accepted/s | accepted/sent | refused | queued/accepted "
        "| to queued p50 / p99 (ms) | to offered p50 / p99 (ms) | backlog at end "
        "| drained in (s) |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + rows + "\n"
    )
    names = ["broker", *SERVICES, "load"]
    cpu_rows = "\n".join(
        f"| {r['rate']:g} | "
        + " | ".join(f"{r['cpu'].get(name, 0.0):.0%}" for name in names)
        + f" | {sum(r['cpu'].values()):.0%} |"
        for r in results
    )
    section += (
        "\nWhere the CPU goes while calls are sent (share of one core; the machine has two):\n\n"
        f"| rate (calls/s) | {' | '.join(names)} | all |\n"
        f"|{'---|' * (len(names) + 2)}\n{cpu_rows}\n"
    )
    replace_section("## Platform throughput", section)
    print(section)


if __name__ == "__main__":
    main()
