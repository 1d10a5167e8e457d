"""Whatever the caller does, a call ends within the flow's bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ivr.demo import demo_flow
from callcenter.ivr.domain.engine import (
    CallState,
    DipCompleted,
    HangUp,
    Input,
    RecordingCompleted,
    StartCall,
    decide,
    evolve,
)

FLOW = demo_flow()
keys = st.text(alphabet="0123456789*#", max_size=12)
inputs = st.one_of(
    keys.map(lambda digits: Input(digits)),
    st.just(Input(timeout=True)),
)
dips = st.sampled_from(
    [DipCompleted("ok", {"balance": 3}), DipCompleted("timeout"), DipCompleted("ok", {})]
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(script=st.lists(inputs, max_size=FLOW.max_steps + 5), now=moments, dip=dips)
def test_any_input_sequence_ends_the_ivr_within_the_bound(script, now, dip):
    state = CallState(flow=FLOW)
    for event in decide(StartCall("c", "+1555", "+15550100", "main", 1), state, now):
        state = evolve(state, event)
    used = 0
    for command in script:
        if state.status != "in_ivr":
            break
        if state.awaiting == "dip":
            command = dip
        elif state.awaiting == "recording":
            command = RecordingCompleted("https://r.example/v.wav", 3.0)
        else:
            used += 1
        for event in decide(command, state, now + timedelta(seconds=used)):
            state = evolve(state, event)
        assert state.steps <= FLOW.max_steps + 1
    if used >= FLOW.max_steps:
        assert state.status != "in_ivr"
    if state.status == "in_ivr":  # the caller can always leave: a terminal outcome
        for event in decide(HangUp(), state, now):
            state = evolve(state, event)
    assert state.outcome in {"queued", "self_served", "voicemail", "callback", "hung_up"}
