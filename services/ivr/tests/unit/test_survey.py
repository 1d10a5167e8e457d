"""The post-call survey, pure: deterministic sampling, 1-5 answers, one re-prompt, the end."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ivr.domain.instructions import Gather, Hangup, Say
from callcenter.ivr.domain.survey import RETRY, THANKS, Question, Survey, answer, ask, sampled

SURVEY = Survey(
    call_id="c1",
    queue_id="sales",
    agent_id="a1",
    channel="ivr",
    questions=(Question("resolved", "Was it solved?"), Question("polite", "Was the agent polite?")),
)


@settings(max_examples=50)
@given(st.text(min_size=1, max_size=40), st.floats(min_value=0, max_value=1))
def test_sampling_is_the_same_choice_every_time(call_id, rate):
    assert sampled(call_id, rate) == sampled(call_id, rate)
    assert sampled(call_id, 1.0) and not sampled(call_id, 0.0)


def test_sampling_keeps_about_the_rate():
    chosen = sum(sampled(f"call-{n}", 0.25) for n in range(4000))
    assert 850 < chosen < 1150


def test_answers_become_events_and_the_survey_ends_with_thanks():
    first = ask(SURVEY)
    assert first == [
        Gather(
            min_digits=1,
            max_digits=1,
            finish_key="",
            timeout=5,
            prompts=[Say(text="Was it solved?", language="en-US")],
        )
    ]
    step = answer(SURVEY, "4")
    assert [(e.question, e.score, e.agent_id, e.queue_id) for e in step.events] == [
        ("resolved", 4, "a1", "sales")
    ]
    assert step.instructions[0].prompts[0].text == "Was the agent polite?"
    last = answer(step.survey, "5")
    assert last.survey.status == "done"
    assert last.instructions == [Say(text=THANKS, language="en-US"), Hangup()]
    assert answer(last.survey, "3").events == []  # over: nothing more counts


def test_a_wrong_key_or_silence_is_asked_again_once_then_the_question_is_skipped():
    for wrong in ("9", "0", "", "12", "*"):
        again = answer(SURVEY, wrong)
        assert again.events == [] and again.survey.attempt == 2
        assert [p.text for p in again.instructions[0].prompts] == [RETRY, "Was it solved?"]
        skipped = answer(again.survey, wrong)
        assert skipped.events == [] and skipped.survey.index == 1 and skipped.survey.attempt == 1
    recovered = answer(answer(SURVEY, "7").survey, "2")
    assert [e.score for e in recovered.events] == [2]
