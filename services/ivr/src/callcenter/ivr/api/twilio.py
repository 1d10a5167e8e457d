"""``/v1/twilio/*``: Twilio's voice webhooks in, TwiML out.

Point a Twilio number's "A call comes in" webhook at ``/v1/twilio/voice`` and
its status callback at ``/v1/twilio/status``. The tenant is the owner of the
dialed number (``To``); when it configured its Twilio auth token, every request
must carry a valid ``X-Twilio-Signature`` (HMAC-SHA1 of the URL and the form).
"""

from __future__ import annotations

import hmac
import re
import time
from urllib.parse import parse_qsl, urlparse

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator, add_port, remove_port
from twilio.twiml.voice_response import VoiceResponse

from callcenter.events.kit.problems import ProblemError
from callcenter.ivr import recordings
from callcenter.ivr.api.calls import with_consent
from callcenter.ivr.api.deps import CallRefusal, IvrDep, bad_field, call_problem, idempotency
from callcenter.ivr.api.twiml import to_twiml
from callcenter.ivr.desk import CallNotFound
from callcenter.ivr.domain.instructions import Answer, Hangup
from callcenter.ivr.domain.outbound import PROVIDER_STATUSES
from callcenter.ivr.hold import NotQueued, on_hold
from callcenter.ivr.outbound import load_leg
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding

TWIML = "application/xml"
ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}
_FIELD = {
    "CallSid": r"^[A-Za-z0-9_.:-]{1,64}$",
    "From": r"^(\+?[0-9]{3,20}|anonymous|client:[A-Za-z0-9_.-]{1,64})$",
    "To": r"^\+?[0-9]{3,20}$",
    "Digits": r"^[0-9*#]{0,32}$",
    "RecordingUrl": r"^https?://.{1,2000}$",
    "RecordingDuration": r"^[0-9]{1,6}$",
    "CallStatus": r"^[a-z-]{1,20}$",
    "QueuePosition": r"^[0-9]{1,6}$",
    "QueueTime": r"^[0-9]{1,9}$",
    "QueueResult": r"^[a-z-]{1,30}$",
    "AnsweredBy": r"^[a-z_]{1,30}$",
    "RecordingStatus": r"^[a-z-]{1,20}$",
}

router = APIRouter(prefix="/twilio", tags=["twilio"])


def _form_body(*fields: str, required: tuple[str, ...]) -> dict[str, object]:
    properties = {name: {"type": "string", "pattern": _FIELD[name]} for name in fields}
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


TWIML_RESPONSE = {200: {"description": "TwiML", "content": {TWIML: {"schema": {"type": "string"}}}}}


async def _form(request: Request, *required: str) -> dict[str, str]:
    """The form, checked: required fields present and well-formed."""
    params = dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )
    errors = [
        {"field": f"body.{name}", "reason": "required" if name not in params else "malformed"}
        for name in (*required, *(n for n in _FIELD if n in params and n not in required))
        if name not in params or not re.fullmatch(_FIELD[name], params[name])
    ]
    if errors:
        detail = f"{errors[0]['field']}: {errors[0]['reason']}"
        raise ProblemError(422, "Invalid Twilio request", detail, errors=errors)
    return params


def twilio_signed(token: str, url: str, params: dict[str, str], signature: str) -> bool:
    """Twilio's HMAC-SHA1 of the URL (with or without its port) and the sorted form,
    compared in constant time (``hmac.compare_digest``)."""
    validator = RequestValidator(token)
    parsed = urlparse(url)
    given = signature.encode()
    # Both candidates are always computed and compared: the time does not tell which.
    matches = [
        hmac.compare_digest(validator.compute_signature(candidate, params).encode(), given)
        for candidate in (remove_port(parsed), add_port(parsed))
    ]
    return bool(signature) and any(matches)


