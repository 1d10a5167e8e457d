"""Call recordings, pure: their ids, and when each may be kept until.

A recording covers an agent's part of a call: it starts when the agent answers
(``RecordingStarted``) and stops when the provider reports the file
(``RecordingStopped`` with its URI and ``retain_until``); after that instant
the reaper purges it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from callcenter.events.catalogue.ivr import RecordingStopped


def recording_id(tenant: str, call_id: str, agent_id: str) -> str:
    """The same agent's part of the same call is the same recording (replays, retries)."""
    digest = hashlib.sha256(f"{tenant}:{call_id}:{agent_id}".encode()).hexdigest()
    return f"RE{digest[:30]}"


def retain_until(stopped_at: datetime, retention_days: int) -> datetime:
    return stopped_at + timedelta(days=retention_days)


@dataclass(frozen=True)
class Recording:
    recording_id: str
    call_id: str
    status: str  # recording, paused, stopped, purged


def stop(
    recording: Recording, uri: str, duration: float, now: datetime, retention_days: int
) -> list[RecordingStopped]:
    """The provider's file: the recording stops once (a retried report adds nothing)."""
    if recording.status not in ("recording", "paused"):
        return []
    return [
        RecordingStopped(
            call_id=recording.call_id,
            recording_id=recording.recording_id,
            uri=uri,
            duration=max(0.0, duration),
            at=now,
            retain_until=retain_until(now, retention_days),
        )
    ]
