"""The live stream as a client sees it: server-sent events, and a prompt end on shutdown."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from callcenter.events.broker import free_port
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade

KEY = "analytics-stream-test-signing-key-32-bytes"


def test_an_open_stream_does_not_hold_the_shutdown(tmp_path):
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    upgrade("callcenter.analytics", url)
    port = free_port()
    environment = {
        **os.environ,
        "CALLCENTER_ANALYTICS_DATABASE_URL": url,
        "CALLCENTER_ANALYTICS_RUN_CONSUMERS": "false",
        "CALLCENTER_SIGNING_KEY": KEY,
        "CALLCENTER_DATA_DIR": str(tmp_path),
    }
    command = [str(Path(sys.executable).parent / "callcenter-analytics"), "serve",
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    token = issue_token(KEY, subject="tv", tenant="acme", roles=[Role.SUPERVISOR])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "analytics did not start"
                time.sleep(0.1)
        stream_url = f"http://127.0.0.1:{port}/v1/live/stream"
        with httpx.stream("GET", stream_url, params={"access_token": token}, timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(lines) == "event: snapshot"
            assert next(lines).startswith('data: {"at":')
            asked_to_stop = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        # Not the grace period (15 s): the stream ended when the server began to stop.
        assert time.monotonic() - asked_to_stop < 5
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.returncode in (0, -signal.SIGTERM)
    finally:
        server.kill()
