"""``callcenter-analytics fold``: the service's KPIs, computed offline from an event log.

The log is CloudEvents JSON lines (what the simulator, ``callcenter-routing
simulate --events`` and ``GET /v1/events`` export). The same fold and the same
KPI code as the live service run; "now" is the time of the latest event.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from callcenter.analytics.fold import Fold
from callcenter.analytics.kpis import GroupBy, Interval, KpiSettings, Window, compute
from callcenter.analytics.kpis import inconsistencies as find_inconsistencies

REQUIRED_ATTRIBUTES = ("type", "tenant", "time", "streamid", "streamversion")


class LogLineError(ValueError):
    pass


def parse_line(line: str) -> tuple[dict[str, str], dict[str, Any]]:
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        raise LogLineError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise LogLineError("not a JSON object")
    data = document.pop("data", None)
    if not isinstance(data, dict):
        raise LogLineError("no data object")
    missing = [name for name in REQUIRED_ATTRIBUTES if document.get(name) in (None, "")]
    if missing:
        raise LogLineError(f"missing attribute(s): {', '.join(missing)}")
    return {key: str(value) for key, value in document.items()}, data


def fold_lines(lines: Iterable[str], fold: Fold) -> list[str]:
    """Fold every good line; returns one message per line that could not be folded."""
    rejected = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            attributes, data = parse_line(line)
            fold.apply(attributes, data)
        except (LogLineError, KeyError, TypeError, ValueError) as error:
            rejected.append(f"line {number}: {error}")
    return rejected


def report(fold: Fold, settings: KpiSettings, interval: Interval, by: GroupBy) -> dict[str, Any]:
    window = Window(0.0, fold.latest + 1e-6, fold.latest)
    tenants = {}
    for name in sorted(fold.tenants):
        rows = compute(fold.tenants[name], settings, window, interval, by)
        tenants[name] = {"kpis": rows}
        if by == "tenant" and interval != "all":
            tenants[name]["inconsistencies"] = list(find_inconsistencies(rows, settings))
    return {"events_applied": fold.applied, "duplicates": fold.duplicates, "tenants": tenants}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="callcenter-analytics fold",
        description="Compute KPIs from an exported event log (CloudEvents JSON lines).",
    )
    parser.add_argument("--events", type=Path, required=True, help="EVENTS.jsonl")
    parser.add_argument("--settings", type=Path, help="KPI settings (JSON), for every tenant")
    parser.add_argument("--interval", choices=get_args(Interval), default="all")
    parser.add_argument("--by", choices=get_args(GroupBy), default="tenant")
    args = parser.parse_args(argv)
    try:
        settings = (
            KpiSettings.model_validate_json(args.settings.read_text())
            if args.settings
            else KpiSettings()
        )
        fold = Fold()
        with args.events.open() as lines:
            rejected = fold_lines(lines, fold)
    except (OSError, ValidationError) as error:
        print(f"callcenter-analytics fold: {error}", file=sys.stderr)
        sys.exit(2)
    for message in rejected[:20]:
        print(f"callcenter-analytics fold: skipped {message}", file=sys.stderr)
    result = report(fold, settings, args.interval, args.by)
    result["lines_rejected"] = len(rejected)
    print(json.dumps(result, indent=2))
