"""Measure the CRM's screen-pop lookup at the database level, with many customers.

    .venv/bin/python bench/crm_screen_pop.py [--quick] [--customers N]

Loads N customers (1,000,000; 100,000 with --quick) into a fresh SQLite CRM
database (the real migrations; rows written in bulk, as the read model holds
them, each with one or two French mobile numbers), then, for random callers
of whom one in five is unknown, times: normalizing the ANI to E.164
(``phonenumbers``), and the identifying query the IVR consumer runs
(``customers.find_by_phone``: the phone index joined with the customer) in a
read transaction. Then the timeline fold: the events of FOLD_CALLS calls (IVR
arrival with identification, IVR path, queue, answer, end, CSAT; a work order with
three steps for one call in five) handed to the CRM's consumer handlers in
transactions of 100 events (a consumer's batch), without the broker and the
consumer's own bookkeeping; once without segment rules, once with the default rules
(each event about a customer recomputes their tier and churn risk; these callers keep
their tier). Rewrites the "CRM" section of docs/benchmarks.md, with the load average:
the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callcenter.crm import history, segments
from callcenter.crm.consumers import ivr_handler
from callcenter.crm.customers import find_by_phone
from callcenter.crm.phones import to_e164
from callcenter.crm.settings import Settings
from callcenter.events.catalogue import ivr, routing, workorders
from callcenter.events.catalogue.base import Event
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope
from callcenter.events.kit.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from event_backbone import machine, replace_section

TENANT = "acme"
LOOKUPS = 10_000
BATCH = 50_000
FOLD_CALLS = 2_000
FOLD_BATCH = 100


def mobile(n: int) -> str:
    return f"+336{n:08d}"


def load(path: Path, count: int) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = "2026-11-22T17:00:00.000000Z"
    for first in range(0, count, BATCH):
        ids = range(first, min(first + BATCH, count))
        customers, phones = [], []
        for n in ids:
            numbers = [mobile(2 * n)] + ([mobile(2 * n + 1)] if n % 3 == 0 else [])
            tier = ("key_important", "key_secondary", "ordinary", "small")[n % 4]
            lists = (json.dumps(numbers), "[]", "[]", "{}", "{}")
            customers.append((TENANT, f"c{n:08d}", "First", f"Last{n}", f"first last{n} ", "",
                              tier, *lists, 1, now, now))  # fmt: skip
            phones += [(TENANT, number, f"c{n:08d}") for number in numbers]
        db.executemany(
            "INSERT INTO crm_customers (tenant, id, first_name, last_name, search_name, company,"
            " tier, phones, emails, tags, attributes, consent, version, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            customers,
        )
        db.executemany(
            "INSERT INTO crm_customer_phones (tenant, e164, customer_id) VALUES (?,?,?)", phones
        )
        db.commit()
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1e3
    p99 = ordered[int(len(ordered) * 0.99)] * 1e3
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"


async def lookups(url: str, count: int, callers: list[str]) -> tuple[list[float], list[float], int]:
    db = Database(url)
    normalize, lookup, found = [], [], 0
    try:
        for ani in callers:
            started = time.perf_counter()
            e164 = to_e164(ani, "FR")
            normalized = time.perf_counter()
            async with db.read() as conn:
                row = await find_by_phone(conn, TENANT, e164)
            lookup.append(time.perf_counter() - normalized)
            normalize.append(normalized - started)
            found += row is not None
    finally:
        await db.dispose()
    return normalize, lookup, found


def call_events(n: int, first: int, count: int, start: datetime) -> list[tuple[str, Event]]:
    """The events of one call of a known caller (the consumer they go to, the event)."""
    call_id, at = f"fold-{first}-{n}", start + timedelta(minutes=n)
    # Loaded as "ordinary" (n % 4 == 2), the tier the bench's rules give: tiers rarely
    # change, and the bulk-loaded customers have no stream to append a change to.
    caller = mobile(2 * ((n * 7919 * 4 + 2) % count))
    events: list[tuple[str, Event]] = [
        ("ivr", ivr.CallArrived(call_id=call_id, ani=caller, dnis="+3311", at=at)),
        ("ivr", ivr.IvrNodeEntered(call_id=call_id, node_id="menu", node_type="menu")),
        ("ivr", ivr.IvrInputReceived(call_id=call_id, node_id="menu", node_type="menu",
                                     digits="2")),
        ("routing", routing.CallQueued(call_id=call_id, queue_id="q", position=1, at=at)),
        ("routing", routing.CallAnswered(call_id=call_id, agent_id="a1", queue_id="q", wait=20,
                                         ring=2, at=at + timedelta(seconds=22))),
        ("routing", routing.CallEnded(call_id=call_id, agent_id="a1", queue_id="q", talk=180,
                                      ended_by="caller", at=at + timedelta(seconds=202))),
        ("ivr", ivr.SurveyAnswered(call_id=call_id, question="overall", score=1 + n % 5)),
    ]  # fmt: skip
    if n % 5 == 0:
        ticket = f"t-{call_id}"
        events += [
            ("workorders", workorders.TicketOpened(ticket_id=ticket, type="complaint",
                                                   call_id=call_id, at=at)),
            ("workorders", workorders.TicketDispatched(ticket_id=ticket, by="a1", at=at)),
            ("workorders", workorders.TicketResolved(ticket_id=ticket, at=at)),
        ]  # fmt: skip
    return events


async def fold(url: str, count: int, first: int) -> tuple[int, float]:
    """Events per second through the consumers' handlers; returns (events, seconds)."""
    handlers = {"ivr": ivr_handler(Settings(), lambda: None), "routing": history.on_routing,
                "workorders": history.on_workorders}  # fmt: skip
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    envelopes = []
    for n in range(FOLD_CALLS):
        for version, (source, data) in enumerate(call_events(n, first, count, start), 1):
            envelopes.append((source, Envelope(
                source=source, type=data.event_type, tenant=TENANT, correlation_id=str(n),
                stream_id=f"{source}-{first}-{n}", stream_version=version, data=data)))  # fmt: skip
    db = Database(url)
    try:
        started = time.perf_counter()
        for i in range(0, len(envelopes), FOLD_BATCH):
            async with db.transaction() as conn:
                for source, envelope in envelopes[i : i + FOLD_BATCH]:
                    await handlers[source](conn, envelope)
        return len(envelopes), time.perf_counter() - started
    finally:
        await db.dispose()


