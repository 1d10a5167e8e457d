"""The platform as ``make run`` starts it (broker + five services as processes), with
handles to hurt it: kill -9 and restart a service on the same database, stop or
restart the broker, freeze a process (SIGSTOP) and thaw it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from callcenter.events.broker import EmbeddedBroker, free_port
from callcenter.events.kit.auth import Role, issue_token
from tests.chaos.dlq import DeadLetterWatch

SERVICES = ["routing", "ivr", "crm", "workorders", "analytics"]
KEY = "chaos-test-signing-key-of-32-bytes-or-more"
BIN = Path(sys.executable).parent


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Platform:
    def __init__(self, folder: Path, **settings: str) -> None:
        self.folder = folder
        self.logs = folder / "log"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker = EmbeddedBroker(free_port(), log_path=self.logs / "broker.log")
        self.ports = {name: free_port() for name in SERVICES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.dead_letters = DeadLetterWatch(self.broker.bootstrap_servers)
        self.environment = {
            **os.environ,
            "CALLCENTER_DATA_DIR": str(folder),
            "CALLCENTER_SIGNING_KEY": KEY,
            "CALLCENTER_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            **{f"CALLCENTER_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
            **settings,
        }

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def headers(self, tenant: str) -> dict[str, str]:
        roles = [Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR]
        token = issue_token(KEY, subject="chaos-audit", tenant=tenant, roles=roles)
        return {"Authorization": f"Bearer {token}"}

    def start(self) -> Platform:
        self.broker.start()
        migrations = [
            subprocess.Popen(
                [str(BIN / f"callcenter-{name}"), "migrate"],
                env=self.environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for name in SERVICES
        ]
        for migration in migrations:
            _, errors = migration.communicate(timeout=120)
            assert migration.returncode == 0, errors.decode()
        for name in SERVICES:
            self._spawn(name)
        for name in SERVICES:
            self.wait_healthy(name)
        self.dead_letters.start()
        assert self.dead_letters.reading.wait(30), "cannot read the dead-letter topic"
        return self

    def _spawn(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # the child keeps it open
        self.processes[name] = subprocess.Popen(
            [str(BIN / f"callcenter-{name}"), "serve"],
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, name: str, timeout: float = 60) -> float:
        started = time.monotonic()
        while not healthy(self.ports[name]):
            if self.processes[name].poll() is not None:
                raise AssertionError(f"{name} exited; see {self.logs / name}.log")
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{name} not healthy after {timeout} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def kill_and_restart(self, name: str) -> float:
        """kill -9, then the same command on the same database; seconds until healthy."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._spawn(name)
        return self.wait_healthy(name)

    def freeze(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGCONT)

    def stop_broker(self) -> None:
        """The broker dies (kill -9): its in-memory log is gone."""
        self.broker.kill()

    def start_broker(self) -> None:
        self.broker.start()

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop(self) -> None:
        self.dead_letters.stop()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.broker.stop()
