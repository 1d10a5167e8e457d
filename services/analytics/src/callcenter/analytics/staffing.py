"""Erlang C staffing: how many agents a queue needs to answer calls within a target time.

Pure functions. Erlang B comes from its recursion ``B(n) = A B(n-1) / (n + A B(n-1))``,
which keeps every value in [0, 1] (no factorial, no power of the traffic), so it stays
exact to float precision for tens of thousands of agents; Erlang C follows from it.
Formulas and sources: docs/kpis.md, section "Staffing".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SEED_MAX_OCCUPANCY = 0.70  # the seeds' sizing example (DOMAIN.md, "Sizing it")
# Ratios such as 14 / (1 - 0.3) land a hair above the integer they equal in decimal
# (20.000000000000004); rounding to this many places first keeps ceil() from adding an agent.
_CEIL_PLACES = 9


@dataclass(frozen=True)
class Staffing:
    """What ``agents`` agents achieve on ``traffic_erlangs`` of offered traffic."""

    agents: int
    traffic_erlangs: float
    probability_of_waiting: float
    service_level: float
    asa_seconds: float
    occupancy: float


def traffic_erlangs(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """Offered traffic: the average number of calls in progress (calls x AHT / interval)."""
    return calls * aht_seconds / interval_seconds


def erlang_b(agents: int, traffic: float) -> float:
    """Probability that all ``agents`` are busy when nobody may wait (blocking)."""
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def _erlang_c(agents: int, traffic: float, blocking: float) -> float:
    # N B / (N - A (1 - B)), with the denominator written to avoid cancelling N - A.
    return agents * blocking / ((agents - traffic) + traffic * blocking)


def probability_of_waiting(agents: int, traffic: float) -> float:
    """Erlang C: the probability that a call waits at all. Needs ``agents > traffic``."""
    _check_stable(agents, traffic)
    return _erlang_c(agents, traffic, erlang_b(agents, traffic))


def _service_level(
    agents: int, traffic: float, waiting: float, aht_seconds: float, target_answer_seconds: float
) -> float:
    unanswered = waiting * math.exp(-(agents - traffic) * target_answer_seconds / aht_seconds)
    return min(1.0, max(0.0, 1.0 - unanswered))


def evaluate(
    agents: int, traffic: float, aht_seconds: float, target_answer_seconds: float
) -> Staffing:
    """Service level, ASA, occupancy and P(wait) of a given staffing."""
    waiting = probability_of_waiting(agents, traffic)
    return _staffing(agents, traffic, waiting, aht_seconds, target_answer_seconds)


def _staffing(
    agents: int, traffic: float, waiting: float, aht_seconds: float, target_answer_seconds: float
) -> Staffing:
    return Staffing(
        agents=agents,
        traffic_erlangs=traffic,
        probability_of_waiting=waiting,
        service_level=_service_level(agents, traffic, waiting, aht_seconds, target_answer_seconds),
        asa_seconds=waiting * aht_seconds / (agents - traffic),
        occupancy=traffic / agents,
    )


def agents_needed(
    traffic: float,
    aht_seconds: float,
    target_answer_seconds: float,
    target_service_level: float,
    max_occupancy: float | None = None,
) -> Staffing:
    """The smallest staffing above ``traffic`` that answers ``target_service_level`` of the
    calls within ``target_answer_seconds`` and, if given, keeps occupancy <= ``max_occupancy``.
    """
    if not 0 < target_service_level < 1:
        raise ValueError("target_service_level must be in (0, 1)")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    fewest = math.floor(traffic) + 1
    if max_occupancy is not None:
        fewest = max(fewest, _ceil(traffic / max_occupancy))
    # One upward pass of the recursion: each further agent costs one step, not a restart.
    blocking = erlang_b(fewest, traffic)
    agents = fewest
    while True:
        waiting = _erlang_c(agents, traffic, blocking)
        level = _service_level(agents, traffic, waiting, aht_seconds, target_answer_seconds)
        if level >= target_service_level:
            return _staffing(agents, traffic, waiting, aht_seconds, target_answer_seconds)
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)


def with_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that ``agents`` are on the phones when ``shrinkage`` of paid
    time goes to breaks, training, absence: ceil(N / (1 - shrinkage))."""
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    return _ceil(agents / (1 - shrinkage))


def back_of_envelope(
    calls: float, interval_seconds: float, aht_seconds: float, max_occupancy: float
) -> float:
    """The seeds' sizing: calls x AHT / (interval x max occupancy), no queueing model.

    Their example: 500,000 people x 0.30% x 18% in the busy hour = 270 calls, 150 s each,
    70% max occupancy: 270 x 150 / (3600 x 0.7) = 16.1 agents.
    """
    return traffic_erlangs(calls, interval_seconds, aht_seconds) / max_occupancy


def _ceil(value: float) -> int:
    return math.ceil(round(value, _CEIL_PLACES))


def _check_stable(agents: int, traffic: float) -> None:
    if agents <= traffic:
        raise ValueError(
            f"{agents} agents cannot carry {traffic:g} erlangs: the queue grows without end "
            f"(at least {math.floor(traffic) + 1} are needed)"
        )
