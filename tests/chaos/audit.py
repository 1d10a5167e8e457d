"""What must hold after a run, however it was hurt: the platform's records read back
through its public APIs, checked against themselves, the simulator's books, the
seed's callers and the journal of every write the clients sent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.launcher import Platform

PUBLISHERS = ["ivr", "routing", "crm", "workorders"]
KPI_KEYS = ("offered", "answered", "abandoned", "short_abandoned", "transferred",
            "ivr_entered", "surveys", "satisfied")  # fmt: skip


def events_of(platform: Platform, tenant: str, name: str) -> list[dict[str, Any]]:
    """A service's whole event log for the tenant, in log order."""
    events: list[dict[str, Any]] = []
    after: str | None = "0"
    with httpx.Client(base_url=platform.url(name), headers=platform.headers(tenant),
                      timeout=30) as client:  # fmt: skip
        while after is not None:
            page = client.get("/v1/events", params={"after": after, "limit": 500})
            page.raise_for_status()
            events += page.json()["items"]
            after = page.json()["next_cursor"]
    return events


def journal_of(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def by_call(events: list[dict[str, Any]], *types: str) -> Counter[str]:
    return Counter(e["data"]["call_id"] for e in events if e["type"] in types)


def ivr_outcomes(ivr: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Every arrived call, with the IVR's outcomes of it (exactly one is right)."""
    outcomes: dict[str, list[str]] = {
        e["data"]["call_id"]: [] for e in ivr if e["type"] == "CallArrived"
    }
    for event in ivr:
        if event["type"] == "IvrCompleted":
            outcomes.setdefault(event["data"]["call_id"], []).append(event["data"]["outcome"])
    return outcomes


def routing_violations(routing: list[dict[str, Any]]) -> list[str]:
    """Walk routing's log in order: a call offered to two agents at once, an agent
    offered two calls or holding two calls at once, a queued call without exactly one
    final outcome."""
    found: list[str] = []
    offer_of_call: dict[str, str] = {}  # call -> agent offered
    offer_of_agent: dict[str, str] = {}  # agent -> call offered
    holding: dict[str, str] = {}  # agent -> call on the line
    finals: Counter[str] = Counter()
    queued: set[str] = set()

    def withdraw(call_id: str) -> None:
        agent = offer_of_call.pop(call_id, None)
        if agent is not None and offer_of_agent.get(agent) == call_id:
            del offer_of_agent[agent]

    for event in routing:
        kind, data = event["type"], event["data"]
        call_id, agent = data.get("call_id"), data.get("agent_id")
        if kind == "CallQueued":
            queued.add(call_id)
        elif kind == "CallOffered":
            if call_id in offer_of_call:
                found.append(f"{call_id} offered to {agent} while offered to "
                             f"{offer_of_call[call_id]}")  # fmt: skip
            if agent in offer_of_agent:
                found.append(f"{agent} offered {call_id} while offered {offer_of_agent[agent]}")
            if agent in holding:
                found.append(f"{agent} offered {call_id} while on {holding[agent]}")
            offer_of_call[call_id], offer_of_agent[agent] = agent, call_id
        elif kind in ("CallOfferDeclined", "CallOfferCancelled"):
            withdraw(call_id)
        elif kind == "CallAnswered":
            withdraw(call_id)
            if agent in holding:
                found.append(f"{agent} answered {call_id} while on {holding[agent]}")
            holding[agent] = call_id
        elif kind == "CallEnded":
            if holding.get(agent) == call_id:
                del holding[agent]
            if not data.get("transferred"):
                finals[call_id] += 1
        elif kind in ("CallAbandoned", "CallExitedQueue"):
            withdraw(call_id)
            finals[call_id] += 1
    for call_id in sorted(queued):
        if finals[call_id] != 1:
            found.append(f"{call_id} queued with {finals[call_id]} final outcomes")
    return found


WRITES: list[tuple[str, str, str, str]] = [
    # service, method, path pattern, the event that proves the write is present
    ("ivr", "POST", r"/v1/calls$", "CallArrived"),
    ("ivr", "POST", r"/v1/calls/(?P<call>[^/]+)/hangup$", "IvrCompleted|CallHungUp"),
    ("ivr", "POST", r"/v1/calls/(?P<call>[^/]+)/recording$", "VoicemailRecorded"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/answer$", "CallAnswered"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/hangup$", "CallEnded"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/disposition$", "CallDispositioned"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/hold$", "CallHeld"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/resume$", "CallResumed"),
    ("routing", "POST", r"/v1/calls/(?P<call>[^/]+)/transfer$", "CallTransferred"),
    ("routing", "POST", r"/v1/agents/(?P<agent>[^/]+)/ready$", "AgentReady"),
    ("routing", "POST", r"/v1/agents/(?P<agent>[^/]+)/not-ready$", "AgentNotReady"),
]


def missing_writes(
    platform: Platform,
    journal: list[dict[str, Any]],
    logs: dict[str, list[dict[str, Any]]],
    tenant: str,
) -> tuple[list[str], int]:
    """Every write the platform accepted (2xx) is in its records. Returns what is
    missing and how many accepted writes were checked."""
    port_of = {str(port): name for name, port in platform.ports.items()}
    present: dict[str, set[tuple[str, str]]] = defaultdict(set)  # type -> (call, agent)
    for events in logs.values():
        for event in events:
            data = event["data"]
            agent = data.get("agent_id") or data.get("from_agent_id", "")  # a transfer's
            present[event["type"]].add((data.get("call_id", ""), agent))
    missing, checked = [], 0
    tickets = httpx.Client(base_url=platform.url("workorders"),
                           headers=platform.headers(tenant), timeout=30)  # fmt: skip
    with tickets:
        for entry in journal:
            if entry["status"] is None or not 200 <= entry["status"] < 300:
                continue
            url = httpx.URL(entry["url"])
            service = port_of.get(str(url.port))
            if service == "workorders" and entry["method"] == "POST" and url.path == "/v1/tickets":
                checked += 1
                ticket_id = entry["response"]["ticket"]["ticket_id"]
                if tickets.get(f"/v1/tickets/{ticket_id}").status_code != 200:
                    missing.append(f"ticket {ticket_id}")
                continue
            for owner, method, pattern, types in WRITES:
                match = re.search(pattern, url.path)
                if owner != service or method != entry["method"] or not match:
                    continue
                checked += 1
                call = match.groupdict().get("call") or (entry["request"] or {}).get("call_id", "")
                agent = match.groupdict().get("agent") or (entry["request"] or {}).get(
                    "agent_id", ""
                )
                proofs = set().union(*(present[t] for t in types.split("|")))
                if not any((not call or c == call) and (not agent or a == agent)
                           for c, a in proofs):  # fmt: skip
                    missing.append(f"{entry['method']} {url.path} -> {types}")
    return missing, checked


def fold_offline(events: list[dict[str, Any]], folder: Path, tenant: str) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "events.jsonl"
    ordered = sorted(events, key=lambda event: event["time"])
    path.write_text("".join(json.dumps(event) + "\n" for event in ordered))
    fold = subprocess.run(
        [str(Path(sys.executable).parent / "callcenter-analytics"), "fold", "--events", str(path)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    rows = json.loads(fold.stdout)["tenants"].get(tenant, {}).get("kpis", [])
    return rows[0] if rows else {}


def live_kpis(platform: Platform, tenant: str) -> dict[str, Any]:
    response = httpx.get(f"{platform.url('analytics')}/v1/kpis",
                         headers=platform.headers(tenant), timeout=30)  # fmt: skip
    response.raise_for_status()
    rows = response.json()["rows"]
    return rows[0] if rows else {}


def settled(
    platform: Platform, tenant: str, folder: Path, timeout: float = 120
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any], dict[str, Any]]:
    """The logs, their offline fold and analytics' live KPIs, once the live KPIs equal
    the fold of the logs as they are (events still in flight between services move
    both), or as they are at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        logs = {name: events_of(platform, tenant, name) for name in PUBLISHERS}
        offline = fold_offline([e for events in logs.values() for e in events], folder, tenant)
        live = live_kpis(platform, tenant)
        if all(live.get(key) == offline.get(key) for key in KPI_KEYS):
            again = {name: len(events_of(platform, tenant, name)) for name in PUBLISHERS}
            if again == {name: len(events) for name, events in logs.items()}:
                return logs, offline, live
        if time.monotonic() > deadline:
            return logs, offline, live
        time.sleep(1)


def duplicates(items: list[Any]) -> list[Any]:
    return [item for item, count in Counter(items).items() if count > 1]


def crm_duplicates(platform: Platform, tenant: str, crm: list[dict[str, Any]]) -> list[str]:
    """A call identified twice, or a timeline showing one contact twice."""
    found = [f"{call} identified twice" for call in duplicates(
        [e["data"]["call_id"] for e in crm if e["type"] == "CustomerIdentified"])]  # fmt: skip
    customers = {e["data"].get("customer_id") for e in crm if e["type"] == "CustomerIdentified"}
    with httpx.Client(base_url=platform.url("crm"), headers=platform.headers(tenant),
                      timeout=30) as client:  # fmt: skip
        for customer in sorted(c for c in customers if c):
            entries = client.get(f"/v1/customers/{customer}/timeline", params={"limit": 200})
            if entries.status_code != 200:
                found.append(f"timeline of {customer}: {entries.status_code}")
                continue
            keys = [json.dumps(entry, sort_keys=True) for entry in entries.json()]
            found += [f"timeline of {customer} twice: {key[:120]}" for key in duplicates(keys)]
    return found


def ticket_duplicates(platform: Platform, tenant: str) -> tuple[list[str], list[dict]]:
    """Every ticket of the tenant; two tickets opened from one call for one reason."""
    tickets: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=platform.url("workorders"), headers=platform.headers(tenant),
                      timeout=30) as client:  # fmt: skip
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/tickets", params=params).json()
            tickets += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    keys = [(t.get("call_id"), t.get("title")) for t in tickets if t.get("call_id")]
    return [f"two tickets for {key}" for key in duplicates(keys)], tickets


def dead_letters(platform: Platform) -> list[str]:
    """What the consumers sent to the DLQ: read from the topic throughout the run,
    and from the services' logs (each dead letter is logged too)."""
    found = list(platform.dead_letters.seen)
    for log in sorted(platform.logs.glob("*.log")):
        found += [f"{log.name}: {line[:300]}" for line in log.read_text(errors="replace")
                  .splitlines() if " to callcenter.dlq: " in line]  # fmt: skip
    return found
