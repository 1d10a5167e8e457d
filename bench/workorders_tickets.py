"""Measure work orders: decider actions/s, stored actions/s, list/search latency at 1M tickets.

    .venv/bin/python bench/workorders_tickets.py [--quick]

Decider: tickets on an office-hours calendar (Europe/Paris, holidays) each go
through open, dispatch, reply, pend, resume, resolve, close, with ticks in
between; every ``decide`` + ``evolve`` is counted (pure, one core). Stored: the
same lifecycle through the shell (load the stream, decide, append with
optimistic concurrency, update the read model, commit) on SQLite, one
transaction per action. List: 1,000,000 tickets bulk-loaded into the read model
and the full-text index (SQLite; with ``--postgresql URL`` also PostgreSQL, in
a scratch database it creates and drops), then the API's list query
(``list_page``) with each filter, a deep cursor page and full-text searches,
each timed. Rewrites the "Work orders" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, make_url, text

from callcenter.events.db import Database
from callcenter.events.kit.migrations import upgrade
from callcenter.workorders.domain.calendar import Calendar
from callcenter.workorders.domain.commands import Act, Open, Tick
from callcenter.workorders.domain.config import PRIORITIES, SlaPolicy, Targets, TicketType
from callcenter.workorders.domain.decide import decide
from callcenter.workorders.domain.ticket import Ticket, evolve
from callcenter.workorders.store.search import indexable, ticket_texts
from callcenter.workorders.store.tables import tickets
from callcenter.workorders.tickets import Tickets, list_page

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
DETAILS = ["blinks", "twice", "late", "broken", "charged", "missing", "slow", "cut",
           "red", "box", "line", "bill", "modem", "fibre", "visit", "again"]  # fmt: skip
PARTS = 5_000  # part numbers in descriptions: each in about 200 of 1M tickets


async def load_million(url: str, count: int) -> float:
    db = Database(url)
    rng = random.Random(7)
    began = time.perf_counter()
    rows, texts = [], []
    async with db.transaction() as conn:
        for n in range(count):
            status = rng.choice(STATUSES)
            breached = rng.random() < 0.05
            title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{n}"
            rows.append({
                "position": n + 1,
                "tenant": "acme" if n % 10 else "globex", "ticket_id": f"T{n:07d}",
                "type": rng.choice(["complaint", "inquiry", "repair", "order"]),
                "status": status, "priority": rng.choice(PRIORITIES), "title": title,
                "customer_id": f"cus-{rng.randrange(200_000)}",
                "call_id": f"call-{n}", "assignee": f"agent-{rng.randrange(500)}",
                "sla_state": "breached" if breached else "ok", "breached": breached,
                "next_deadline": None, "opened_at": "2026-11-23T08:00:00.000Z",
                "updated_at": "2026-11-23T08:00:00.000Z", "version": 3,
            })  # fmt: skip
            description = " ".join(rng.sample(DETAILS, 6)) + f" part p{rng.randrange(PARTS)}"
            notes = "\n".join(" ".join(rng.sample(DETAILS, 4)) for _ in range(rng.randrange(3)))
            texts.append({"position": n + 1, "title": indexable(title),
                          "description": description, "notes": notes})  # fmt: skip
            if len(rows) == 20_000:
                await conn.execute(insert(tickets), rows)
                await conn.execute(insert(ticket_texts), texts)
                rows, texts = [], []
        if rows:
            await conn.execute(insert(tickets), rows)
            await conn.execute(insert(ticket_texts), texts)
    if db.dialect == "postgresql":
        async with db.transaction() as conn:
            await conn.execute(text("ANALYZE workorders_tickets"))
            await conn.execute(text("ANALYZE workorders_ticket_texts"))
    elapsed = time.perf_counter() - began
    await db.dispose()
    return elapsed


async def list_latencies(url: str, rounds: int) -> list[tuple[str, str]]:
    db = Database(url)
    rng = random.Random(3)

    def page(filters: dict[str, str | None], **options) -> tuple[dict, dict]:
        return filters, options

    cases = {
        "newest 50": lambda: page({}),
        "status=assigned": lambda: page({"status": "assigned"}),
        "assignee=agent-N": lambda: page({"assignee": f"agent-{rng.randrange(500)}"}),
        "customer_id=cus-N": lambda: page({"customer_id": f"cus-{rng.randrange(200_000)}"}),
        "sla_state=breached": lambda: page({"sla_state": "breached"}),
        "type + status": lambda: page({"type": "repair", "status": "new"}),
        "deep cursor (random position), status=closed": lambda: page(
            {"status": "closed"}, before=rng.randrange(10_000, 1_000_000)
        ),
        "search: a common word (1 in 4 tickets)": lambda: page({}, text=rng.choice(WORDS)),
        "search: two words": lambda: page({}, text=" ".join(rng.sample(WORDS, 2))),
        "search: a ticket's number (one match)": lambda: page(
            {}, text=f"#{rng.randrange(1, 1_000_000, 10)}"
        ),
        "search: a part number (~200 matches)": lambda: page({}, text=f"p{rng.randrange(PARTS)}"),
        "search: a word nobody wrote": lambda: page({}, text=f"zz{rng.randrange(10**6)}"),
        "search: a common word + customer_id=cus-N": lambda: page(
            {"customer_id": f"cus-{rng.randrange(200_000)}"}, text=rng.choice(WORDS)
        ),
        "search: a part number + assignee=agent-N": lambda: page(
            {"assignee": f"agent-{rng.randrange(500)}"}, text=f"p{rng.randrange(PARTS)}"
        ),
        "search: two words + status=new, deep cursor": lambda: page(
            {"status": "new"},
            text=" ".join(rng.sample(DETAILS, 2)),
            before=rng.randrange(10_000, 1_000_000),
        ),
    }
    rows = []
    for name, make in cases.items():
        timings = []
        for _ in range(rounds):
            filters, options = make()
            began = time.perf_counter()
            async with db.read() as conn:
                await list_page(conn, "acme", filters, **options)
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        rows.append((name, f"p50 {statistics.median(timings):.2f} ms, p99 {p99:.2f} ms"))
    await db.dispose()
    return rows


def listing(url: str, label: str, count: int) -> list[tuple[str, str]]:
    upgrade("callcenter.workorders", url)
    seconds = asyncio.run(load_million(url, count))
    rows = [(f"{label}: bulk-load {count:,} tickets (read model and full-text index)",
             f"{seconds:.1f} s")]  # fmt: skip
    for name, result in asyncio.run(list_latencies(url, 200)):
        rows.append((f"{label}: list 50 of {count:,}, {name}", result))
    return rows


def admin(server_url: str, statement: str) -> None:
    async def go() -> None:
        url = make_url(server_url)
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password,
            database=url.database,
        )  # fmt: skip
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(go())


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new PostgreSQL database on ``server_url``'s server, dropped afterwards."""
    name = f"bench_workorders_{os.getpid()}"
    admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tickets (a smoke run)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="also list on PostgreSQL (a server URL, e.g. "
                        "postgresql://postgres@127.0.0.1:5432/postgres)")  # fmt: skip
    args = parser.parse_args()
    pure = 2_000 if args.quick else 20_000
    kept = 100 if args.quick else 1_000
    listed = 20_000 if args.quick else 1_000_000
    rows: list[tuple[str, str]] = []
    load_before = os.getloadavg()

    actions, elapsed = decider(pure)
    rows.append((f"decide + evolve, {pure:,} tickets x 9 actions (office calendar), one core",
                 f"{actions / elapsed:,.0f} actions/s"))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/actions.db"
        upgrade("callcenter.workorders", url)
        actions, elapsed = asyncio.run(stored(url, kept))
        rows.append((f"stored actions (load, decide, append, read model, commit), SQLite, "
                     f"{kept:,} tickets, one core",
                     f"{actions / elapsed:,.0f} actions/s"))  # fmt: skip
        rows += listing(f"sqlite:///{tmp}/list.db", "SQLite", listed)
    if args.postgresql:
        with scratch_database(args.postgresql) as url:
            rows += listing(url, "PostgreSQL", listed)
    load_after = os.getloadavg()

    table = "\n".join(f"| {what} | {result} |" for what, result in rows)
    section = (
        "## Work orders\n\n"
        "What: the ticket decider, the stored action path, the list query and full-text\n"
        "search. How: `bench/workorders_tickets.py` (see its docstring)"
        + (" (--quick)" if args.quick else "")
        + f".\nMachine: {machine()}. {datetime.now(UTC):%Y-%m-%d}. The machine is shared "
        f"with other work: load average (1, 5, 15 min) {_load(load_before)} before, "
        f"{_load(load_after)} after.\n\n"
        "| what | result |\n|---|---|\n" + table + "\n"
    )
    replace_section("## Work orders", section)
    print(section)


def _load(averages: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.1f}" for value in averages)


if __name__ == "__main__":
    main()
