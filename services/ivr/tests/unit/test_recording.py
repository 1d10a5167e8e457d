"""Recordings, pure: a stable id per agent's part, stopped once, kept for the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callcenter.ivr.domain.recording import Recording, recording_id, stop

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_the_same_part_of_a_call_is_the_same_recording():
    assert recording_id("acme", "c1", "a1") == recording_id("acme", "c1", "a1")
    assert recording_id("acme", "c1", "a1") != recording_id("acme", "c1", "a2")
    assert recording_id("acme", "c1", "a1") != recording_id("other", "c1", "a1")


def test_a_recording_stops_once_and_is_kept_for_its_retention():
    live = Recording("RE1", "c1", "recording")
    (event,) = stop(live, "https://x/rec", 12.5, AT, 30)
    assert (event.uri, event.duration, event.retain_until) == (
        "https://x/rec",
        12.5,
        AT + timedelta(days=30),
    )
    assert stop(Recording("RE1", "c1", "stopped"), "https://x/rec", 12.5, AT, 30) == []
    assert stop(Recording("RE1", "c1", "purged"), "https://x/rec", 12.5, AT, 30) == []
