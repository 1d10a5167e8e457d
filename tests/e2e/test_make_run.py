"""``make run``'s launcher, as a new user runs it: the broker and the five
services come up healthy within 60 s; a call through the IVR and routing shows
on the printed wallboard URL in Chromium; the simulator's books of a few hundred
calls balance with the platform's; make run's own simulator moves the demo
wallboard; Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from callcenter.events.kit.auth import Role, issue_token, signing_key
from tests.platform import SERVICES, make_run

pytestmark = pytest.mark.platform  # starts the platform (one at a time)


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, json.loads(response.read())


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def a_call_shows_on_the_wallboard(ports: dict[str, int], wallboard: str, key_file: Path) -> None:
    """As an integrator: a queue in routing, a flow on a number in the IVR, then a call."""
    roles = [Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR]
    token = issue_token(signing_key(None, key_file), subject="e2e", tenant="demo", roles=roles)
    headers = {"Authorization": f"Bearer {token}"}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    with httpx.Client(headers=headers, timeout=10) as client:
        queue = {"name": "E2E sales", "skills": {"sales": 1}}
        assert client.put(f"{url['routing']}/v1/queues/e2e-sales", json=queue).status_code == 200
        no_short = {"exclude_short_abandons": False}
        assert client.put(f"{url['analytics']}/v1/settings", json=no_short).status_code == 200
        flow = {
            "name": "e2e",
            "start": "hold",
            "nodes": {"hold": {"type": "enqueue", "prompts": ["Hold."], "queue": "e2e-sales"}},
        }
        deadline = time.monotonic() + 30  # the IVR learns routing's queues from its events
        while (put := client.put(f"{url['ivr']}/v1/flows/e2e", json=flow)).status_code != 201:
            assert time.monotonic() < deadline, put.text
            time.sleep(0.2)
        bound = {"flow_id": "e2e", "version": 1}
        assert client.put(f"{url['ivr']}/v1/numbers/+15550177", json=bound).status_code == 200
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--headless", "--no-sandbox"])  # fmt: skip
            page = browser.new_page()
            page.goto(wallboard)
            card = page.locator('.queue[data-queue="e2e-sales"]')
            expect(card.locator("h2")).to_have_text("E2E sales", timeout=20_000)
            call = {"from": "+33612345678", "to": "+15550177", "call_id": "e2e-1"}
            assert client.post(f"{url['ivr']}/v1/calls", json=call).status_code == 201
            waiting = card.locator('[data-name="waiting"] .value')
            expect(waiting).to_have_text("1", timeout=20_000)
            assert client.post(f"{url['ivr']}/v1/calls/e2e-1/hangup").status_code == 200
            expect(waiting).to_have_text("0", timeout=20_000)
            expect(card.locator('[data-name="abandon"] .value')).to_have_text("100%")
            browser.close()


def the_demo_knowledge_base_answers(port: int, token: str) -> None:
    """The demo tenant's agents find the demo articles."""
    search = f"http://127.0.0.1:{port}/v1/kb/search"
    deadline = time.monotonic() + 20
    while True:
        found = httpx.get(
            search, params={"q": "refund"}, headers={"Authorization": f"Bearer {token}"}
        )
        if found.status_code == 200 and found.json()["items"]:
            return
        assert time.monotonic() < deadline, found.text
        time.sleep(0.5)


def the_simulator_moves_the_demo_wallboard(live: str, token: str) -> None:
    """``make run``'s own simulator: the demo tenant's queues fill with calls."""
    deadline = time.monotonic() + 60
    while True:
        view = httpx.get(live, headers={"Authorization": f"Bearer {token}"}).json()
        offered = sum(q["offered"] for q in view["queues"] if q["queue_id"].startswith("sim-"))
        if offered > 0:
            return
        assert time.monotonic() < deadline, view
        time.sleep(1)


CALLS = 210


