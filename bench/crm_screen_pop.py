"""Measure the CRM's screen-pop lookup at the database level, with many customers.

    .venv/bin/python bench/crm_screen_pop.py [--quick] [--customers N]

Loads N customers (1,000,000; 100,000 with --quick) into a fresh SQLite CRM
database (the real migrations; rows written in bulk, as the read model holds
them, each with one or two French mobile numbers), then, for random callers
of whom one in five is unknown, times: normalizing the ANI to E.164
(``phonenumbers``), and the identifying query the IVR consumer runs
(``customers.find_by_phone``: the phone index joined with the customer) in a
read transaction. Rewrites the "CRM" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from callcenter.crm.customers import find_by_phone
from callcenter.crm.phones import to_e164
from callcenter.events.db import Database
from callcenter.events.kit.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from event_backbone import machine, replace_section

TENANT = "acme"
LOOKUPS = 10_000
BATCH = 50_000


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
    return [
        (f"load {count:,} customers (bulk, with the phone index)", f"{load_seconds:.1f} s"),
        (f"ANI to E.164 (`phonenumbers`), {LOOKUPS:,} callers", percentiles(normalize)),
        (
            f"identify caller by E.164 (read transaction + indexed join), {count:,} customers",
            f"{percentiles(lookup)} ({found:,} of {LOOKUPS:,} known)",
        ),
    ]


def write_report(rows: list[tuple[str, str]], count: int) -> str:
    section = (
        "## CRM\n\n"
        "What: the screen pop's caller identification at the database level. How:\n"
        f"`bench/crm_screen_pop.py` (see its docstring), SQLite, {count:,} customers.\n"
        f"Machine: {machine()}. {time.strftime('%Y-%m-%d')}.\n\n"
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
    print(write_report(run(count), count))


if __name__ == "__main__":
    main()
