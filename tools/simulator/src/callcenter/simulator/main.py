"""``callcenter-simulator``: play callers and agents against the running platform.

    callcenter-simulator [--calls N] [--duration S] [--rate CALLS_PER_MIN] [--speed X]
                         [--start-hour H]
                         [--tenants demo,acme] [--agents-per-skill N] [--aht S]
                         [--patience S] [--shift S] [--callback-share P]
                         [--callback-min-wait S] [--seed N] [--export DIR] [--no-setup]
                         [--quiet]

Only public HTTP APIs are used (the service URLs default to `make run`'s ports). Tokens
are signed with the platform's key (``CALLCENTER_SIGNING_KEY`` or the dev key file).
``--export DIR`` writes the run's events as CloudEvents JSON lines (``events.jsonl``,
for ``callcenter-analytics fold``) with the summary (``summary.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from callcenter.events.broker import free_port
from callcenter.events.kit.auth import Role, issue_token, signing_key
from callcenter.simulator.provider import Provider
from callcenter.simulator.scenario import Params, SetupError, set_up, start_campaign
from callcenter.simulator.world import Simulation

SERVICES = {"routing": 8001, "ivr": 8002, "crm": 8003, "workorders": 8004, "analytics": 8005}
ROLES = [Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR, Role.AGENT]


def service_urls() -> dict[str, str]:
    """``CALLCENTER_<SERVICE>_URL``, else the service's port on this machine."""
    return {
        name: os.environ.get(f"CALLCENTER_{name.upper()}_URL")
        or f"http://127.0.0.1:{os.environ.get(f'CALLCENTER_{name.upper()}_PORT', port)}"
        for name, port in SERVICES.items()
    }


def platform_key() -> str:
    data_dir = Path(os.environ.get("CALLCENTER_DATA_DIR", "var"))
    key_file = Path(os.environ.get("CALLCENTER_SIGNING_KEY_FILE", data_dir / "dev-signing-key"))
    return signing_key(os.environ.get("CALLCENTER_SIGNING_KEY"), key_file)


