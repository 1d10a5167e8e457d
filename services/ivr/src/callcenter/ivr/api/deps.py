"""What the routes share: the IVR's parts, the roles, and domain errors as problems."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from callcenter.events.db import Database
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.bindings import Bindings
from callcenter.ivr.calls import CallControl
from callcenter.ivr.desk import CallNotFound, FlowCache, Idempotency, KeyInProgress, KeyReused
from callcenter.ivr.domain.engine import CommandRejected
from callcenter.ivr.outbound import Outbound
from callcenter.ivr.reaper import Reaper
from callcenter.ivr.settings import Settings
from callcenter.ivr.surveys import Surveys


@dataclass(frozen=True)
class Ivr:
    settings: Settings
    db: Database
    flows: FlowCache
    control: CallControl
    bindings: Bindings
    reaper: Reaper
    outbound: Outbound
    surveys: Surveys
    committed: Callable[[], None]  # wakes the relay after events were appended


async def _ivr(request: Request) -> Ivr:
    return request.app.state.ivr


IvrDep = Annotated[Ivr, Depends(_ivr)]


# The telephony side (an integrator's adapter) and admins drive calls.
call_controller = require_roles(Role.INTEGRATOR, Role.ADMIN)
CallController = Annotated[Principal, Depends(call_controller)]
Designer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.INTEGRATOR))]
Viewer = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR))]


# What a call command can be refused for; anything else is a server error.
CallRefusal = (CallNotFound, CommandRejected, KeyReused, KeyInProgress)
KEY_HEADER = "header.Idempotency-Key"


def call_problem(
    error: CallNotFound | CommandRejected | KeyReused | KeyInProgress, call_id: str
) -> ProblemError:
    """A domain refusal as the problem the client sees (nothing was changed)."""
    match error:
        case CallNotFound():
            return ProblemError(404, "Unknown call", f"call {call_id!r} does not exist")
        case KeyReused():
            return bad_field(KEY_HEADER, str(error), "Idempotency-Key reused")
        case KeyInProgress():
            return ProblemError(409, "Request in progress", str(error), reason="in_progress")
    return ProblemError(
        409, "Call cannot take this", error.detail, reason=error.reason, call_id=call_id
    )


def idempotency(key: str | None, *request: object) -> Idempotency | None:
    """The request's Idempotency-Key and what the request was (to refuse the key's reuse)."""
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise bad_field(KEY_HEADER, "1 to 200 printable ASCII characters")
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return Idempotency(key, fingerprint)


_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def bad_field(field: str, reason: str, title: str = "Invalid request") -> ProblemError:
    return ProblemError(
        422, title, f"{field}: {reason}", errors=[{"field": field, "reason": reason}]
    )
