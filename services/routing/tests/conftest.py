from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.events.catalogue import registry
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.errors import RoutingError
from callcenter.routing.domain.snapshot import from_snapshot, snapshot_bytes, to_snapshot
from callcenter.routing.domain.state import RoutingState, evolve

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


class Desk:
    """The ACD core at a desk: a clock, the state, and every event so far."""

    def __init__(self) -> None:
        self.state = RoutingState()
        self.now = START
        self.log: list = []

    def do(self, command: cmd.Command) -> list:
        events = decide(command, self.state, self.now)
        self.log += events
        return events

    def wait(self, seconds: float) -> list:
        self.now += timedelta(seconds=seconds)
        return self.do(cmd.Tick())

    def queue(self, queue_id: str = "q1", **config) -> None:
        config.setdefault("skills", {"general": 1})
        self.do(cmd.ConfigureQueue(queue_id, QueueConfig(**config)))

    def agent(self, agent_id: str, ready: bool = True, **config) -> None:
        config.setdefault("skills", {"general": 5})
        self.do(cmd.ConfigureAgent(agent_id, AgentConfig(**config)))
        self.do(cmd.LogIn(agent_id))
        if ready:
            self.do(cmd.MakeReady(agent_id))

    def call(self, call_id: str, queue_id: str = "q1", **details) -> list:
        return self.do(cmd.EnqueueCall(call_id, queue_id, **details))

    def offered_to(self, call_id: str) -> list[str]:
        return sorted(self.state.calls[call_id].offers)

    def status(self, agent_id: str) -> str:
        return self.state.agents[agent_id].status

    def refuses(self, command: cmd.Command, error: type[RoutingError], words: str) -> None:
        """The core refuses ``command`` with ``error`` saying ``words``, changing nothing."""
        before = snapshot_bytes(self.state)
        with pytest.raises(error) as caught:
            self.do(command)
        assert words in caught.value.detail
        assert snapshot_bytes(self.state) == before

    def replayed(self) -> RoutingState:
        """A fresh state evolved from the log, each event through its JSON form."""
        fresh = RoutingState()
        for event in self.log:
            model = registry.model(event.event_type)
            evolve(fresh, model.model_validate_json(event.model_dump_json()))
        return fresh

    def assert_replays(self, replayed: RoutingState | None = None) -> None:
        """The log replays to the same state, and the state survives a snapshot."""
        assert snapshot_bytes(replayed or self.replayed()) == snapshot_bytes(self.state)
        assert snapshot_bytes(from_snapshot(to_snapshot(self.state))) == snapshot_bytes(self.state)


def names(events) -> list[str]:
    return [type(event).__name__ for event in events]


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def event_names():
    return names


@pytest.fixture
def desk_factory():
    """For hypothesis tests: a fresh desk per example (function fixtures are shared)."""
    return Desk