async def set_rules(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(segments.segment_rules.insert().values(
                tenant=TENANT, rules=segments.SegmentRules().model_dump(mode="json"),
                updated_by="bench", updated_at="2026-11-22T00:00:00Z"))  # fmt: skip
    finally:
        await db.dispose()


def national(e164: str) -> str:
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def run(count: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "crm.db"
        url = f"sqlite:///{path}"
        upgrade("callcenter.crm", url)
        load_seconds = load(path, count)
        rng = random.Random(1)
        callers = []
        for _ in range(LOOKUPS):
            known = rng.random() < 0.8
            n = 2 * rng.randrange(count) if known else 2 * count + rng.randrange(9999)
            callers.append(national(mobile(n)) if rng.random() < 0.5 else mobile(n))
        asyncio.run(lookups(url, count, callers[:500]))  # warm the cache
        normalize, lookup, found = asyncio.run(lookups(url, count, callers))
        events, plain = asyncio.run(fold(url, count, first=0))
        asyncio.run(set_rules(url))
        _, with_rules = asyncio.run(fold(url, count, first=1))
    return [
        (
            f"load {count:,} customers (bulk, with the phone and full-text indexes)",
            f"{load_seconds:.1f} s",
        ),
        (f"ANI to E.164 (`phonenumbers`), {LOOKUPS:,} callers", percentiles(normalize)),
        (
            f"identify caller by E.164 (read transaction + indexed join), {count:,} customers",
            f"{percentiles(lookup)} ({found:,} of {LOOKUPS:,} known)",
        ),
        (
            f"timeline fold, {events:,} events of {FOLD_CALLS:,} calls (handlers, batches of "
            f"{FOLD_BATCH}), {count:,} customers",
            f"{events / plain:,.0f} events/s",
        ),
        (
            "the same with segment rules (tier and churn recomputed)",
            f"{events / with_rules:,.0f} events/s",
        ),
    ]


def write_report(rows: list[tuple[str, str]], count: int, load: tuple[str, str]) -> str:
    section = (
        "## CRM\n\n"
        "What: the screen pop's caller identification at the database level, and the\n"
        "timeline fold. How: `bench/crm_screen_pop.py` (see its docstring), SQLite,\n"
        f"{count:,} customers. Machine: {machine()}, shared with other work: load average\n"
        f"(1/5/15 min) {load[0]} before, {load[1]} after. {time.strftime('%Y-%m-%d')}.\n\n"
        "| what | result |\n|---|---|\n"
        + "".join(f"| {what} | {result} |\n" for what, result in rows)
    )
    replace_section("## CRM", section)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 customers (a smoke run)")
    parser.add_argument("--customers", type=int, default=None)
    args = parser.parse_args()
    count = args.customers or (100_000 if args.quick else 1_000_000)
    before = load_average()
    rows = run(count)
    print(write_report(rows, count, (before, load_average())))


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
