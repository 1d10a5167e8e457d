from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.state import RoutingState

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