def client(url: str, key: str, tenant: str) -> httpx.AsyncClient:
    token = issue_token(key, subject="simulator", tenant=tenant, roles=ROLES,
                        ttl_seconds=7 * 86400)  # fmt: skip
    # Idle connections are dropped before the services' own 5 s keep-alive ends them: a
    # request sent on a connection the server is closing fails (ReadError).
    limits = httpx.Limits(keepalive_expiry=2)
    return httpx.AsyncClient(base_url=url, timeout=20, limits=limits,
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="callcenter-simulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--calls", type=int, help="stop after placing this many calls")
    parser.add_argument("--duration", type=float, help="stop placing calls after this many s")
    parser.add_argument("--rate", type=float, default=6.0, help="calls per minute at peak")
    parser.add_argument(
        "--start-hour",
        type=int,
        default=0,
        help="the simulated day's first hour (0-23; the rate follows a time-of-day profile)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="the simulator's own times (arrivals, talk, patience) x faster",
    )
    parser.add_argument("--tenants", default="demo", help="comma-separated tenant names")
    parser.add_argument("--agents-per-skill", type=int, default=3)
    parser.add_argument("--aht", type=float, default=60.0, help="mean talk time, seconds")
    parser.add_argument("--patience", type=float, default=45.0, help="mean patience, seconds")
    parser.add_argument(
        "--shift",
        type=float,
        default=8 * 3600,
        help="agents work staggered shifts of this many seconds (0: always logged in)",
    )
    parser.add_argument(
        "--callback-share",
        type=float,
        default=0.1,
        help="share of waiting callers who take the callback offered (0-1)",
    )
    parser.add_argument(
        "--callback-min-wait",
        type=float,
        default=30.0,
        help="the IVR offers a callback when routing expects this wait or more, seconds",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--export", type=Path, help="directory for events.jsonl and summary.json")
    parser.add_argument("--no-setup", action="store_true", help="queues, agents, flow exist")
    parser.add_argument("--quiet", action="store_true", help="no live progress display")
    for share, default in (("hold", 0.2), ("transfer", 0.1), ("follow-up", 0.1)):
        parser.add_argument(f"--{share}-share", type=float, default=default,
                            help=f"share of answered calls with a {share} (0-1)")  # fmt: skip
    parser.add_argument(
        "--campaign-contacts",
        type=int,
        default=0,
        help="also run an outbound campaign of this many contacts (0: none)",
    )
    parser.add_argument(
        "--campaign-mode", choices=["progressive", "predictive"], default="predictive"
    )
    parser.add_argument(
        "--answer-rate", type=float, default=0.4, help="share of campaign calls a person answers"
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.calls is None and args.duration is None:
        parser.error("give --calls or --duration (or both)")
    for name in ("rate", "speed", "aht", "patience"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if not 0 <= args.start_hour <= 23:
        parser.error("--start-hour must be between 0 and 23")
    for name in ("shift", "callback_min_wait"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    for name in ("hold_share", "transfer_share", "follow_up_share", "answer_rate",
                 "callback_share"):  # fmt: skip
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    return args


def params_of(args: argparse.Namespace) -> Params:
    tenants = tuple(name.strip() for name in args.tenants.split(",") if name.strip())
    return Params(tenants=tenants, agents_per_skill=args.agents_per_skill,
                  calls_per_minute=args.rate, aht_seconds=args.aht,
                  patience_seconds=args.patience, speed=args.speed, seed=args.seed,
                  campaign_contacts=args.campaign_contacts, campaign_mode=args.campaign_mode,
                  answer_rate=args.answer_rate, hold_share=args.hold_share,
                  transfer_share=args.transfer_share,
                  follow_up_share=args.follow_up_share, shift_seconds=args.shift,
                  callback_share=args.callback_share,
                  callback_min_wait=args.callback_min_wait,
                  start_hour=args.start_hour)  # fmt: skip


async def simulate(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    params = params_of(args)
    urls = service_urls()
    key = platform_key()
    run_id = f"sim{args.seed}-{uuid.uuid4().hex[:6]}"
    async with AsyncExitStack() as stack:
        clients = {
            tenant: {
                name: await stack.enter_async_context(client(url, key, tenant))
                for name, url in urls.items()
            }
            for tenant in params.tenants
        }
        if not args.no_setup:
            for tenant in params.tenants:
                await set_up(clients[tenant], params, tenant)
        simulation = Simulation(params, clients, run_id)
        if params.campaign_contacts:
            provider = Provider(simulation.provider_callback, free_port())
            await provider.start()
            stack.push_async_callback(provider.stop)
            for tenant in params.tenants:
                simulation.campaigns[tenant] = await start_campaign(
                    clients[tenant], params, tenant, run_id, provider.url, provider.secret
                )
        started = time.monotonic()
        work = asyncio.create_task(simulation.run(args.duration, args.calls))
        if args.quiet:
            await work
        else:
            with Live(progress(simulation, started), console=console, refresh_per_second=2) as live:
                while not work.done():
                    await asyncio.sleep(0.5)
                    live.update(progress(simulation, started))
                await work
        platform = {tenant: await platform_kpis(clients[tenant]) for tenant in params.tenants}
        campaigns = {
            tenant: (
                await clients[tenant]["routing"].get(f"/v1/campaigns/{campaign_id}/progress")
            ).json()
            for tenant, campaign_id in simulation.campaigns.items()
        }
        summary = {
            "run": run_id,
            "seconds": round(time.monotonic() - started, 1),
            "simulator": {tenant: books.summary() for tenant, books in simulation.books.items()},
            "analytics_today": platform,
            "campaigns": campaigns,
        }
        if args.export:
            summary["events"] = await events_of(clients, params.tenants)
        return summary


def progress(simulation: Simulation, started: float) -> Table:
    table = Table(title=f"callcenter-simulator  {time.monotonic() - started:,.0f} s")
    for column in ("tenant", "agents on", "arrived", "self-served", "queued", "answered",
                   "abandoned", "callbacks", "SL 20 s", "tickets", "errors"):  # fmt: skip
        table.add_column(column, justify="right")
    for tenant, books in simulation.books.items():
        level = books.service_level()
        table.add_row(tenant, *map(str, (simulation.on_duty[tenant], books.arrived,
                      books.self_served, books.queued, books.answered, books.abandoned,
                      books.callbacks)),
                      "-" if level is None else f"{level:.0%}", str(books.tickets),
                      str(books.errors))  # fmt: skip
    return table


async def platform_kpis(clients: dict[str, httpx.AsyncClient]) -> dict[str, Any] | None:
    """What analytics counts today, once it has caught up (a few seconds at most)."""
    response = await clients["analytics"].get("/v1/kpis")
    if response.status_code != 200 or not response.json()["rows"]:
        return None
    row = response.json()["rows"][0]
    keys = ("offered", "answered", "abandoned", "short_abandoned", "callbacks_requested",
            "callbacks_connected", "service_level", "asa_seconds", "ivr_entered",
            "ivr_containment")  # fmt: skip
    return {key: row[key] for key in keys}


async def events_of(
    clients: dict[str, dict[str, httpx.AsyncClient]], tenants: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Every event of the tenants in every service's log, in time order."""
    events: list[dict[str, Any]] = []
    for tenant in tenants:
        for name in ("ivr", "routing", "crm", "workorders"):
            after = "0"
            while after:
                page = await clients[tenant][name].get(
                    "/v1/events", params={"after": after, "limit": 500}
                )
                page.raise_for_status()
                body = page.json()
                events += body["items"]  # the tenant's own (its token's)
                after = body["next_cursor"]
    return sorted(events, key=lambda event: event["time"])


def export(folder: Path, summary: dict[str, Any]) -> None:
    """``events.jsonl`` (CloudEvents JSON lines) and ``summary.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    events = summary.pop("events")
    lines = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
    (folder / "events.jsonl").write_text(lines)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    console = Console(stderr=True)
    try:
        summary = asyncio.run(simulate(args, console))
    except (SetupError, httpx.HTTPError) as error:
        print(f"callcenter-simulator: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    if args.export:
        export(args.export, summary)
    print(json.dumps(summary, indent=2))
