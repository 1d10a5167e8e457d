"""`make run`'s launcher (tools/devrun.py) as the platform tests start it: free ports, a
data folder of the test's own, no simulator unless asked; Ctrl-C (SIGINT) at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.events.broker import free_ports
from callcenter.events.kit.auth import signing_key

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["routing", "ivr", "crm", "workorders", "analytics"]


@dataclass
class Platform:
    launcher: subprocess.Popen[str]
    ports: dict[str, int]
    data_dir: Path
    output: list[str]  # what the launcher printed until the platform was up
    up_after: float  # seconds
    rest: str = ""  # what it printed after (once stopped)
    urls: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def signing_key(self) -> str:
        return signing_key(None, self.data_dir / "dev-signing-key")


@contextmanager
def make_run(data_dir: Path, **environment: str) -> Iterator[Platform]:
    """The platform up (the launcher printed "platform is up"), stopped on leaving."""
    *service_ports, broker_port = free_ports(len(SERVICES) + 1)
    ports = dict(zip(SERVICES, service_ports, strict=True))
    environment = {
        **os.environ,
        "CALLCENTER_DATA_DIR": str(data_dir),
        "CALLCENTER_BROKER_PORT": str(broker_port),
        "CALLCENTER_SIMULATOR_RATE": "0",
        **{f"CALLCENTER_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **environment,
    }
    started = time.monotonic()
    launcher = subprocess.Popen([sys.executable, str(ROOT / "tools" / "devrun.py")],
                                env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip
    output: list[str] = []
    platform = None
    try:
        for line in launcher.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "platform is up" in line:
                break
        assert "platform is up" in "".join(output), "".join(output)
        platform = Platform(launcher, ports, data_dir, output, time.monotonic() - started)
        yield platform
    finally:
        launcher.send_signal(signal.SIGINT)
        rest, _ = launcher.communicate(timeout=60)
        if platform is not None:
            platform.rest = rest
