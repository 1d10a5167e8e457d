"""Invariants of the fold (hypothesis): any delivery order that keeps each stream's
order, with any duplicates, and a replay of the exported log, give the same KPIs."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.analytics import offline
from callcenter.analytics.fold import Fold
from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.events.catalogue import ivr
from callcenter.events.codec import envelope_attributes, to_json_line
from callcenter.routing.simulate import Arrival, Simulation

QUICK = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def a_day(log, seed: int):
    """A small simulated center: routing's events plus each call's IVR stream."""
    rng = random.Random(seed)
    config = {
        "queues": [
            {"id": "q1", "skills": {"general": 1}, "service_level_seconds": 20},
            {"id": "q2", "skills": {"general": 1}, "service_level_seconds": 40},
        ],
        "agents": [{"id": f"a{n}", "skills": {"general": 5}} for n in range(rng.randint(1, 4))],
    }
    arrivals, at = [], 0.0
    for n in range(rng.randint(5, 40)):
        at += rng.expovariate(1 / 40)
        arrivals.append(Arrival(f"c{n}", at, rng.choice(["q1", "q2"]), rng.randint(0, 2),
                                rng.uniform(1, 150), rng.uniform(20, 300), 5))  # fmt: skip
    simulation = Simulation(config, arrivals)
    simulation.log = []
    simulation.run()
    for event in simulation.log:
        log.routing(event)
    for arrival in arrivals:
        stream = f"call:{arrival.call_id}"
        seconds = (simulation.at(arrival.arrival_s) - log.at(0)).total_seconds()
        log.add(
            ivr.CallArrived(call_id=arrival.call_id, ani="+3311", dnis="+3312"), stream, seconds
        )
        outcome = rng.choice(["queued", "self_served", "hung_up"])
        log.add(ivr.IvrCompleted(call_id=arrival.call_id, outcome=outcome, duration=3), stream,
                seconds)  # fmt: skip
        if rng.random() < 0.3:
            score = rng.randint(1, 5)
            survey = ivr.SurveyAnswered(call_id=arrival.call_id, question="csat", score=score)
            log.add(survey, stream, seconds + 600)
    return log


def shuffled_delivery(envelopes, rng: random.Random):
    """Streams interleaved at random (each stream in order), with redeliveries."""
    streams: dict[str, list] = {}
    for envelope in envelopes:
        streams.setdefault(envelope.stream_id, []).append(envelope)
    queues = [list(reversed(stream)) for stream in streams.values()]
    delivered = []
    while queues:
        queue = rng.choice(queues)
        delivered.append(queue.pop())
        if rng.random() < 0.1:
            delivered.append(rng.choice(delivered))  # a duplicate delivery
        if not queue:
            queues.remove(queue)
    return delivered


def kpis(fold: Fold, interval="15", by="queue"):
    now = fold.latest + 60
    window = Window(0, now, now)
    settings = KpiSettings(abandon_mode="for", exclude_short_abandons=True)
    return compute(fold.tenants["acme"], settings, window, interval, by)


def everything(fold: Fold):
    return [kpis(fold, interval, by) for interval in ("15", "day") for by in
            ("tenant", "queue", "agent")]  # fmt: skip


@QUICK
@given(seed=st.integers(0, 10_000), order=st.randoms(use_true_random=False))
def test_any_delivery_order_with_duplicates_gives_the_same_kpis(log_factory, seed, order):
    log = a_day(log_factory(), seed)
    in_order = log.fold()
    delivered = shuffled_delivery(log.envelopes, order)
    shuffled = log.fold(delivered)
    assert everything(shuffled) == everything(in_order)
    assert shuffled.applied == in_order.applied == len(log.envelopes)
    assert shuffled.duplicates == len(delivered) - len(log.envelopes)


@QUICK
@given(seed=st.integers(0, 10_000))
def test_replaying_the_exported_log_gives_the_same_kpis(log_factory, seed):
    log = a_day(log_factory(), seed)
    replayed = Fold()
    lines = [to_json_line(envelope) for envelope in log.envelopes]
    assert offline.fold_lines(lines, replayed) == []
    assert everything(replayed) == everything(log.fold())


@QUICK
@given(seed=st.integers(0, 10_000))
def test_calls_are_conserved(log_factory, seed):
    """Every offered call ends answered, abandoned, exited or as a callback, once."""
    log = a_day(log_factory(), seed)
    fold = log.fold()
    for row in kpis(fold, "day", "queue"):
        ended = row["answered"] + row["abandoned"] + row["exited"] + row["callbacks_requested"]
        assert row["offered"] == ended + row["waiting"]
        assert row["waiting"] == 0
    [tenant] = kpis(fold, "all", "tenant")
    total = sum(1 for e in log.envelopes if e.type == "CallQueued")
    assert tenant["offered"] + tenant["short_abandoned"] == total
    assert 0 <= (tenant["occupancy"] or 0) <= 1


def test_envelope_attributes_are_what_the_fold_reads(log):
    envelope = log.add(ivr.CallArrived(call_id="c", ani="1", dnis="2"), "call:c")
    attributes = envelope_attributes(envelope)
    assert {"type", "tenant", "time", "streamid", "streamversion"} <= set(attributes)
