"""Erlang C against a textbook vector, exact rational arithmetic, pyworkforce as an oracle,
and its invariants at thousands of agents."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from callcenter.analytics import staffing

# The classic interval: 100 calls in 30 minutes, 3 minutes each = 10 erlangs; 20 s target.
CLASSIC = {"traffic": 10.0, "aht_seconds": 180.0, "target_answer_seconds": 20.0}


def oracle(traffic: float, aht_seconds: float, target_answer_seconds: float) -> ErlangC:
    # pyworkforce counts in minutes, and its ``asa`` is the target answer time.
    return ErlangC(
        transactions=traffic * 30 / (aht_seconds / 60),
        aht=aht_seconds / 60,
        asa=target_answer_seconds / 60,
        interval=30,
    )


def exact_erlang_b(agents: int, traffic: Fraction) -> Fraction:
    terms = [traffic**k / math.factorial(k) for k in range(agents + 1)]
    return terms[-1] / sum(terms)


def test_traffic_is_calls_times_handle_time_over_the_interval():
    assert staffing.traffic_erlangs(calls=100, interval_seconds=1800, aht_seconds=180) == 10.0


def test_the_classic_interval_needs_14_agents_for_80_percent_in_20_seconds():
    needed = staffing.agents_needed(**CLASSIC, target_service_level=0.8)

    assert needed.agents == 14
    assert needed.service_level == pytest.approx(0.8884, abs=1e-4)
    assert needed.probability_of_waiting == pytest.approx(0.1741, abs=1e-4)
    assert needed.asa_seconds == pytest.approx(7.836, abs=1e-3)
    assert needed.occupancy == pytest.approx(10 / 14)
    # One agent fewer misses the target: 14 is the smallest staffing that meets it.
    assert staffing.evaluate(13, 10.0, 180.0, 20.0).service_level == pytest.approx(0.7956, abs=1e-4)


@pytest.mark.parametrize("agents, traffic", [(1, "1/2"), (5, "3"), (30, "57/2"), (120, "100")])
def test_erlang_b_equals_the_exact_formula(agents, traffic):
    exact = exact_erlang_b(agents, Fraction(traffic))
    assert staffing.erlang_b(agents, float(Fraction(traffic))) == pytest.approx(float(exact))


def test_the_pyworkforce_reference_vectors():
    # pyworkforce's own test: 100 transactions / 30 min, AHT 3 min, 80% target, shrinkage 30%.
    reference = ErlangC(transactions=100, asa=20 / 60, aht=3, interval=30, shrinkage=0.3)
    for max_occupancy in (0.85, 0.7):
        expected = reference.required_positions(service_level=0.8, max_occupancy=max_occupancy)
        needed = staffing.agents_needed(**CLASSIC, target_service_level=0.8,
                                        max_occupancy=max_occupancy)  # fmt: skip
        assert needed.agents == expected["raw_positions"]
        assert staffing.with_shrinkage(needed.agents, 0.3) == expected["positions"]
        assert needed.service_level == pytest.approx(expected["service_level"])
        assert needed.occupancy == pytest.approx(expected["occupancy"])
        assert needed.probability_of_waiting == pytest.approx(expected["waiting_probability"])
    # Occupancy capped at 70%: 10 erlangs take 15 agents, although 14 meet the service level.
    capped = staffing.agents_needed(**CLASSIC, target_service_level=0.8, max_occupancy=0.7)
    assert capped.agents == 15


@settings(max_examples=40, deadline=None)
@given(
    traffic=st.floats(0.05, 400),
    extra=st.integers(0, 60),
    aht_seconds=st.floats(10, 1200),
    target_answer_seconds=st.floats(1, 120),
)
def test_service_level_and_waiting_agree_with_pyworkforce(
    traffic, extra, aht_seconds, target_answer_seconds
):
    agents = math.floor(traffic) + 1 + extra
    expected = oracle(traffic, aht_seconds, target_answer_seconds)
    achieved = staffing.evaluate(agents, traffic, aht_seconds, target_answer_seconds)

    assert achieved.probability_of_waiting == pytest.approx(
        expected.waiting_probability(agents), rel=1e-9, abs=1e-12
    )
    assert achieved.service_level == pytest.approx(
        expected.service_level(agents), rel=1e-9, abs=1e-12
    )


def test_five_thousand_agents_agree_with_pyworkforce():
    traffic = 4900.0
    expected = oracle(traffic, 180, 20).required_positions(service_level=0.8)
    needed = staffing.agents_needed(traffic, 180, 20, 0.8)

    assert needed.agents == expected["raw_positions"] == 4913
    assert needed.service_level == pytest.approx(expected["service_level"], rel=1e-9)
    assert needed.probability_of_waiting == pytest.approx(expected["waiting_probability"])


@settings(max_examples=25, deadline=None)
@given(
    traffic=st.floats(1000, 4990),
    extra=st.integers(0, 300),
    target_service_level=st.floats(0.05, 0.99),
    target_answer_seconds=st.floats(0, 60),
)
def test_thousands_of_agents_stay_probabilities_and_more_agents_never_serve_worse(
    traffic, extra, target_service_level, target_answer_seconds
):
    agents = math.floor(traffic) + 1 + extra
    fewer = staffing.evaluate(agents, traffic, 180, target_answer_seconds)
    more = staffing.evaluate(agents + 1, traffic, 180, target_answer_seconds)

    for achieved in (fewer, more):
        assert 0 <= achieved.probability_of_waiting <= 1
        assert 0 <= achieved.service_level <= 1
        assert 0 < achieved.occupancy < 1
        assert achieved.asa_seconds >= 0 and math.isfinite(achieved.asa_seconds)
    assert more.service_level >= fewer.service_level
    assert more.probability_of_waiting <= fewer.probability_of_waiting

    needed = staffing.agents_needed(traffic, 180, target_answer_seconds, target_service_level)
    assert needed.agents > traffic
    assert needed.service_level >= target_service_level
    if needed.agents - 1 > traffic:  # the smallest such staffing
        short = staffing.evaluate(needed.agents - 1, traffic, 180, target_answer_seconds)
        assert short.service_level < target_service_level


def test_no_more_agents_than_traffic_is_refused():
    with pytest.raises(ValueError, match="10 agents cannot carry 10 erlangs"):
        staffing.probability_of_waiting(10, 10.0)


@pytest.mark.parametrize("target", [0, 1, 1.2, -0.1])
def test_a_service_level_target_outside_the_open_unit_interval_is_refused(target):
    with pytest.raises(ValueError, match="target_service_level"):
        staffing.agents_needed(10, 180, 20, target)


def test_shrinkage_rounds_up_to_whole_agents_without_float_noise():
    assert staffing.with_shrinkage(14, 0.0) == 14
    assert staffing.with_shrinkage(14, 0.3) == 20
    assert staffing.with_shrinkage(15, 0.3) == 22  # 21.43
    # 21 / 0.7 is 30.000000000000004 in floating point: still 30 agents, not 31.
    assert staffing.with_shrinkage(21, 0.3) == 30
    with pytest.raises(ValueError, match="shrinkage"):
        staffing.with_shrinkage(14, 1.0)


def test_the_seeds_back_of_envelope_example():
    # 500,000 people x 0.30% calling x 18% in the busy hour, 150 s each, 70% max occupancy.
    busy_hour_calls = 500_000 * 0.003 * 0.18
    estimate = staffing.back_of_envelope(busy_hour_calls, 3600, 150, 0.70)
    assert estimate == pytest.approx(16.07, abs=0.01)


def test_the_largest_traffic_the_api_sizes_stays_finite():
    needed = staffing.agents_needed(50_000.0, 180, 20, 0.95)

    assert 50_000 < needed.agents < 51_000
    assert needed.service_level >= 0.95
    assert 0 < needed.probability_of_waiting < 1
    assert math.isfinite(needed.asa_seconds)
