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


def flow():
    from callcenter.ivr.domain.flow import Flow

    return Flow.model_validate(
        {
            "name": "pay",
            "start": "menu",
            "nodes": {
                "menu": {
                    "type": "menu",
                    "prompts": ["1 to pay"],
                    "choices": {"1": "card"},
                    "on_failure": "bye",
                },
                "card": {
                    "type": "collect",
                    "prompts": ["Card?"],
                    "variable": "card",
                    "sensitive": True,
                    "next": "cvv",
                    "on_failure": "bye",
                },
                "cvv": {
                    "type": "collect",
                    "prompts": ["CVV?"],
                    "variable": "cvv",
                    "sensitive": True,
                    "next": "bye",
                    "on_failure": "bye",
                },
                "bye": {"type": "hangup", "prompts": ["Bye."]},
            },
        }
    )


def test_a_recording_pauses_in_sensitive_nodes_and_resumes_after():
    from callcenter.events.catalogue.ivr import (
        CallHungUp,
        IvrCompleted,
        IvrNodeEntered,
        IvrVariablesSet,
    )
    from callcenter.ivr.domain.recording import sensitive_moves

    paying = flow()

    def entered(node: str) -> IvrNodeEntered:
        return IvrNodeEntered(call_id="c1", node_id=node, node_type=paying.nodes[node].type)

    assert sensitive_moves(paying, "menu", [entered("card")]) == ["pause"]
    # from one sensitive node to the next: still paused, nothing to tell
    assert (
        sensitive_moves(
            paying,
            "card",
            [IvrVariablesSet(call_id="c1", node_id="card", variables={}), entered("cvv")],
        )
        == []
    )
    ended = [
        entered("bye"),
        IvrCompleted(call_id="c1", outcome="hung_up", duration=1),
        CallHungUp(call_id="c1", by="system", at=AT),
    ]
    assert sensitive_moves(paying, "cvv", ended) == ["resume"]
    assert sensitive_moves(paying, "cvv", [CallHungUp(call_id="c1", by="caller", at=AT)]) == [
        "resume"
    ]
    assert sensitive_moves(paying, "menu", [entered("card"), entered("bye")]) == ["pause", "resume"]
    assert sensitive_moves(paying, None, [entered("menu")]) == []
