"""Work orders killed -9 at an SLA deadline and restarted: the breach is decided
once and published once, and nothing the ticket recorded is lost or doubled.

The service runs as a process (``callcenter-workorders serve``) on the real
clock, with the embedded broker; a tenant's ticket type with a 2-second first
reply target puts the deadline inside the test. The first process is killed at
the deadline (it may or may not have fired), the second as soon as the ticket
shows the breach (its relay may or may not have published it), the third runs
until the topic holds the whole stream. The topic is read with aiokafka.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from callcenter.events.broker import free_port
from callcenter.events.bus import KafkaSettings
from callcenter.events.codec import from_kafka
from callcenter.events.envelope import Envelope
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade

KEY = "workorders-restart-test-signing-key-32-bytes"
FLASH = {
    "sla": {
        "targets": {"normal": {"first_reply": 2, "resolution": 3600}},
        "warn_ratio": 1.0,
        "escalation": [{"action": "notify_supervisor"}],
    }
}


def headers() -> dict[str, str]:
    token = issue_token(KEY, subject="sam", tenant="acme", roles=[Role.SUPERVISOR])
    return {"Authorization": f"Bearer {token}"}


def serve(database_url: str, kafka: KafkaSettings, tmp_path: Path, port: int) -> subprocess.Popen:
    environment = {
        **os.environ,
        "CALLCENTER_WORKORDERS_DATABASE_URL": database_url,
        "CALLCENTER_WORKORDERS_TICK_SECONDS": "0.05",
        "CALLCENTER_WORKORDERS_RUN_CONSUMERS": "false",
        "CALLCENTER_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "CALLCENTER_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "CALLCENTER_SIGNING_KEY": KEY,
        "CALLCENTER_DATA_DIR": str(tmp_path),
    }
    command = [str(Path(sys.executable).parent / "callcenter-workorders"), "serve",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / f"workorders-{port}.log", "ab"))  # fmt: skip
    deadline = time.monotonic() + 60  # a loaded 2-core CI machine starts slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("work orders did not start")


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def published(kafka: KafkaSettings, expected_versions: int) -> list[Envelope]:
    """The work orders topic from the start, once every version up to
    ``expected_versions`` came and then a second of silence (a late duplicate
    would be seen too)."""

    async def go() -> list[Envelope]:
        reader = kafka.consumer(None)
        await reader.start()
        reader.subscribe([kafka.topic("callcenter.workorders")])
        seen: list[Envelope] = []
        stop_at = asyncio.get_running_loop().time() + 20
        try:
            while asyncio.get_running_loop().time() < stop_at:
                batch = await reader.getmany(timeout_ms=1000)
                versions = {e.stream_version for e in seen}
                if not batch and versions >= set(range(1, expected_versions + 1)):
                    break
                for records in batch.values():
                    seen += [from_kafka(record.value, record.headers) for record in records]
        finally:
            await reader.stop()
        return seen

    return asyncio.run(go())


@pytest.mark.broker
def test_a_breach_is_emitted_once_although_the_service_is_killed_at_the_deadline(
    database_url, kafka, tmp_path
):
    upgrade("callcenter.workorders", database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = serve(database_url, kafka, tmp_path, port)
    try:
        with httpx.Client(base_url=base, headers=headers(), timeout=5) as client:
            assert client.put("/v1/ticket-types/flash", json=FLASH).status_code == 200
            opened = client.post("/v1/tickets", json={"ticket_id": "T1", "type": "flash"})
            assert opened.status_code == 201, opened.text
        due = datetime.fromisoformat(opened.json()["ticket"]["clocks"]["first_reply"]["due_at"])
        time.sleep(max(0.0, due.timestamp() - time.time()))
        kill(process)  # at the deadline

        process = serve(database_url, kafka, tmp_path, port)
        with httpx.Client(base_url=base, headers=headers(), timeout=5) as client:
            stop_at = time.monotonic() + 10
            while not client.get("/v1/tickets/T1").json()["breached"]:
                assert time.monotonic() < stop_at, "the restarted service never fired the breach"
                time.sleep(0.01)
        kill(process)  # just after the breach was recorded

        process = serve(database_url, kafka, tmp_path, port)
        with httpx.Client(base_url=base, headers=headers(), timeout=5) as client:
            time.sleep(0.5)  # the timer loop ticks ten times
            ticket = client.get("/v1/tickets/T1").json()
        events = published(kafka, ticket["version"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    kinds = [entry["type"] for entry in ticket["history"]]
    assert kinds.count("TicketSlaBreached") == kinds.count("TicketEscalated") == 1
    assert ticket["clocks"]["first_reply"]["breached"] and ticket["escalation_level"] == 1
    # Every event of the stream is on the topic. A kill between the broker's ack and
    # the relay's checkpoint may republish an event (same id: consumers deduplicate);
    # the breach itself is decided once: one event id, its deadline the clock's.
    assert sorted({e.stream_version for e in events}) == list(range(1, ticket["version"] + 1))
    assert len({e.id for e in events}) == ticket["version"]
    breaches = [e for e in events if e.type == "TicketSlaBreached"]
    assert len({b.id for b in breaches}) == 1
    assert {(b.data.metric, b.data.due_at) for b in breaches} == {("first_reply", due)}
