"""``/v1/calls``: the call-control edge a telephony provider (or its adapter) talks to."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, status
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from callcenter.events.catalogue.ivr import IvrNodeEntered
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr import recordings
from callcenter.ivr.api.call_route import CallRoute
from callcenter.ivr.api.deps import (
    CallController,
    CallRefusal,
    Ivr,
    IvrDep,
    Viewer,
    bad_field,
    call_problem,
    idempotency,
)
from callcenter.ivr.desk import CallNotFound, SurveyAsks
from callcenter.ivr.domain.engine import CallState
from callcenter.ivr.domain.instructions import Answer, Instruction, Say
from callcenter.ivr.domain.recording import sensitive_moves
from callcenter.ivr.hold import NotQueued, on_hold
from callcenter.ivr.recordings import RecordingSettings
from callcenter.ivr.store import queries
from callcenter.ivr.surveys import Reply

PHONE = r"^\+?[0-9]{3,20}$"
CALL_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
CallId = Annotated[str, Path(pattern=CALL_ID)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a retry with the same key gets the first answer and changes nothing",
    ),
]

# What the telephony side sends as a call goes (FastAPI's request handling cost more
# than the rest of such a request: see call_route), and what the others look at.
control = APIRouter(tags=["calls"], route_class=CallRoute)
router = APIRouter(tags=["calls"])


class NewCall(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    ani: str = Field(
        validation_alias=AliasChoices("from", "ani"), pattern=PHONE, description="caller (ANI)"
    )
    dnis: str = Field(
        validation_alias=AliasChoices("to", "dnis"), pattern=PHONE, description="dialed (DNIS)"
    )
    call_id: str | None = Field(default=None, pattern=CALL_ID)


class CallInput(BaseModel):
    digits: str = Field(default="", pattern=r"^[0-9*#]{0,32}$")
    timeout: bool = Field(default=False, description="the caller pressed nothing in time")


class RecordingDone(BaseModel):
    recording_url: str = Field(pattern=r"^https?://", max_length=2000)
    duration: float = Field(ge=0, le=86400, description="seconds")


class CallView(BaseModel):
    call_id: str
    status: str
    flow_id: str
    flow_version: int
    started_at: str | None
    node_id: str | None
    awaiting: str | None
    attempt: int
    outcome: str | None
    queue_id: str | None
    hung_up_by: str | None
    path: list[str]
    variables: dict[str, str]


@control.post(
    "/calls",
    status_code=status.HTTP_201_CREATED,
    response_model=Answer,
    summary="A call arrives: start the flow bound to the dialed number",
)
async def create_call(
    body: NewCall, principal: CallController, ivr: IvrDep, key: IdempotencyKey = None
) -> Answer:
    keyed = idempotency(key, "start", body.ani, body.dnis, body.call_id)
    call_id = body.call_id or uuid.uuid4().hex
    bound = await ivr.bindings.get(body.dnis)
    if bound is None or bound.tenant != principal.tenant:
        raise bad_field("body.to", f"no flow is bound to number {body.dnis}")
    try:
        started, settings = await ivr.control.start(
            principal.tenant, call_id, body.ani, bound, keyed
        )
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    return await with_consent(ivr, principal.tenant, started, settings)


@control.post("/calls/{call_id}/input", response_model=Answer, summary="Keys, or no keys in time")
async def call_input(
    call_id: CallId,
    body: CallInput,
    principal: CallController,
    ivr: IvrDep,
    key: IdempotencyKey = None,
) -> Answer:
    keyed = idempotency(key, "input", call_id, body.digits, body.timeout)
    tenant = principal.tenant
    try:
        try:
            return await ivr.control.input(
                tenant, call_id, body.digits, body.timeout, keyed, survey=True
            )
        except SurveyAsks:
            pass
        # After the agent, a survey may be asking on this call: its keys are the answers
        # (unless it stopped asking meanwhile).
        digits = "" if body.timeout else body.digits
        surveyed = await ivr.surveys.input(tenant, call_id, digits, key=keyed)
        if surveyed is not None:
            return survey_answer(surveyed)
        return await ivr.control.input(tenant, call_id, body.digits, body.timeout, keyed)
    except CallRefusal as error:
        raise call_problem(error, call_id) from None


@control.post("/calls/{call_id}/recording", response_model=Answer, summary="A voicemail ended")
async def call_recording(
    call_id: CallId,
    body: RecordingDone,
    principal: CallController,
    ivr: IvrDep,
    key: IdempotencyKey = None,
) -> Answer:
    keyed = idempotency(key, "recording", call_id, body.recording_url, body.duration)
    try:
        return await ivr.control.recording(
            principal.tenant, call_id, body.recording_url, body.duration, keyed
        )
    except CallRefusal as error:
        raise call_problem(error, call_id) from None


@control.post("/calls/{call_id}/hangup", response_model=Answer, summary="The caller hung up")
async def call_hangup(
    call_id: CallId, principal: CallController, ivr: IvrDep, key: IdempotencyKey = None
) -> Answer:
    keyed = idempotency(key, "hangup", call_id)
    try:
        return await ivr.control.hang_up(principal.tenant, call_id, keyed)
    except CallRefusal as error:
        raise call_problem(error, call_id) from None


@router.get(
    "/calls/{call_id}", response_model=CallView, summary="Where the caller is, and the path"
)
async def get_call(call_id: CallId, principal: Viewer, ivr: IvrDep) -> CallView:
    async with ivr.db.read() as conn:
        row = await queries.load_call(conn, principal.tenant, call_id)
    if row is None:
        raise call_problem(CallNotFound(call_id), call_id)
    snapshot: dict[str, Any] = row.snapshot
    return CallView(
        **{key: snapshot[key] for key in CallView.model_fields if key in snapshot},
    )


class HoldView(BaseModel):
    call_id: str
    queue_id: str
    position: int | None = Field(description="in the queue, as routing keeps it (1: next)")
    ewt: float | None = Field(description="seconds still to wait, estimated by routing")
    callback_offered: bool = Field(
        description="the gather offers a callback: its digit goes to /input"
    )
    instructions: list[Instruction]


@router.get(
    "/calls/{call_id}/hold",
    response_model=HoldView,
    summary="While queued: what to tell the caller (position, wait, callback offer, music)",
)
async def call_hold(call_id: CallId, principal: CallController, ivr: IvrDep) -> HoldView:
    try:
        state, told = await ivr.control.waiting(principal.tenant, call_id)
        hold = on_hold(state, told, time.time(), music=ivr.settings.hold_music)
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    except NotQueued as error:
        raise ProblemError(409, "Call is not queued", str(error), reason="not_queued") from None
    return HoldView(
        call_id=call_id,
        queue_id=hold.queue_id,
        position=hold.position,
        ewt=hold.ewt,
        callback_offered=hold.callback_offered,
        instructions=hold.instructions,
    )


class NextView(BaseModel):
    call_id: str
    state: str = Field(
        description="queued, connected, transferring (waits again), external, ended (routing's)"
    )
    queue_id: str
    agent_id: str | None = Field(description="the agent with the caller now")
    instructions: list[Instruction] = Field(
        description="what the caller does next (empty: stays where they are)"
    )


@router.get(
    "/calls/{call_id}/next",
    response_model=NextView,
    summary="Once routing has the call: what the caller does next (after a transfer, the end)",
)
async def call_next(call_id: CallId, principal: CallController, ivr: IvrDep) -> NextView:
    async with ivr.db.read() as conn:
        known = await queries.is_ours(conn, principal.tenant, call_id)
        connection = await queries.load_connection(conn, principal.tenant, call_id)
    if not known:
        raise call_problem(CallNotFound(call_id), call_id)
    if connection is None:
        raise ProblemError(
            409,
            "Call is not with routing",
            f"routing has not queued call {call_id!r}",
            reason="not_queued",
        )
    return NextView(
        call_id=call_id,
        state=connection.state,
        queue_id=connection.queue_id,
        agent_id=connection.agent_id,
        instructions=list(connection.instructions or ()),
    )


def survey_answer(reply: Reply) -> Answer:
    """A survey's reply in the shape of any call command's answer (status ``survey``)."""
    return Answer(
        call_id=reply.answer_id,
        status="survey",
        node_id=None,
        awaiting="input" if reply.asking else None,
        outcome=None,
        step=0,
        instructions=reply.instructions,
    )


async def with_consent(
    ivr: Ivr, tenant: str, started: Answer, settings: RecordingSettings
) -> Answer:
    """A tenant that records calls says so first (its consent prompt); recorded whole, the
    call's recording starts now (paused at once if the flow starts in a sensitive node)."""
    now = time.time()
    if await recordings.call_started(ivr.db, tenant, started.call_id, settings, now):
        ivr.committed()
        if started.node_id and ivr.control.sensitive is not None:
            state, _ = await ivr.control.waiting(tenant, started.call_id)
            moves = sensitive_moves(state.flow, None, [_entered(state)])
            if moves:
                await ivr.control.sensitive(tenant, started.call_id, moves)
    if not settings.enabled or not settings.consent_prompt:
        return started
    consent = Say(text=settings.consent_prompt, language=settings.language)
    return started.model_copy(update={"instructions": [consent, *started.instructions]})


def _entered(state: CallState) -> IvrNodeEntered:
    node = state.node
    return IvrNodeEntered(
        call_id=state.call_id, node_id=state.node_id or "", node_type=node.type if node else ""
    )
