"""``/v1/flows``: versioned, validated flow documents; ``simulate`` runs one without a phone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Path, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from callcenter.events.envelope import format_time
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.api.deps import Designer, IvrDep, Viewer, bad_field
from callcenter.ivr.domain.engine import DipCompleted
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.domain.instructions import Instruction
from callcenter.ivr.domain.validation import check_flow
from callcenter.ivr.simulation import simulate
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import StoredFlow

FlowId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
MAX_DOCUMENT = 512 * 1024
MAX_VERSION = 2**31 - 1

router = APIRouter(tags=["flows"])


class FlowVersion(BaseModel):
    flow_id: str
    version: int
    created_at: str
    created_by: str
    versions: list[int]
    document: dict[str, Any]


class FlowProblemItem(BaseModel):
    node: str | None
    field: str
    reason: str


def parse_document(raw: bytes, content_type: str) -> dict[str, Any]:
    """JSON, or YAML when the request says so."""
    if len(raw) > MAX_DOCUMENT:
        raise bad_field("body", f"a flow document is at most {MAX_DOCUMENT} bytes")
    try:
        if "yaml" in content_type:
            document = yaml.safe_load(raw)
        else:
            document = json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise bad_field(
            "body", f"not a valid {'YAML' if 'yaml' in content_type else 'JSON'} document: {error}"
        ) from None
    if not isinstance(document, dict):
        raise bad_field("body", "a flow document is an object")
    return document


def flow_problem(errors: list[dict[str, Any]]) -> ProblemError:
    first = errors[0]
    where = f"node {first['node']!r}: " if first.get("node") else ""
    detail = f"{where}{first['field'] or 'flow'}: {first['reason']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return ProblemError(422, "Invalid flow", detail, errors=errors)


def validate_flow(document: dict[str, Any], known_queues: set[str] | None) -> Flow:
    """The flow, or a 422 listing every problem with its node."""
    try:
        flow = Flow.model_validate(document)
    except ValidationError as error:
        errors = []
        for item in error.errors():
            loc = [str(part) for part in item["loc"]]
            node = loc[1] if len(loc) > 1 and loc[0] == "nodes" else None
            errors.append({"node": node, "field": ".".join(loc), "reason": item["msg"]})
        raise flow_problem(errors) from None
    problems = check_flow(flow, known_queues)
    if problems:
        raise flow_problem(
            [{"node": p.node, "field": p.field, "reason": p.problem} for p in problems]
        )
    return flow


def _view(stored: StoredFlow, versions: list[int]) -> FlowVersion:
    return FlowVersion(
        flow_id=stored.flow_id,
        version=stored.version,
        created_at=stored.created_at,
        created_by=stored.created_by,
        versions=versions,
        document=stored.document,
    )


@router.put(
    "/flows/{flow_id}",
    response_model=FlowVersion,
    summary="Publish a new version of a flow (JSON, or YAML with Content-Type: application/yaml)",
    responses={
        200: {"description": "Unchanged: the latest version is identical"},
        201: {"description": "A new version was published"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_flow(
    flow_id: FlowId, request: Request, response: Response, principal: Designer, ivr: IvrDep
) -> FlowVersion:
    document = parse_document(await request.body(), request.headers.get("content-type", ""))
    async with ivr.db.read() as conn:
        known = await queries.known_queues(conn, principal.tenant)
    flow = validate_flow(document, known)
    normalized = flow.model_dump(mode="json", exclude_defaults=True)
    try:
        async with ivr.db.transaction() as conn:
            latest = await queries.latest_flow(conn, principal.tenant, flow_id)
            if latest is not None and latest.document == normalized:
                response.status_code = status.HTTP_200_OK
                versions = await queries.flow_versions(conn, principal.tenant, flow_id)
                return _view(latest, versions)
            stored = StoredFlow(
                flow_id=flow_id,
                version=(latest.version if latest else 0) + 1,
                document=normalized,
                created_at=format_time(datetime.now(UTC)),
                created_by=principal.subject,
            )
            await queries.add_flow_version(conn, principal.tenant, stored)
            versions = await queries.flow_versions(conn, principal.tenant, flow_id)
    except IntegrityError:
        raise ProblemError(
            409, "Concurrent publication", f"another version of {flow_id!r} was just published"
        ) from None
    response.status_code = status.HTTP_201_CREATED
    return _view(stored, versions)


@router.get("/flow-schema", summary="The JSON Schema of a flow document")
async def flow_schema(_: Viewer) -> dict[str, Any]:
    return Flow.model_json_schema()


@router.get("/flows/{flow_id}", response_model=FlowVersion, summary="The latest version")
async def get_flow(flow_id: FlowId, principal: Viewer, ivr: IvrDep) -> FlowVersion:
    async with ivr.db.read() as conn:
        latest = await queries.latest_flow(conn, principal.tenant, flow_id)
        if latest is None:
            raise ProblemError(404, "Unknown flow", f"flow {flow_id!r} does not exist")
        return _view(latest, await queries.flow_versions(conn, principal.tenant, flow_id))


@router.get(
    "/flows/{flow_id}/versions/{version}", response_model=FlowVersion, summary="One version"
)
async def get_flow_version(
    flow_id: FlowId,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    principal: Viewer,
    ivr: IvrDep,
) -> FlowVersion:
    async with ivr.db.read() as conn:
        stored = await queries.flow_version(conn, principal.tenant, flow_id, version)
        if stored is None:
            raise ProblemError(
                404, "Unknown flow version", f"flow {flow_id!r} has no version {version}"
            )
        return _view(stored, await queries.flow_versions(conn, principal.tenant, flow_id))


# -- simulate ---------------------------------------------------------------------


class ScriptItem(BaseModel):
    digits: str = Field(default="", pattern=r"^[0-9*#]{0,32}$")
    timeout: bool = False
    hangup: bool = False
    recording_url: str | None = Field(default=None, pattern=r"^https?://")
    duration: float = Field(default=0, ge=0)


class MockedDip(BaseModel):
    outcome: Literal["ok", "error", "timeout"] = "ok"
    body: Any = None


class SimulationRequest(BaseModel):
    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="default: the latest"
    )
    inputs: list[ScriptItem] = Field(default_factory=list, max_length=500)
    at: AwareDatetime | None = Field(default=None, description="the moment (business hours)")
    ani: str = Field(default="+15550000000", pattern=r"^\+?[0-9]{3,20}$")
    dnis: str = Field(default="+15550000001", pattern=r"^\+?[0-9]{3,20}$")
    dips: dict[str, MockedDip] = Field(
        default_factory=dict, description="answers of data dips by node id (else the URL is called)"
    )


class SimulatedStep(BaseModel):
    input: dict[str, Any] | None
    events: list[dict[str, Any]]
    instructions: list[Instruction]
    error: str | None = None


class SimulationResult(BaseModel):
    flow_id: str
    version: int
    status: str
    outcome: str | None
    node_id: str | None
    awaiting: str | None
    path: list[str]
    variables: dict[str, str]
    steps: list[SimulatedStep]


@router.post(
    "/flows/{flow_id}/simulate",
    response_model=SimulationResult,
    summary="Run a flow with scripted inputs: the path and the instructions, nothing stored",
)
async def simulate_flow(
    flow_id: FlowId, body: SimulationRequest, principal: Viewer, ivr: IvrDep
) -> SimulationResult:
    async with ivr.db.read() as conn:
        if body.version is None:
            stored = await queries.latest_flow(conn, principal.tenant, flow_id)
        else:
            stored = await queries.flow_version(conn, principal.tenant, flow_id, body.version)
    if stored is None:
        raise ProblemError(404, "Unknown flow", f"flow {flow_id!r} has no such version")
    flow = Flow.model_validate(stored.document)
    for node_id in body.dips:
        if node_id not in flow.nodes or flow.nodes[node_id].type != "http":
            raise bad_field(f"body.dips.{node_id}", "not an http node of this flow")
    run = await simulate(
        flow,
        flow_id,
        stored.version,
        [item.model_dump(exclude_defaults=True) for item in body.inputs],
        now=body.at or datetime.now(UTC),
        ani=body.ani,
        dnis=body.dnis,
        mocked_dips={
            node_id: DipCompleted(mock.outcome, body=mock.body)
            for node_id, mock in body.dips.items()
        },
        dip=ivr.control.dip,
    )
    state = run.state
    return SimulationResult(
        flow_id=flow_id,
        version=stored.version,
        status=state.status,
        outcome=state.outcome,
        node_id=state.node_id,
        awaiting=state.awaiting,
        path=list(state.path),
        variables=dict(state.variables),
        steps=[SimulatedStep(**step.__dict__) for step in run.steps],
    )
