"""Measure how soon the agent console's desk is pushed after an action.

    .venv/bin/python bench/console_push.py [--actions N]

Starts routing in-process (its real app, a SQLite file, the embedded broker), opens an
agent's desk stream (server-sent events) and N times alternates the agent between
ready and not ready through the API, timing each from sending the request to reading
the pushed desk that shows the new state. Prints the percentiles as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from callcenter.events.broker import EmbeddedBroker
from callcenter.events.bus import KafkaSettings
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings

KEY = "console-push-bench-signing-key-32-bytes"


def pushed_status(lines) -> str:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line.removeprefix("data: "))["agent"]["status"]
    raise RuntimeError("the stream ended")


def measure(actions: int) -> list[float]:
    folder = Path(tempfile.mkdtemp())
    database_url = f"sqlite:///{folder / 'routing.db'}"
    upgrade("callcenter.routing", database_url)
    broker = EmbeddedBroker(log_path=folder / "broker.log").start()
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=folder, signing_key=KEY)
    token = issue_token(KEY, subject="ann", tenant="acme", roles=[Role.AGENT])
    boss = issue_token(KEY, subject="sue", tenant="acme", roles=[Role.SUPERVISOR])
    ann = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(settings)) as client:
            client.put("/v1/agents/ann", json={"skills": {}},
                       headers={"Authorization": f"Bearer {boss}"})  # fmt: skip
            client.post("/v1/agents/ann/login", headers=ann)
            url = f"/v1/agents/ann/desk/stream?access_token={token}"
            seconds = []
            with client.stream("GET", url) as stream:
                lines = stream.iter_lines()
                pushed_status(lines)
                for n in range(actions):
                    action, status = (
                        ("ready", "ready") if n % 2 == 0 else ("not-ready", "not_ready")
                    )
                    started = time.perf_counter()
                    client.post(f"/v1/agents/ann/{action}", headers=ann)
                    while pushed_status(lines) != status:
                        pass
                    seconds.append(time.perf_counter() - started)
            return seconds
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=200)
    seconds = sorted(measure(parser.parse_args().actions))
    ms = [s * 1000 for s in seconds]
    print(json.dumps({
        "actions": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
        "max_ms": round(ms[-1], 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
