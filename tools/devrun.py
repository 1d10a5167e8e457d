"""``make run``: the whole platform on this machine, with its embedded defaults.

Starts the embedded broker (or uses ``CALLCENTER_KAFKA_BOOTSTRAP_SERVERS`` when
set), migrates and starts the five services as processes (SQLite files and logs
under ``var/``), waits until every ``/healthz`` answers,
prints the URLs, starts the simulator at a gentle rate for the demo tenant
(``CALLCENTER_SIMULATOR_RATE`` calls per minute, 0 for none), and on Ctrl-C (or
SIGTERM) stops everything it started:
services first (they drain their consumers), then the broker. No orphans: each
child runs in its own process group, killed if it does not stop in time.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from callcenter.events.broker import EmbeddedBroker
from callcenter.events.kit.auth import Role, issue_token, signing_key
from callcenter.events.signals import StopRequest

SERVICES = ["routing", "ivr", "crm", "workorders", "analytics"]
HEALTH_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
SIMULATOR_RATE = float(os.environ.get("CALLCENTER_SIMULATOR_RATE", "4"))  # calls per minute


def service_port(name: str) -> int:
    return importlib.import_module(f"callcenter.{name}.settings").Settings().port


def executable(name: str) -> str:
    return str(Path(sys.executable).parent / f"callcenter-{name}")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_simulator(logs: Path) -> subprocess.Popen[bytes] | None:
    """Callers and agents for the demo tenant at a gentle rate, so the wallboard moves."""
    if SIMULATOR_RATE <= 0:
        return None
    command = [
        str(Path(sys.executable).parent / "callcenter-simulator"),
        *("--quiet", "--tenants", "demo", "--rate", str(SIMULATOR_RATE)),
        *("--start-hour", "10"),  # a demo's day starts busy, not at night
        *("--duration", str(365 * 86400)),
    ]
    log_file = open(logs / "simulator.log", "ab")  # the child keeps it open
    return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def wallboard_url(port: int, subject: str = "wallboard") -> str:
    """The wallboard of the demo tenant, with a supervisor's token good for a day.

    The token travels in the fragment, which the browser never sends to a server.
    """
    settings = importlib.import_module("callcenter.analytics.settings").Settings()
    secret = settings.signing_key.get_secret_value() if settings.signing_key else None
    key = signing_key(secret, settings.resolved_signing_key_file())
    token = issue_token(key, subject=subject, tenant="demo", roles=[Role.SUPERVISOR],
                        ttl_seconds=86_400)  # fmt: skip
    return f"http://127.0.0.1:{port}/wallboard#token={token}"


def console_url(port: int) -> str:
    """The console for a supervisor of the demo tenant (the floor, and any agent's desk)."""
    return wallboard_url(port, subject="supervisor").replace("/wallboard#", "/console#")


def link_the_console(ports: dict[str, int]) -> None:
    """The console (served by routing) calls the other services from the browser."""
    console_origin = f"http://127.0.0.1:{ports['routing']}"
    os.environ.setdefault("CALLCENTER_CORS_ORIGINS", json.dumps([console_origin]))
    for name in ("ivr", "crm", "workorders", "analytics"):
        os.environ.setdefault(f"CALLCENTER_ROUTING_CONSOLE_{name.upper()}_URL",
                              f"http://127.0.0.1:{ports[name]}")  # fmt: skip


def main() -> int:
    data_dir = Path(os.environ.setdefault("CALLCENTER_DATA_DIR", "var")).resolve()
    os.environ["CALLCENTER_DATA_DIR"] = str(data_dir)
    logs = data_dir / "log"
    logs.mkdir(parents=True, exist_ok=True)
    broker = None
    if external := os.environ.get("CALLCENTER_KAFKA_BOOTSTRAP_SERVERS"):
        print(f"broker     {external} (external)", flush=True)
    else:
        broker_port = int(os.environ.get("CALLCENTER_BROKER_PORT", "9092"))
        broker = EmbeddedBroker(broker_port, log_path=logs / "broker.log")
        try:
            broker.start()
        except RuntimeError as error:
            print(f"cannot start the embedded broker: {error}", file=sys.stderr)
            return 1
        os.environ["CALLCENTER_KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        print(f"broker     {broker.bootstrap_servers} (embedded, in memory)", flush=True)

    processes: dict[str, subprocess.Popen[bytes]] = {}
    helpers: list[subprocess.Popen[bytes]] = []  # the simulator: it may end; the platform not
    stopping = StopRequest()
    ports = {name: service_port(name) for name in SERVICES}
    link_the_console(ports)
    try:
        # Each service migrates its own database: all at once.
        migrations = [subprocess.Popen([executable(name), "migrate"]) for name in SERVICES]
        failed = [name for name, m in zip(SERVICES, migrations, strict=True) if m.wait() != 0]
        if failed:
            print(f"migrations failed: {failed}", file=sys.stderr)
            return 1
        for name in SERVICES:
            log_file = open(logs / f"{name}.log", "ab")
            processes[name] = subprocess.Popen(
                [executable(name), "serve"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        waiting = set(SERVICES)
        while waiting and not stopping:
            for name in sorted(waiting):
                if processes[name].poll() is not None:
                    print(f"{name} exited; see {logs / (name + '.log')}", file=sys.stderr)
                    return 1
                if healthy(ports[name]):
                    waiting.discard(name)
            if time.monotonic() > deadline:
                print(
                    f"not healthy after {HEALTH_TIMEOUT_SECONDS}s: {sorted(waiting)}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.2)
        if not stopping:
            for name in SERVICES:
                base = f"http://127.0.0.1:{ports[name]}"
                print(f"{name:<11}{base}/docs   (health {base}/healthz, metrics {base}/metrics)")
            print(f"wallboard  {wallboard_url(ports['analytics'])}")
            print(f"console    {console_url(ports['routing'])}")
            print(f"logs       {logs}")
            print("token      .venv/bin/callcenter-token --tenant demo --role supervisor")
            if simulator := start_simulator(logs):
                helpers.append(simulator)
                print(f"simulator  {SIMULATOR_RATE:g} calls/min into tenant demo, log "
                      f"{logs / 'simulator.log'} (CALLCENTER_SIMULATOR_RATE=0: none)")  # fmt: skip
            print("platform is up; Ctrl-C stops it", flush=True)
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(
                        f"{name} exited with code {process.returncode}; stopping", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        everything = [*helpers, *processes.values()]
        for process in everything:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in everything:
            stop_process(process)
        if broker is not None:
            broker.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
