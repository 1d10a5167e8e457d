"""Where a caller goes once routing has the call: transfers keep the caller, the end hangs up."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.events.catalogue.routing import (
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    QueueConfigured,
)
from callcenter.ivr.domain.connection import Connection, follow
from callcenter.ivr.domain.instructions import Enqueue, Hangup, Transfer

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def run(*events) -> Connection | None:
    connection = None
    for event in events:
        connection = follow(connection, event)
    return connection


QUEUED = CallQueued(call_id="c1", queue_id="sales", position=1, at=AT)
ANSWERED = CallAnswered(call_id="c1", agent_id="a1", queue_id="sales", wait=3, ring=1, at=AT)


def ended(transferred: bool, agent: str = "a1") -> CallEnded:
    return CallEnded(
        call_id="c1",
        agent_id=agent,
        queue_id="sales",
        talk=60,
        ended_by="agent",
        transferred=transferred,
        at=AT,
    )


def transferred(**fields) -> CallTransferred:
    return CallTransferred(call_id="c1", from_agent_id="a1", queue_id="sales", at=AT, **fields)


def test_answered_then_ended_hangs_the_caller_up():
    connection = run(QUEUED, ANSWERED)
    assert (connection.state, connection.agent_id, connection.instructions) == (
        "connected",
        "a1",
        None,
    )
    done = run(QUEUED, ANSWERED, ended(False))
    assert done.state == "ended" and done.instructions == (Hangup(),)
    assert (done.last_agent_id, done.ended_by) == ("a1", "agent")


def test_a_blind_transfer_to_a_queue_enqueues_again_and_the_agents_end_keeps_the_caller():
    connection = run(QUEUED, ANSWERED, transferred(to_queue_id="support"), ended(True))
    assert connection.state == "transferring"
    assert connection.queue_id == "support"
    assert connection.instructions == (Enqueue(queue="support", skills={}, priority=0),)
    assert connection.last_agent_id == "a1" and connection.agent_id is None


def test_a_blind_transfer_to_an_agent_waits_in_the_calls_queue():
    connection = run(QUEUED, ANSWERED, transferred(to_agent_id="a2"), ended(True))
    assert connection.instructions == (Enqueue(queue="sales", skills={}, priority=0),)
    answered = CallAnswered(call_id="c1", agent_id="a2", queue_id="sales", wait=3, ring=1, at=AT)
    connection = follow(connection, answered)
    assert (connection.state, connection.agent_id, connection.instructions) == (
        "connected",
        "a2",
        None,
    )


def test_consult_and_conference_leave_the_caller_with_the_second_agent():
    for kind in ("consult", "conference"):
        connection = run(QUEUED, ANSWERED, transferred(kind=kind, to_agent_id="a2"), ended(True))
        assert (connection.state, connection.agent_id, connection.instructions) == (
            "connected",
            "a2",
            None,
        )


def test_an_external_transfer_dials_the_number():
    connection = run(
        QUEUED, ANSWERED, transferred(kind="external", number="+15559870000"), ended(True)
    )
    assert connection.state == "external"
    assert connection.instructions == (Transfer(number="+15559870000"),)


def test_events_without_a_call_change_nothing():
    assert follow(None, QueueConfigured(queue_id="q", at=AT)) is None


def test_routing_queueing_the_transferred_caller_keeps_the_enqueue_until_an_agent_answers():
    queued_again = CallQueued(call_id="c1", queue_id="support", position=2, at=AT)
    connection = run(
        QUEUED, ANSWERED, transferred(to_queue_id="support"), queued_again, ended(True)
    )
    assert connection.state == "transferring"
    assert connection.instructions == (Enqueue(queue="support", skills={}, priority=0),)
    answered = CallAnswered(call_id="c1", agent_id="a2", queue_id="support", wait=3, ring=1, at=AT)
    assert follow(connection, answered).instructions is None
