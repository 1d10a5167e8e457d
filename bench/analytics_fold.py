"""Measure the analytics fold: events/s on one core, and KPI query latency.

    .venv/bin/python bench/analytics_fold.py [--quick]

Input: a day of a simulated center (``callcenter-routing simulate`` at virtual time:
60 agents, one call every 3.2 s on average, with patience, talk and wrap-up) exported
as CloudEvents JSON lines, plus each call's IVR events (arrival, completion) in a
stream of its own. Fold: ``Fold.apply`` on the parsed events (the service's path:
its archive rows arrive parsed), and separately parsing the JSON lines too (the
``callcenter-analytics fold`` path). Queries: ``kpis.compute`` over the whole day by
15-minute interval and queue, and the wallboard's live snapshot, timed one at a time.
Run it pinned to one core (``taskset -c 0``) for the one-core figure. The machine
is shared with other work, so the load average is recorded with the numbers.
Rewrites the "Analytics fold" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from event_backbone import machine, replace_section

from callcenter.analytics import offline
from callcenter.analytics.fold import Fold
from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.analytics.live import snapshot
from callcenter.analytics.service import Analytics
from callcenter.events import store
from callcenter.events.catalogue import ivr
from callcenter.events.codec import from_json_line, to_json_line
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope
from callcenter.events.kit.migrations import upgrade
from callcenter.routing.simulate import Arrival, Simulation, write_events


def a_day_of_events(calls: int, path) -> list[str]:
    rng = random.Random(7)
    config = {
        "queues": [{"id": f"q{n}", "skills": {"general": 1}, "service_level_seconds": 20}
                   for n in range(4)],
        "agents": [{"id": f"a{n}", "skills": {"general": 5}} for n in range(60)],
    }  # fmt: skip
    arrivals, at = [], 0.0
    for n in range(calls):
        at += rng.expovariate(1 / 3.2)
        arrivals.append(Arrival(f"c{n}", at, f"q{n % 4}", rng.randint(0, 2),
                                rng.uniform(30, 300), rng.uniform(60, 240), 10))  # fmt: skip
    simulation = Simulation(config, arrivals)
    simulation.log = []
    simulation.run()
    write_events(path, "bench", simulation.log)
    lines = path.read_text().splitlines()
    for arrival in arrivals:
        moment = simulation.at(arrival.arrival_s)
        for version, event in enumerate(
            [
                ivr.CallArrived(call_id=arrival.call_id, ani="+33612345678", dnis="+3319"),
                ivr.IvrCompleted(call_id=arrival.call_id, outcome="queued", duration=12),
            ],
            start=1,
        ):
            envelope = new_envelope(event, source="bench", tenant="bench",
                                    stream_id=f"call:{arrival.call_id}", stream_version=version,
                                    correlation_id=arrival.call_id, time=moment)  # fmt: skip
            lines.append(to_json_line(envelope))
    return lines


def fold_rate(parsed: list[tuple[dict, dict]], runs: int) -> tuple[float, Fold]:
    rates, fold = [], Fold()
    for _ in range(runs):
        fold = Fold()
        started = time.perf_counter()
        for attributes, data in parsed:
            fold.apply(attributes, data)
        rates.append(len(parsed) / (time.perf_counter() - started))
    return statistics.median(rates), fold


def parse_and_fold_rate(lines: list[str], runs: int) -> float:
    rates = []
    for _ in range(runs):
        fold = Fold()
        started = time.perf_counter()
        offline.fold_lines(lines, fold)
        rates.append(len(lines) / (time.perf_counter() - started))
    return statistics.median(rates)


def archive_replay_rate(lines: list[str], folder: Path) -> float:
    """Events/s of a start-up: the service folding its archive (SQLite) from the start."""

    url = f"sqlite:///{folder / 'archive.db'}"
    upgrade("callcenter.analytics", url)

    async def run() -> float:
        db = Database(url)
        envelopes = [from_json_line(line) for line in lines]
        for start in range(0, len(envelopes), 5_000):
            async with db.transaction() as conn:
                await store.keep(conn, envelopes[start : start + 5_000])
        analytics = Analytics(db)
        started = time.perf_counter()
        await analytics.catch_up()
        elapsed = time.perf_counter() - started
        await db.dispose()
        return analytics.fold.applied / elapsed

    return asyncio.run(run())


def query_latency(call, runs: int) -> str:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = parser.parse_args()
    calls = 5_000 if args.quick else 27_000  # about a day at one call per 3.2 s
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        lines = a_day_of_events(calls, Path(folder) / "events.jsonl")
        replay = archive_replay_rate(lines, Path(folder))
    parsed = [offline.parse_line(line) for line in lines]
    parsed.sort(key=lambda pair: pair[0]["time"])  # as the archive would hold them
    rate, fold = fold_rate(parsed, runs=5)
    with_parsing = parse_and_fold_rate(lines, runs=3)
    tenant = fold.tenants["bench"]
    now = fold.latest
    settings = KpiSettings()
    day = Window(0, now + 1, now)
    rows = [
        (f"fold, {len(parsed):,} events ({calls:,} calls)", f"{rate:,.0f} events/s"),
        ("parse JSON lines + fold (the offline command)", f"{with_parsing:,.0f} events/s"),
        ("start-up: fold the archive from SQLite", f"{replay:,.0f} events/s"),
        (f"KPIs of the day by 15 min x queue ({calls:,} calls)",
         query_latency(lambda: compute(tenant, settings, day, "15", "queue"), 30)),
        ("KPIs of the day, whole tenant",
         query_latency(lambda: compute(tenant, settings, day, "all", "tenant"), 30)),
        ("live snapshot (the wallboard's push)",
         query_latency(lambda: snapshot(tenant, settings, now), 30)),
    ]  # fmt: skip
    load_after = os.getloadavg()[0]
    check = compute(tenant, settings, day)[0]
    table = "\n".join(f"| {what} | {result} |" for what, result in rows)
    section = (
        "## Analytics fold\n\n"
        "What: the fold's throughput and KPI query latency on a simulated day. How:\n"
        "`taskset -c 0 .venv/bin/python bench/analytics_fold.py` (see its docstring)"
        + (" (--quick)" if args.quick else "")
        + "; fold rates are the median of the runs.\n"
        f"Machine: {machine()}, shared: load average {load_before:.2f} before, "
        f"{load_after:.2f} after. {datetime.now(UTC):%Y-%m-%d}.\n"
        f"The day: {check['offered']:,} offered, SL {check['service_level']}, "
        f"ASA {check['asa_seconds']} s, occupancy {check['occupancy']}.\n\n"
        "| what | result |\n|---|---|\n" + table + "\n"
    )
    replace_section("## Analytics fold", section)
    print(section)
    print(json.dumps({"events": len(parsed)}))


if __name__ == "__main__":
    main()
