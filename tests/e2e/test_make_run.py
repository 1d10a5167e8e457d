"""``make run``'s launcher, as a new user runs it: the broker and the five
services come up healthy within 60 s; a call through the IVR and routing shows
on the printed wallboard URL in Chromium; Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from callcenter.events.broker import free_port
from callcenter.events.kit.auth import Role, issue_token, signing_key

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["routing", "ivr", "crm", "workorders", "analytics"]


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


def test_make_run_brings_the_platform_up_and_ctrl_c_stops_it(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    environment = {
        **os.environ,
        "CALLCENTER_DATA_DIR": str(tmp_path / "var"),
        "CALLCENTER_BROKER_PORT": str(free_port()),
        **{f"CALLCENTER_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    started = time.monotonic()
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "devrun.py")],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        for line in launcher.stdout:
            output.append(line)
            if "platform is up" in line:
                break
        up_after = time.monotonic() - started
        assert "platform is up" in "".join(output), "".join(output)
        assert up_after < 60

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
        a_call_shows_on_the_wallboard(ports, wallboard, tmp_path / "var" / "dev-signing-key")
        processes = children_of(launcher.pid)
        assert len(processes) >= len(SERVICES)
    finally:
        launcher.send_signal(signal.SIGINT)
        rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, rest
    assert "stopped" in rest
    assert [pid for pid in processes if alive(pid)] == []
    for name in SERVICES:
        assert (tmp_path / "var" / f"{name}.db").exists()
