"""What the routes share: the IVR's parts, the roles, and domain errors as problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from callcenter.events.db import Database
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.calls import CallControl
from callcenter.ivr.desk import CallNotFound, FlowCache
from callcenter.ivr.domain.engine import CommandRejected
from callcenter.ivr.settings import Settings


@dataclass(frozen=True)
class Ivr:
    settings: Settings
    db: Database
    flows: FlowCache
    control: CallControl


async def _ivr(request: Request) -> Ivr:
    return request.app.state.ivr


IvrDep = Annotated[Ivr, Depends(_ivr)]
# The telephony side (an integrator's adapter) and admins drive calls.
CallController = Annotated[Principal, Depends(require_roles(Role.INTEGRATOR, Role.ADMIN))]
Designer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.INTEGRATOR))]
Viewer = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR))]


# What a call command can be refused for; anything else is a server error.
CallRefusal = (CallNotFound, CommandRejected)


def call_problem(error: CallNotFound | CommandRejected, call_id: str) -> ProblemError:
    """A domain refusal as the problem the client sees (nothing was changed)."""
    if isinstance(error, CallNotFound):
        return ProblemError(404, "Unknown call", f"call {call_id!r} does not exist")
    return ProblemError(
        409, "Call cannot take this", error.detail, reason=error.reason, call_id=call_id
    )


def bad_field(field: str, reason: str, title: str = "Invalid request") -> ProblemError:
    return ProblemError(
        422, title, f"{field}: {reason}", errors=[{"field": field, "reason": reason}]
    )
