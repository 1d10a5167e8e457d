"""``make run``'s launcher, as a new user runs it: the broker and the five
services come up healthy within 60 s, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from callcenter.events.broker import free_port

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