def _check_signature(request: Request, ivr: IvrDep, token: str, params: dict[str, str]) -> None:
    url = _public_url(request, ivr.settings.public_url)
    signature = request.headers.get("x-twilio-signature", "")
    if not twilio_signed(token, url, params, signature):
        raise ProblemError(403, "Forbidden", "X-Twilio-Signature does not match the request")


async def _webhook(request: Request, ivr: IvrDep, *required: str) -> tuple[dict[str, str], Binding]:
    """The form, checked: required fields present and well-formed, the number known, signed."""
    params = await _form(request, *required)
    bound = await ivr.bindings.get(params["To"])
    if bound is None:
        raise bad_field("body.To", f"no flow is bound to number {params['To']}")
    async with ivr.db.read() as conn:
        telephony = await queries.load_telephony(conn, bound.tenant)
    if telephony.twilio_auth_token:
        _check_signature(request, ivr, telephony.twilio_auth_token, params)
    elif ivr.settings.require_twilio_signatures:
        raise ProblemError(403, "Forbidden", "the tenant has no Twilio auth token")
    return params, bound


def _public_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio called (behind a proxy: the configured public base URL)."""
    if not public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_url.rstrip('/')}{request.url.path}{query}"


def _twiml(request: Request, answer: Answer) -> Response:
    # The step in the action URL makes a retried gather recognisable as the same one.
    base = f"{request.url_for('twilio_gather').path}?step={answer.step}"
    body = to_twiml(
        answer.instructions,
        gather_url=base,
        recording_url=str(request.url_for("twilio_recording").path),
        wait_url=str(request.url_for("twilio_wait").path),
        next_url=str(request.url_for("twilio_next").path),
    )
    return Response(body, media_type=TWIML)


def _survey_position(request: Request) -> str | None:
    """The survey question a gather answers (from our action URL), if it names one."""
    position = request.query_params.get("survey", "")
    return position if re.fullmatch(r"[0-9]{1,3}\.[0-9]", position) else None


def _survey_twiml(request: Request, said, position: str) -> Response:  # type: ignore[no-untyped-def]
    gather = f"{request.url_for('twilio_gather').path}?survey={position}"
    return Response(to_twiml(said, gather_url=gather, recording_url=""), media_type=TWIML)


def _gather_key(request: Request, call_id: str) -> str | None:
    """The gather's step (from our action URL) names it; else Twilio's retry token."""
    step = request.query_params.get("step", "")
    if step.isdigit() and len(step) < 10:
        return f"twilio:gather:{call_id}:{step}"
    token = request.headers.get("i-twilio-idempotency-token", "")
    # a token we could not store as a key is ignored rather than failing Twilio's request
    return f"twilio:token:{token}" if re.fullmatch(r"[\x21-\x7e]{1,180}", token) else None


@router.post(
    "/voice",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "From", "To", required=("CallSid", "From", "To")),
    summary="A call comes in",
)
async def twilio_voice(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "From", "To")
    call_id = params["CallSid"]
    # Twilio retries with the same CallSid: the call's start is done once.
    key = idempotency(f"twilio:voice:{call_id}", "start", params["From"], params["To"])
    try:
        answer, settings = await ivr.control.start(
            bound.tenant, call_id, params["From"], bound, key
        )
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    return _twiml(request, await with_consent(ivr, bound.tenant, answer, settings))


@router.post(
    "/gather",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "To", "Digits", required=("CallSid", "To")),
    summary="The caller pressed keys (or nothing)",
    name="twilio_gather",
)
async def twilio_gather(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "To")
    call_id = params["CallSid"]
    digits = params.get("Digits", "")
    surveyed = await ivr.surveys.input(bound.tenant, call_id, digits, _survey_position(request))
    if surveyed is not None:
        return _survey_twiml(request, surveyed.instructions, surveyed.position)
    key = idempotency(_gather_key(request, call_id), "input", call_id, digits)
    try:
        answer = await ivr.control.input(bound.tenant, call_id, digits, not digits, key)
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    return _twiml(request, answer)


@router.post(
    "/recording",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(
        "CallSid",
        "To",
        "RecordingUrl",
        "RecordingDuration",
        required=("CallSid", "To", "RecordingUrl"),
    ),
    summary="A voicemail was recorded",
    name="twilio_recording",
)
async def twilio_recording(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "To", "RecordingUrl")
    call_id = params["CallSid"]
    duration = float(params.get("RecordingDuration") or 0)
    url = params["RecordingUrl"]
    key = idempotency(f"twilio:recording:{call_id}", "recording", call_id, url, duration)
    try:
        answer = await ivr.control.recording(bound.tenant, call_id, url, duration, key)
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    return _twiml(request, answer)


@router.post(
    "/status",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(
        "CallSid", "To", "CallStatus", required=("CallSid", "To", "CallStatus")
    ),
    summary="Call status callback: a finished call is a hang-up",
)
async def twilio_status(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "To", "CallStatus")
    if params["CallStatus"] in ENDED:
        try:
            await ivr.control.hang_up(bound.tenant, params["CallSid"])
        except CallRefusal as error:
            problem = call_problem(error, params["CallSid"])
            if problem.status != 409:  # already ended: Twilio may tell us twice
                raise problem from None
    return Response(to_twiml([], gather_url="", recording_url=""), media_type=TWIML)


@router.post(
    "/wait",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(
        "CallSid", "To", "QueuePosition", "QueueTime", required=("CallSid", "To")
    ),
    summary="The <Enqueue> wait URL: position, expected wait, callback offer, hold music",
    name="twilio_wait",
)
async def twilio_wait(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "To")
    call_id = params["CallSid"]
    try:
        state, told = await ivr.control.waiting(bound.tenant, call_id)
        hold = on_hold(
            state,
            told,
            time.time(),
            music=ivr.settings.hold_music,
            provider_position=int(params["QueuePosition"]) if "QueuePosition" in params else None,
        )
    except CallRefusal as error:
        raise call_problem(error, call_id) from None
    except NotQueued as error:
        raise ProblemError(409, "Call is not queued", str(error), reason="not_queued") from None
    gather = f"{request.url_for('twilio_gather').path}?step={state.steps}"
    body = to_twiml(hold.instructions, gather_url=gather, recording_url="", on_silence=False)
    return Response(body, media_type=TWIML)


# The caller left the queue without routing's word yet (its event is on the way):
# wait a second and ask again, this many times, before hanging up.
NEXT_POLLS = 10
GONE = {"hangup", "queue-full", "system-error", "error"}


@router.post(
    "/next",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "To", "QueueResult", required=("CallSid", "To")),
    summary="The <Enqueue> action: the caller left the queue (after the agent's part); what next",
    name="twilio_next",
)
async def twilio_next(request: Request, ivr: IvrDep) -> Response:
    params, bound = await _webhook(request, ivr, "CallSid", "To")
    call_id = params["CallSid"]
    if params.get("QueueResult") in GONE:
        return Response(to_twiml([], gather_url="", recording_url=""), media_type=TWIML)
    async with ivr.db.read() as conn:
        known = await queries.load_call(conn, bound.tenant, call_id)
        connection = await queries.load_connection(conn, bound.tenant, call_id)
    if known is None:
        raise call_problem(CallNotFound(call_id), call_id)
    surveyed = await ivr.surveys.current(bound.tenant, call_id)
    if surveyed is not None:  # the agent ended: the caller is asked the survey
        return _survey_twiml(request, surveyed.instructions, surveyed.position)
    if connection is not None and connection.instructions:
        gather = f"{request.url_for('twilio_gather').path}?step={known.snapshot['steps']}"
        body = to_twiml(
            connection.instructions,
            gather_url=gather,
            recording_url="",
            wait_url=str(request.url_for("twilio_wait").path),
            next_url=str(request.url_for("twilio_next").path),
        )
        return Response(body, media_type=TWIML)
    polls = request.query_params.get("poll", "0")
    done = int(polls) if polls.isdigit() and len(polls) < 4 else NEXT_POLLS
    response = VoiceResponse()
    if done >= NEXT_POLLS:
        response.hangup()
    else:  # the caller stays on the line until routing says what happens
        response.pause(length=1)
        response.redirect(f"{request.url_for('twilio_next').path}?poll={done + 1}", method="POST")
    return Response(str(response), media_type=TWIML)


# -- outbound legs (placed through Twilio's REST API) ---------------------------------
# Their URLs name the tenant and our call id (Twilio's CallSid is its own); every
# request must be signed with the tenant's auth token.

_LEG_QUERY = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


async def _leg_webhook(
    request: Request, ivr: IvrDep, *required: str
) -> tuple[dict[str, str], str, str]:
    params = await _form(request, *required)
    tenant = request.query_params.get("tenant", "")
    call_id = request.query_params.get("call_id", "")
    for name, value in (("tenant", tenant), ("call_id", call_id)):
        if not _LEG_QUERY.fullmatch(value):
            raise bad_field(f"query.{name}", "required" if not value else "malformed")
    async with ivr.db.read() as conn:
        telephony = await queries.load_telephony(conn, tenant)
        leg = await load_leg(conn, tenant, call_id)
    if not telephony.twilio_auth_token:
        raise ProblemError(403, "Forbidden", "the tenant has no Twilio auth token")
    _check_signature(request, ivr, telephony.twilio_auth_token, params)
    if leg is None:
        raise ProblemError(404, "Unknown leg", f"no outbound leg {call_id!r}")
    return params, tenant, call_id


def _leg_twiml(request: Request, tenant: str, call_id: str, said, position: str = "") -> Response:  # type: ignore[no-untyped-def]
    query = f"?tenant={tenant}&call_id={call_id}"
    survey = f"&survey={position}" if position else ""
    body = to_twiml(
        said,
        gather_url=f"{request.url_for('twilio_outbound_gather').path}{query}{survey}",
        recording_url="",
        wait_url=f"{request.url_for('twilio_outbound_wait').path}{query}",
        next_url=f"{request.url_for('twilio_outbound_next').path}{query}",
    )
    return Response(body, media_type=TWIML)


async def _leg_report(request: Request, ivr: IvrDep, default: str) -> Response:
    params, tenant, call_id = await _leg_webhook(request, ivr, "CallSid")
    status = params.get("CallStatus") or default
    if status not in PROVIDER_STATUSES:
        raise bad_field("body.CallStatus", f"not a call status: {status!r}")
    reported = await ivr.outbound.report(tenant, call_id, status, params.get("AnsweredBy"))
    surveyed = await ivr.surveys.current(tenant, call_id) if reported.purpose == "survey" else None
    position = surveyed.position if surveyed is not None else ""
    return _leg_twiml(request, tenant, call_id, reported.instructions, position)


@router.post(
    "/outbound/answer",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "CallStatus", "AnsweredBy", required=("CallSid",)),
    summary="An outbound leg was answered (the create-call Url): connect it",
    name="twilio_outbound_answer",
)
async def twilio_outbound_answer(request: Request, ivr: IvrDep) -> Response:
    return await _leg_report(request, ivr, "in-progress")


@router.post(
    "/outbound/status",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(
        "CallSid", "CallStatus", "AnsweredBy", required=("CallSid", "CallStatus")
    ),
    summary="An outbound leg's status callback: answered, busy, no-answer, failed, completed",
    name="twilio_outbound_status",
)
async def twilio_outbound_status(request: Request, ivr: IvrDep) -> Response:
    await _leg_report(request, ivr, "")
    return Response(to_twiml([], gather_url="", recording_url=""), media_type=TWIML)


@router.post(
    "/outbound/wait",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", required=("CallSid",)),
    summary="An answered leg waiting for an agent: the mandatory message once routing gives up",
    name="twilio_outbound_wait",
)
async def twilio_outbound_wait(request: Request, ivr: IvrDep) -> Response:
    _, tenant, call_id = await _leg_webhook(request, ivr, "CallSid")
    async with ivr.db.read() as conn:
        connection = await queries.load_connection(conn, tenant, call_id)
    if connection is not None and connection.state == "ended" and connection.instructions:
        return _leg_twiml(request, tenant, call_id, connection.instructions)
    response = VoiceResponse()
    response.pause(length=1)  # routing decides within seconds; asked again after this
    return Response(str(response), media_type=TWIML)


@router.post(
    "/outbound/next",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "QueueResult", required=("CallSid",)),
    summary="An answered leg left its queue (after the agent's part): what next",
    name="twilio_outbound_next",
)
async def twilio_outbound_next(request: Request, ivr: IvrDep) -> Response:
    params, tenant, call_id = await _leg_webhook(request, ivr, "CallSid")
    if params.get("QueueResult") in GONE:
        return Response(to_twiml([], gather_url="", recording_url=""), media_type=TWIML)
    surveyed = await ivr.surveys.current(tenant, call_id)
    if surveyed is not None:  # the agent ended: the callee is asked the survey
        return _leg_twiml(request, tenant, call_id, surveyed.instructions, surveyed.position)
    async with ivr.db.read() as conn:
        connection = await queries.load_connection(conn, tenant, call_id)
    said = connection.instructions if connection is not None else None
    return _leg_twiml(request, tenant, call_id, said or [Hangup()])


@router.post(
    "/outbound/gather",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body("CallSid", "Digits", required=("CallSid",)),
    summary="A key pressed on an outbound leg (an outbound survey's answer)",
    name="twilio_outbound_gather",
)
async def twilio_outbound_gather(request: Request, ivr: IvrDep) -> Response:
    params, tenant, call_id = await _leg_webhook(request, ivr, "CallSid")
    digits = params.get("Digits", "")
    surveyed = await ivr.surveys.input(tenant, call_id, digits, _survey_position(request))
    if surveyed is None:  # nothing asks on this leg (any more)
        return _leg_twiml(request, tenant, call_id, [Hangup()])
    return _leg_twiml(request, tenant, call_id, surveyed.instructions, surveyed.position)


# -- recordings ------------------------------------------------------------------------


@router.post(
    "/recording-status",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(
        "RecordingUrl", "RecordingDuration", "RecordingStatus", required=("RecordingUrl",)
    ),
    summary="Twilio's RecordingStatusCallback: the file of a recording (signed)",
    name="twilio_recording_status",
)
async def twilio_recording_status(request: Request, ivr: IvrDep) -> Response:
    params = await _form(request, "RecordingUrl")
    tenant = request.query_params.get("tenant", "")
    recording_id = request.query_params.get("recording_id", "")
    for name, value in (("tenant", tenant), ("recording_id", recording_id)):
        if not _LEG_QUERY.fullmatch(value):
            raise bad_field(f"query.{name}", "required" if not value else "malformed")
    async with ivr.db.read() as conn:
        telephony = await queries.load_telephony(conn, tenant)
    if not telephony.twilio_auth_token:
        raise ProblemError(403, "Forbidden", "the tenant has no Twilio auth token")
    _check_signature(request, ivr, telephony.twilio_auth_token, params)
    if params.get("RecordingStatus", "completed") == "completed":
        duration = float(params.get("RecordingDuration") or 0)
        try:
            _, appended = await recordings.stopped(
                ivr.db, tenant, recording_id, params["RecordingUrl"], duration, time.time()
            )
        except recordings.RecordingNotFound:
            raise ProblemError(
                404, "Unknown recording", f"recording {recording_id!r} does not exist"
            ) from None
        if appended:
            ivr.committed()
    return Response(to_twiml([], gather_url="", recording_url=""), media_type=TWIML)