def the_books_balance(ports: dict[str, int], key_file: Path, folder: Path) -> None:
    """The simulator's own counts of a seeded run equal what the platform recorded.

    Twenty times faster than life: 7 calls a second arrive for half a minute (below the
    platform's knee, 20-50 calls/s), agents work shifts of 15 s with 7.5 s between, and
    a fifth of the callers who wait take the callback the IVR offers."""
    environment = {**os.environ, "CALLCENTER_SIGNING_KEY_FILE": str(key_file),
                   **{f"CALLCENTER_{name.upper()}_PORT": str(port)
                      for name, port in ports.items()}}  # fmt: skip
    command = [str(Path(sys.executable).parent / "callcenter-simulator"), "--quiet",
               "--tenants", "acme", "--calls", str(CALLS), "--rate", "105", "--speed", "20",
               "--aht", "20", "--patience", "120", "--agents-per-skill", "6",
               "--shift", "300", "--callback-share", "0.2", "--callback-min-wait", "0",
               "--seed", "2", "--campaign-contacts", "12", "--answer-rate", "0.6",
               "--hold-share", "0.5", "--transfer-share", "0.4", "--follow-up-share", "0.5",
               "--export", str(folder)]  # fmt: skip
    run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    books = json.loads((folder / "summary.json").read_text())["simulator"]["acme"]
    assert (books["arrived"], books["errors"]) == (CALLS, 0), run.stderr
    # Every call that arrived ended in exactly one outcome, each of them seen.
    outcomes = books["outcomes"]
    assert sum(outcomes.values()) == books["arrived"]
    assert outcomes["ended_in_ivr"] == 0
    assert all(outcomes[kind] > 0 for kind in ("self_served", "voicemail", "answered",
                                                "abandoned", "callback")), outcomes  # fmt: skip
    assert outcomes["self_served"] == books["self_served"]
    assert outcomes["voicemail"] == len(books["voicemails"])
    assert books["answered"] > 0 and books["abandoned"] > 0
    assert books["held"] > 0 and books["transferred"] > 0 and books["follow_ups"]
    assert books["dispositions"] == books["answered"], run.stderr  # it says why one was refused
    assert books["ended_by_agent"] > 0 and books["surveys"] > 0
    # Every callback was dialed until reached, or given up after routing's last try.
    callbacks = books["callbacks"]
    assert callbacks["requested"] == outcomes["callback"]
    assert callbacks["connected"] + callbacks["given_up"] == callbacks["requested"]
    assert callbacks["dials"] >= callbacks["requested"]
    # Agents came and went on their shifts; routing offered nobody a call while logged out.
    assert books["shifts"]["ended"] > 0
    assert books["shifts"]["started"] > len(["billing", "support"]) * 6
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert offers_to_logged_out_agents(events) == []
    token = issue_token(signing_key(None, key_file), subject="audit", tenant="acme",
                        roles=[Role.SUPERVISOR])  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    analytics = f"http://127.0.0.1:{ports['analytics']}"

    def recorded() -> dict:
        rows = httpx.get(f"{analytics}/v1/kpis", headers=headers).json()["rows"]
        return rows[0] if rows else {}

    deadline = time.monotonic() + 30
    while (row := recorded()).get("offered", 0) + row.get("short_abandoned", 0) < books["queued"]:
        assert time.monotonic() < deadline, (row, books)
        time.sleep(0.5)
    assert row["offered"] + row["short_abandoned"] == books["queued"]
    assert row["answered"] == books["answered"]
    assert row["transferred"] == books["transferred"]
    deadline = time.monotonic() + 30  # the IVR's survey answers arrive on their own topic
    while (row := recorded())["surveys"] < books["surveys"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert (row["surveys"], row["satisfied"]) == (books["surveys"], books["satisfied"])
    assert row["abandoned"] + row["short_abandoned"] == books["abandoned"]
    deadline = time.monotonic() + 30
    while (row := recorded())["callbacks_connected"] < callbacks["connected"]:
        assert time.monotonic() < deadline, (row, books)
        time.sleep(0.5)
    assert row["callbacks_requested"] == callbacks["requested"]
    assert row["callbacks_connected"] == callbacks["connected"]
    assert row["ivr_entered"] == books["arrived"]
    assert round(row["ivr_containment"] * books["arrived"]) == books["self_served"]
    # Every known caller got a screen pop.
    crm = f"http://127.0.0.1:{ports['crm']}/v1/events"
    crm_token = issue_token(signing_key(None, key_file), subject="audit", tenant="acme",
                            roles=[Role.ADMIN])  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        page = httpx.get(crm, params={"limit": 500},
                         headers={"Authorization": f"Bearer {crm_token}"}).json()  # fmt: skip
        identified = {
            e["data"]["call_id"] for e in page["items"] if e["type"] == "CustomerIdentified"
        }
        if len(identified) >= books["known_callers"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(identified) == books["known_callers"]
    # Every voicemail became a work order (seed 2 leaves three).
    assert books["voicemails"]
    workorders = f"http://127.0.0.1:{ports['workorders']}/v1/tickets"
    for call_id in books["voicemails"]:
        deadline = time.monotonic() + 30
        while httpx.get(f"{workorders}/vm-{call_id}", headers=headers).status_code != 200:
            assert time.monotonic() < deadline, f"no work order for the voicemail of {call_id}"
            time.sleep(0.5)
    # Every disposition asking for a follow-up opened one work order for its call.
    for call_id in books["follow_ups"]:
        deadline = time.monotonic() + 30
        while httpx.get(f"{workorders}/fu-{call_id}", headers=headers).status_code != 200:
            assert time.monotonic() < deadline, f"no follow-up work order for {call_id}"
            time.sleep(0.5)
    # The predictive campaign run beside the inbound calls: its books are routing's
    # progress and analytics' campaign KPIs, and nobody was abandoned past the 3% cap.
    [progress] = json.loads((folder / "summary.json").read_text())["campaigns"].values()
    dialer = books["campaign"]
    assert progress["status"] == "completed" and dialer["conversations"] > 0
    assert progress["attempted"] == dialer["dialed"]
    assert progress["reached"] + progress["abandoned"] == dialer["callees_answered"]
    assert progress["completed"] == dialer["sales"]
    assert progress["abandon_rate_today"] <= 0.03
    campaigns = f"{analytics}/v1/kpis?by=campaign&campaign_id={progress['id']}"
    deadline = time.monotonic() + 30
    while (rows := httpx.get(campaigns, headers=headers).json()["rows"]) == [] or (
        rows[0]["outbound_completed"] < progress["completed"]
    ):
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
    folded = {key: rows[0][f"outbound_{key}"] for key in ("attempts", "reached", "completed")}
    assert folded == {"attempts": progress["attempted"], "reached": progress["reached"],
                      "completed": progress["completed"]}  # fmt: skip
    # The exported events, folded offline, give the platform's numbers.
    fold = subprocess.run([str(Path(sys.executable).parent / "callcenter-analytics"), "fold",
                           "--events", str(folder / "events.jsonl")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    [offline] = json.loads(fold.stdout)["tenants"]["acme"]["kpis"]
    assert (offline["offered"], offline["answered"]) == (row["offered"], row["answered"])


def offers_to_logged_out_agents(events: list[dict]) -> list[dict]:
    """Routing's offers (and outbound reservations) of agents logged out at the time, in
    the order of routing's log (its tenant's stream)."""
    routing = sorted((e for e in events if e["streamid"] == "tenant:acme"),
                     key=lambda event: int(event["streamversion"]))  # fmt: skip
    logged_in: set[str] = set()
    wrong = []
    for event in routing:
        kind, data = event["type"], event["data"]
        if kind == "AgentLoggedIn":
            logged_in.add(data["agent_id"])
        elif kind == "AgentLoggedOut":
            logged_in.discard(data["agent_id"])
        elif kind in ("CallOffered", "ContactAnswered") or (
            kind == "OutboundCallRequested" and data.get("agent_id")
        ):
            if data["agent_id"] not in logged_in:
                wrong.append(event)
    return wrong


@pytest.mark.timeout(420)
def test_make_run_brings_the_platform_up_and_ctrl_c_stops_it(tmp_path):
    with make_run(tmp_path / "var", CALLCENTER_SIMULATOR_RATE="6") as platform:
        ports, output, launcher = platform.ports, platform.output, platform.launcher
        assert platform.up_after < 60

        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}/docs" in "".join(output)
            assert get(f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})
            status, ready = get(f"http://127.0.0.1:{port}/readyz")
            assert (status, ready["checks"]) == (200, {"database": "ok", "broker": "ok"}), name
        # The printed wallboard URL carries a token that the analytics service accepts.
        [wallboard] = [line.split()[1] for line in output if line.startswith("wallboard")]
        page, token = wallboard.split("#token=")
        assert page == f"http://127.0.0.1:{ports['analytics']}/wallboard"
        with urllib.request.urlopen(page, timeout=5) as response:
            assert "Contact center wallboard" in response.read().decode()
        live = urllib.request.Request(page.replace("/wallboard", "/v1/live"),
                                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        with urllib.request.urlopen(live, timeout=5) as response:
            assert "queues" in json.loads(response.read())
        key_file = tmp_path / "var" / "dev-signing-key"
        a_call_shows_on_the_wallboard(ports, wallboard, key_file)
        the_demo_knowledge_base_answers(ports["crm"], token)
        the_books_balance(ports, key_file, tmp_path / "run")
        the_simulator_moves_the_demo_wallboard(page.replace("/wallboard", "/v1/live"), token)
        processes = children_of(launcher.pid)
        assert len(processes) >= len(SERVICES)
    assert launcher.returncode == 0, platform.rest
    assert "stopped" in platform.rest
    assert [pid for pid in processes if alive(pid)] == []
    for name in SERVICES:
        assert (tmp_path / "var" / f"{name}.db").exists()
