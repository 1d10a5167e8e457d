"""The wallboard in real Chromium (Playwright with Debian's chromium): it shows each
queue and updates as events arrive, pushed from the analytics service running as a
process, consuming the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from callcenter.events.broker import free_port
from callcenter.events.catalogue import routing as ev
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import publish_streams

CHROMIUM = Path("/usr/bin/chromium")
KEY = "wallboard-browser-test-signing-key-32-bytes"


def serve_analytics(kafka, tmp_path: Path, port: int) -> subprocess.Popen:
    database_url = f"sqlite:///{tmp_path / 'analytics.db'}"
    upgrade("callcenter.analytics", database_url)
    environment = {
        **os.environ,
        "CALLCENTER_ANALYTICS_DATABASE_URL": database_url,
        "CALLCENTER_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "CALLCENTER_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "CALLCENTER_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "CALLCENTER_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
        "CALLCENTER_SIGNING_KEY": KEY,
        "CALLCENTER_DATA_DIR": str(tmp_path),
    }
    command = [str(Path(sys.executable).parent / "callcenter-analytics"), "serve",
               "--port", str(port)]  # fmt: skip
    log = open(tmp_path / "analytics.log", "ab")  # the process keeps it open
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
    deadline = time.monotonic() + 60  # a loaded 2-core CI machine starts slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("analytics did not start: " + (tmp_path / "analytics.log").read_text())


@pytest.mark.broker
def test_the_wallboard_updates_as_calls_arrive(kafka, tmp_path):
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it"
    port = free_port()
    process = serve_analytics(kafka, tmp_path, port)
    routing_store = tmp_path / "routing.db"
    now = datetime.now(UTC)

    def publish(*events: ev.RoutingEvent) -> None:
        publish_streams(kafka, routing_store, "routing", {"tenant:acme": list(events)})

    token = issue_token(KEY, subject="wally", tenant="acme", roles=[Role.SUPERVISOR])
    try:
        publish(
            ev.QueueConfigured(at=now, queue_id="billing", name="Billing",
                               config={"service_level_seconds": 20, "skills": {"billing": 1}}),
            ev.AgentConfigured(at=now, agent_id="ann", config={"skills": {"billing": 2}}),
            ev.AgentLoggedIn(at=now, agent_id="ann"),
            ev.CallQueued(at=now, call_id="c1", queue_id="billing", position=1),
        )  # fmt: skip
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"http://127.0.0.1:{port}/wallboard#token={token}")
            card = page.locator('.queue[data-queue="billing"]')
            expect(card.locator("h2")).to_have_text("Billing", timeout=20_000)
            waiting = card.locator('[data-name="waiting"] .value')
            expect(waiting).to_have_text("1")
            expect(card.locator('[data-state="not_ready"] b')).to_have_text("1")
            expect(page.locator("#connection")).to_have_text("live")
            # The token left the address bar (it stays in this tab's session storage).
            assert "token" not in page.url

            published_at = time.monotonic()
            publish(ev.CallQueued(at=datetime.now(UTC), call_id="c2", queue_id="billing",
                                  position=2))  # fmt: skip
            expect(waiting).to_have_text("2", timeout=10_000)
            print(f"wallboard updated {time.monotonic() - published_at:.2f} s after publishing")

            answered_at = datetime.now(UTC)
            publish(
                ev.AgentReady(at=answered_at, agent_id="ann"),
                ev.CallAnswered(at=answered_at, call_id="c1", agent_id="ann",
                                queue_id="billing", wait=(answered_at - now).total_seconds(),
                                ring=0),
                ev.CallAbandoned(at=answered_at + timedelta(seconds=30), call_id="c2",
                                 queue_id="billing", wait=30, position=1),
            )  # fmt: skip
            expect(waiting).to_have_text("0", timeout=10_000)
            expect(card.locator('[data-name="answered"] .value')).to_have_text("1")
            expect(card.locator('[data-name="abandon"] .value')).to_have_text("50%")
            expect(card.locator('[data-state="on_call"] b')).to_have_text("1")
            # SL: c1 within 20 s, c2 abandoned after 30 s: 50%, under the 80% target.
            expect(card.locator('[data-name="sl"] .value')).to_have_text("50%")
            expect(card).to_have_attribute("data-status", "bad")
            page.screenshot(path=str(tmp_path / "wallboard.png"))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
