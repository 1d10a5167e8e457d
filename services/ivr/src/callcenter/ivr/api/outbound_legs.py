"""``/v1/calls/{id}/outbound-status``: the JSON provider reports an outbound leg."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.api.calls import CALL_ID
from callcenter.ivr.api.deps import CallController, IvrDep
from callcenter.ivr.domain.instructions import Instruction
from callcenter.ivr.domain.outbound import ProviderStatus
from callcenter.ivr.outbound import LegNotFound

router = APIRouter(tags=["outbound"])


class LegReport(BaseModel):
    status: ProviderStatus = Field(description="as Twilio's CallStatus")
    answered_by: str | None = Field(
        default=None,
        pattern=r"^(human|machine_start|machine_end_beep|machine_end_silence|machine_end_other|fax|unknown)$",
        description="answering-machine detection's verdict (Twilio's AnsweredBy)",
    )


class LegView(BaseModel):
    call_id: str
    outcome: str | None = Field(description="answered, no_answer, busy, machine, failed")
    ended: bool = Field(description="the answered callee hung up")
    instructions: list[Instruction] = Field(
        description="for an answered leg: what to do with it now (connect, enqueue, or the "
        "mandatory message and hang-up)"
    )


@router.post(
    "/calls/{call_id}/outbound-status",
    response_model=LegView,
    summary="What became of an outbound leg (retries change nothing)",
)
async def outbound_status(
    call_id: Annotated[str, Path(pattern=CALL_ID)],
    body: LegReport,
    principal: CallController,
    ivr: IvrDep,
) -> LegView:
    try:
        reported = await ivr.outbound.report(
            principal.tenant, call_id, body.status, body.answered_by
        )
    except LegNotFound:
        raise ProblemError(404, "Unknown leg", f"no outbound leg {call_id!r}") from None
    return LegView(
        call_id=call_id,
        outcome=reported.leg.outcome,
        ended=reported.leg.ended,
        instructions=reported.instructions,
    )
