"""The post-call survey, pure: who is sampled, and the questions as a small decider.

Sampling is deterministic by call id (a hash, not a random draw), so replaying
routing's events makes the same choice. Each question is a gather of one key,
1 to 5; a wrong key or silence is asked again once, then the question is
skipped. Each answer is a ``SurveyAnswered``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Literal

from callcenter.events.catalogue.ivr import SurveyAnswered
from callcenter.ivr.domain.instructions import Gather, Hangup, Instruction, Say

Channel = Literal["ivr", "outbound"]
Status = Literal["pending", "dialing", "asking", "done", "unreached"]

MAX_ATTEMPTS = 2  # a question is asked again once


def sampled(call_id: str, rate: float) -> bool:
    """The same call is always in or out: a hash of its id against the rate."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(call_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str


@dataclass(frozen=True)
class Survey:
    call_id: str
    queue_id: str
    agent_id: str | None
    channel: Channel
    questions: tuple[Question, ...]
    language: str = "en-US"
    index: int = 0
    attempt: int = 1
    status: Status = "asking"

    @property
    def position(self) -> str:
        """Names the question being asked (a retried answer to it is recognised)."""
        return f"{self.index}.{self.attempt}"


@dataclass(frozen=True)
class Step:
    survey: Survey
    events: list[SurveyAnswered]
    instructions: list[Instruction]


RETRY = "Please press a key from 1 to 5."
THANKS = "Thank you for your answers. Goodbye."


def ask(survey: Survey, *, again: bool = False) -> list[Instruction]:
    """The current question (after a wrong key: the reminder first); the end when none is left."""
    if survey.index >= len(survey.questions):
        return [Say(text=THANKS, language=survey.language), Hangup()]
    prompts = [Say(text=survey.questions[survey.index].prompt, language=survey.language)]
    if again:
        prompts.insert(0, Say(text=RETRY, language=survey.language))
    return [Gather(min_digits=1, max_digits=1, finish_key="", timeout=5, prompts=prompts)]


def answer(survey: Survey, digits: str) -> Step:
    """A key pressed (``""``: nothing) for the current question."""
    if survey.status != "asking" or survey.index >= len(survey.questions):
        return Step(survey, [], [Hangup()])
    question = survey.questions[survey.index]
    if len(digits) == 1 and digits in "12345":
        event = SurveyAnswered(
            call_id=survey.call_id,
            agent_id=survey.agent_id,
            queue_id=survey.queue_id,
            question=question.id,
            score=int(digits),
        )
        return _next(survey, [event])
    if survey.attempt < MAX_ATTEMPTS:
        again = replace(survey, attempt=survey.attempt + 1)
        return Step(again, [], ask(again, again=True))
    return _next(survey, [])  # asked twice: skipped


def _next(survey: Survey, events: list[SurveyAnswered]) -> Step:
    after = replace(survey, index=survey.index + 1, attempt=1)
    if after.index >= len(after.questions):
        after = replace(after, status="done")
    return Step(after, events, ask(after))
