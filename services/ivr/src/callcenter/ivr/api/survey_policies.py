"""``/v1/survey-policies/{queue_id}``: which calls of a queue are surveyed after the agent, how."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.api.deps import Designer, IvrDep, Viewer
from callcenter.ivr.surveys import load_policy, save_policy

router = APIRouter(tags=["surveys"])
QueueId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]


class SurveyQuestion(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="names the answers (KPIs)")
    prompt: str = Field(min_length=1, max_length=500, description="said; keys 1 to 5 answer")


class SurveyPolicy(BaseModel):
    sample_rate: float = Field(ge=0, le=1, description="share of the calls surveyed (by call id)")
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=10)
    channel: Literal["ivr", "outbound"] = Field(
        description="ivr: the caller stays on the line; outbound: called back after delay"
    )
    delay: float = Field(default=0, ge=0, le=7 * 86400, description="seconds (outbound)")
    language: str = Field(default="en-US", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

    @model_validator(mode="after")
    def _distinct_questions(self) -> SurveyPolicy:
        ids = [question.id for question in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: each id once")
        return self


class SurveyPolicyView(SurveyPolicy):
    queue_id: str


@router.put(
    "/survey-policies/{queue_id}",
    response_model=SurveyPolicyView,
    summary="Set the queue's post-call survey (sampled calls ended by the agent)",
)
async def put_survey_policy(
    queue_id: QueueId, body: SurveyPolicy, principal: Designer, ivr: IvrDep
) -> SurveyPolicyView:
    async with ivr.db.transaction() as conn:
        await save_policy(
            conn, principal.tenant, queue_id, body.model_dump(mode="json"), datetime.now(UTC)
        )
    return SurveyPolicyView(queue_id=queue_id, **body.model_dump())


@router.get(
    "/survey-policies/{queue_id}",
    response_model=SurveyPolicyView,
    summary="The queue's post-call survey",
)
async def get_survey_policy(queue_id: QueueId, principal: Viewer, ivr: IvrDep) -> SurveyPolicyView:
    async with ivr.db.read() as conn:
        policy = await load_policy(conn, principal.tenant, queue_id)
    if policy is None:
        raise ProblemError(404, "No survey policy", f"queue {queue_id!r} has no survey policy")
    return SurveyPolicyView(queue_id=queue_id, **policy)
