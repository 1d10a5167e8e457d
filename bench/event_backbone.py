"""Measure the event backbone: store appends, relay publishing, consumer applying,
and end-to-end latency, on SQLite and PostgreSQL with the embedded broker.

    make bench            # or: .venv/bin/python bench/event_backbone.py [--quick]

Prints a Markdown table and rewrites the matching section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from callcenter.events import store
from callcenter.events.broker import EmbeddedBroker
from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue.ivr import CallArrived
from callcenter.events.consumer import Consumer
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope
from callcenter.events.relay import Relay

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "## Event backbone"
POSTGRES = os.environ.get(
    "CALLCENTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def event(n: int):
    return CallArrived(call_id=str(n), ani=f"+336280{n:05d}", dnis="+3311", flow_id="main")


def envelopes(first: int, count: int):
    return [
        new_envelope(
            event(n),
            source="bench",
            tenant="acme",
            stream_id=f"call-{n}",
            stream_version=1,
            correlation_id=str(n),
        )
        for n in range(first, first + count)
    ]


async def append_rate(db: Database, start: int, total: int, per_transaction: int) -> float:
    started = time.perf_counter()
    for first in range(start, start + total, per_transaction):
        async with db.transaction() as conn:
            await store.append(conn, envelopes(first, per_transaction))
    return total / (time.perf_counter() - started)


async def baseline_commit_rate(db: Database, total: int) -> float:
    """Plain SQLAlchemy async, one one-row INSERT per transaction: the floor to compare with."""
    async with db.transaction() as conn:
        await conn.execute(text("CREATE TABLE bench_baseline (n INTEGER)"))
    started = time.perf_counter()
    for n in range(total):
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO bench_baseline VALUES (:n)"), {"n": n})
    return total / (time.perf_counter() - started)


async def relay_rate(db: Database, kafka: KafkaSettings, topic: str) -> float:
    relay = Relay(db, kafka, topic, batch_size=1000)
    await relay.start()
    started = time.perf_counter()
    published = 0
    while count := await relay.publish_pending():
        published += count
    elapsed = time.perf_counter() - started
    await relay.stop()
    return published / elapsed


async def consume_rate(db: Database, kafka: KafkaSettings, topic: str, total: int) -> float:
    async def handle(conn, envelope):
        return None

    consumer = Consumer(f"bench-{uuid.uuid4().hex[:6]}", db, kafka, [topic], handle, max_batch=1000)
    await consumer.start()
    seen = await consumer.poll_once(timeout_ms=5000)  # includes the group join
    started = time.perf_counter()
    while seen < total:
        seen += await consumer.poll_once(timeout_ms=1000)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    return (total - 0) / elapsed


async def latency(
    db: Database, consumer_db: Database, kafka: KafkaSettings, topic: str, samples: int
):
    arrived: dict[str, float] = {}
    all_arrived = asyncio.Event()

    async def handle(conn, envelope):
        arrived[envelope.stream_id] = time.perf_counter()
        if len(arrived) == samples:
            all_arrived.set()

    relay = Relay(db, kafka, topic, poll_interval=0.01)
    consumer = Consumer("latency", consumer_db, kafka, [topic], handle)
    await relay.start()
    await consumer.start()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]
    await consumer.assigned.wait()
    sent: dict[str, float] = {}
    for n in range(samples):
        [envelope] = envelopes(10_000_000 + n, 1)
        async with db.transaction() as conn:
            await store.append(conn, [envelope])
        sent[envelope.stream_id] = time.perf_counter()
        relay.notify()
        await asyncio.sleep(0.02)
    try:
        await asyncio.wait_for(all_arrived.wait(), 10)
    except TimeoutError:
        pass  # report what arrived
    stop.set()
    await asyncio.gather(*tasks)
    await relay.stop()
    await consumer.stop()
    delays = sorted((arrived[key] - sent[key]) * 1000 for key in sent if key in arrived)
    return statistics.median(delays), delays[int(len(delays) * 0.99) - 1]


async def fresh_database(backend: str, folder: Path, name: str) -> tuple[Database, str | None]:
    if backend == "sqlite":
        url = f"sqlite:///{folder / (name + '.db')}"
        created = None
    else:
        import asyncpg

        created = f"cc_bench_{uuid.uuid4().hex[:10]}"
        server = make_url(POSTGRES)
        admin = await asyncpg.connect(
            host=server.host, port=server.port, user=server.username, database=server.database
        )
        await admin.execute(f'CREATE DATABASE "{created}"')
        await admin.close()
        url = server.set(database=created).render_as_string(hide_password=False)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(store.metadata.create_all)
    return db, created


async def drop(created: str | None) -> None:
    if created:
        import asyncpg

        server = make_url(POSTGRES)
        admin = await asyncpg.connect(
            host=server.host, port=server.port, user=server.username, database=server.database
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        await admin.close()


async def run(quick: bool) -> list[tuple[str, str, str]]:
    total = 2_000 if quick else 20_000
    rows = []
    with tempfile.TemporaryDirectory() as folder, EmbeddedBroker() as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            session_timeout_ms=1000,
            heartbeat_interval_ms=300,
        )
        for backend in ("sqlite", "postgresql"):
            db, created = await fresh_database(backend, Path(folder), "producer")
            baseline = await baseline_commit_rate(db, min(total // 10, 2000))
            rows.append(
                (
                    backend,
                    "baseline: SQLAlchemy async, 1 INSERT per transaction",
                    f"{baseline:,.0f}/s",
                )
            )
            single = await append_rate(db, 0, min(total // 10, 2000), 1)
            rows.append((backend, "append, 1 event per transaction", f"{single:,.0f} events/s"))
            grouped = await append_rate(db, 1_000_000, total, 100)
            rows.append(
                (
                    backend,
                    "append, 100 events per transaction (group commit)",
                    f"{grouped:,.0f} events/s",
                )
            )
            topic = f"bench.{backend}"
            published = await relay_rate(db, kafka, topic)
            rows.append(
                (backend, "relay: store to broker (acks=all)", f"{published:,.0f} events/s")
            )
            consumer_db, consumer_created = await fresh_database(backend, Path(folder), "consumer")
            stored = total + min(total // 10, 2000)
            applied = await consume_rate(consumer_db, kafka, topic, stored)
            rows.append(
                (
                    backend,
                    "consumer: apply with dedupe + checkpoint (batches of 1000)",
                    f"{applied:,.0f} events/s",
                )
            )
            # Fresh stores: the relay would otherwise first publish everything above.
            source_db, source_created = await fresh_database(backend, Path(folder), "source")
            target_db, target_created = await fresh_database(backend, Path(folder), "target")
            p50, p99 = await latency(
                source_db, target_db, kafka, f"latency.{backend}", 100 if quick else 300
            )
            rows.append(
                (
                    backend,
                    "end to end: append -> relay -> broker -> consumer applied",
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                )
            )
            await db.dispose()
            await consumer_db.dispose()
            await source_db.dispose()
            await target_db.dispose()
            for database in (created, consumer_created, source_created, target_created):
                await drop(database)
    return rows


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def write_report(rows: list[tuple[str, str, str]], quick: bool) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    table = "\n".join(f"| {backend} | {what} | {result} |" for backend, what, result in rows)
    section = f"""{SECTION}

What: the cost of the transactional outbox path, from an append to a consumer's
applied effect. How: `make bench` (`bench/event_backbone.py{" --quick" if quick else ""}`), embedded
tansu broker, a fresh database per backend, a trivial handler (the measured cost
is the backbone's: dedupe claim, positions, commit). Machine: {machine()}.
Commit {commit}, {time.strftime("%Y-%m-%d")}.

| database | what | result |
|---|---|---|
{table}
"""
    replace_section(SECTION, section)
    return section


def replace_section(heading: str, section: str) -> None:
    """Put ``section`` in docs/benchmarks.md in place of the one under ``heading``."""
    introduction = "# Benchmarks\n\nNumbers, not pass/fail tests: what, how, machine, result.\n"
    existing = REPORT.read_text() if REPORT.exists() else introduction
    if heading in existing:
        before, _, after = existing.partition(heading)
        rest = after.split("\n## ", 1)
        existing = before + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        existing = existing.rstrip() + "\n\n" + section
    REPORT.write_text(existing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    args = parser.parse_args()
    rows = asyncio.run(run(args.quick))
    print(write_report(rows, args.quick))


if __name__ == "__main__":
    main()
