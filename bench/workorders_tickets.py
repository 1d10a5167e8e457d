"""Measure work orders: decider actions/s, stored actions/s, list/search latency at 1M tickets.

    .venv/bin/python bench/workorders_tickets.py [--quick]

Decider: tickets on an office-hours calendar (Europe/Paris, holidays) each go
through open, dispatch, reply, pend, resume, resolve, close, with ticks in
between; every ``decide`` + ``evolve`` is counted (pure, one core). Stored: the
same lifecycle through the shell (load the stream, decide, append with
optimistic concurrency, update the read model, commit) on SQLite, one
transaction per action. List: 1,000,000 tickets bulk-loaded into the read model
(SQLite), then the API's list query (``list_query``) with each filter, a deep
cursor page and a title search, each timed. Rewrites the "Work orders" section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from callcenter.events.db import Database
from callcenter.events.kit.migrations import upgrade
from callcenter.workorders.domain.calendar import Calendar
from callcenter.workorders.domain.commands import Act, Open, Tick
from callcenter.workorders.domain.config import PRIORITIES, SlaPolicy, Targets, TicketType
from callcenter.workorders.domain.decide import decide
from callcenter.workorders.domain.ticket import Ticket, evolve
from callcenter.workorders.store.tables import tickets
from callcenter.workorders.tickets import Tickets, list_query

sys.path.insert(0, str(Path(__file__).parent))
from event_backbone import machine, replace_section

HOUR = 3600.0
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KIND = TicketType(
    "repair",
    sla=SlaPolicy(
        targets={p: Targets(2 * HOUR, 16 * HOUR) for p in PRIORITIES},
        calendar=Calendar(zone="Europe/Paris", hours={d: ((540, 1080),) for d in range(5)},
                          holidays=frozenset({date(2026, 12, 25)})),
    ),
)  # fmt: skip
LIFECYCLE = [
    Act("dispatch", by="sup", roles=("supervisor",), to="bob"),
    Act("reply", by="bob"),
    Act("pend", by="bob"),
    Tick(),
    Act("resume", by="bob"),
    Tick(),
    Act("resolve", by="bob"),
    Act("close", by="bob"),
]


def decider(count: int) -> tuple[int, float]:
    actions = 0
    began = time.perf_counter()
    for n in range(count):
        now = START + timedelta(minutes=n)
        ticket = Ticket()
        for command in [Open(f"t{n}", KIND), *LIFECYCLE]:
            now += timedelta(minutes=17)
            for event in decide(command, ticket, now):
                ticket = evolve(ticket, event)
            actions += 1
    return actions, time.perf_counter() - began


async def stored(url: str, count: int) -> tuple[int, float]:
    db = Database(url)
    clock = {"now": START}
    service = Tickets(db, clock=lambda: clock["now"])
    actions = 0
    began = time.perf_counter()
    for n in range(count):
        for command in [Open(f"t{n}", KIND), *LIFECYCLE]:
            clock["now"] += timedelta(seconds=7)
            await service.execute("acme", f"t{n}", command)
            actions += 1
    elapsed = time.perf_counter() - began
    await db.dispose()
    return actions, elapsed


STATUSES = ["new"] * 2 + ["assigned"] * 3 + ["pending_customer", "resolved"] + ["closed"] * 13
WORDS = ["router", "invoice", "refund", "outage", "password", "delivery", "contract", "noise"]


async def load_million(url: str, count: int) -> float:
    db = Database(url)
    rng = random.Random(7)
    began = time.perf_counter()
    batch = []
    async with db.transaction() as conn:
        for n in range(count):
            status = rng.choice(STATUSES)
            breached = rng.random() < 0.05
            batch.append({
                "tenant": "acme" if n % 10 else "globex", "ticket_id": f"T{n:07d}",
                "type": rng.choice(["complaint", "inquiry", "repair", "order"]),
                "status": status, "priority": rng.choice(PRIORITIES),
                "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{n}",
                "customer_id": f"cus-{rng.randrange(200_000)}",
                "call_id": f"call-{n}", "assignee": f"agent-{rng.randrange(500)}",
                "sla_state": "breached" if breached else "ok", "breached": breached,
                "next_deadline": None, "opened_at": "2026-11-23T08:00:00.000Z",
                "updated_at": "2026-11-23T08:00:00.000Z", "version": 3,
            })  # fmt: skip
            if len(batch) == 20_000:
                await conn.execute(insert(tickets), batch)
                batch = []
        if batch:
            await conn.execute(insert(tickets), batch)
    elapsed = time.perf_counter() - began
    await db.dispose()
    return elapsed


async def list_latencies(url: str, rounds: int) -> list[tuple[str, str]]:
    db = Database(url)
    rng = random.Random(3)
    cases = {
        "newest 50": lambda: list_query("acme", {}),
        "status=assigned": lambda: list_query("acme", {"status": "assigned"}),
        "assignee=agent-N": lambda: list_query("acme", {"assignee": f"agent-{rng.randrange(500)}"}),
        "customer_id=cus-N": lambda: list_query(
            "acme", {"customer_id": f"cus-{rng.randrange(200_000)}"}
        ),
        "sla_state=breached": lambda: list_query("acme", {"sla_state": "breached"}),
        "type + status": lambda: list_query("acme", {"type": "repair", "status": "new"}),
        "deep cursor (random position), status=closed": lambda: list_query(
            "acme", {"status": "closed"}, before=rng.randrange(10_000, 1_000_000)
        ),
        "title search (substring, scans)": lambda: list_query(
            "acme", {}, text=f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{rng.randrange(9)}"
        ),
    }
    rows = []
    for name, make in cases.items():
        timings = []
        for _ in range(rounds if "search" not in name else max(rounds // 10, 5)):
            query = make()
            began = time.perf_counter()
            async with db.read() as conn:
                list(await conn.execute(query))
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        rows.append((name, f"p50 {statistics.median(timings):.2f} ms, p99 {p99:.2f} ms"))
    await db.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tickets (a smoke run)")
    args = parser.parse_args()
    pure = 2_000 if args.quick else 20_000
    kept = 100 if args.quick else 1_000
    listed = 20_000 if args.quick else 1_000_000
    rows: list[tuple[str, str]] = []

    actions, elapsed = decider(pure)
    rows.append((f"decide + evolve, {pure:,} tickets x 9 actions (office calendar)",
                 f"{actions / elapsed:,.0f} actions/s"))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/actions.db"
        upgrade("callcenter.workorders", url)
        actions, elapsed = asyncio.run(stored(url, kept))
        rows.append((f"stored actions (load, decide, append, read model, commit), SQLite, "
                     f"{kept:,} tickets", f"{actions / elapsed:,.0f} actions/s"))  # fmt: skip
        url = f"sqlite:///{tmp}/list.db"
        upgrade("callcenter.workorders", url)
        seconds = asyncio.run(load_million(url, listed))
        rows.append((f"bulk-load {listed:,} tickets into the read model", f"{seconds:.1f} s"))
        for name, result in asyncio.run(list_latencies(url, 200)):
            rows.append((f"list 50 of {listed:,}: {name}", result))

    table = "\n".join(f"| {what} | {result} |" for what, result in rows)
    section = (
        "## Work orders\n\n"
        "What: the ticket decider, the stored action path and the list query. How:\n"
        "`bench/workorders_tickets.py` (see its docstring)"
        + (" (--quick)" if args.quick else "")
        + f".\nMachine: {machine()}. {datetime.now(UTC):%Y-%m-%d}.\n\n"
        "| what | result |\n|---|---|\n" + table + "\n"
    )
    replace_section("## Work orders", section)
    print(section)


if __name__ == "__main__":
    main()
