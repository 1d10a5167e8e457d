"""Call recordings, pure: their ids, and when each may be kept until.

A recording covers an agent's part of a call: it starts when the agent answers
(``RecordingStarted``) and stops when the provider reports the file
(``RecordingStopped`` with its URI and ``retain_until``); after that instant
the reaper purges it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import (
    CallHungUp,
    IvrCompleted,
    IvrNodeEntered,
    RecordingStopped,
)
from callcenter.ivr.domain.flow import CollectNode, Flow


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


Move = Literal["pause", "resume"]


def _sensitive(flow: Flow, node_id: str | None) -> bool:
    node = flow.nodes.get(node_id) if node_id else None
    return isinstance(node, CollectNode) and node.sensitive


def sensitive_moves(flow: Flow, node_id: str | None, events: Sequence[Event]) -> list[Move]:
    """Where a call's recording pauses (entering a sensitive collect node) and resumes
    (leaving it: another node, the end of the IVR, the hang-up), from the node it was at."""
    inside = _sensitive(flow, node_id)
    moves: list[Move] = []
    for event in events:
        match event:
            case IvrNodeEntered():
                now_inside = _sensitive(flow, event.node_id)
            case IvrCompleted() | CallHungUp():
                now_inside = False
            case _:
                continue
        if now_inside != inside:
            moves.append("pause" if now_inside else "resume")
            inside = now_inside
    return moves
