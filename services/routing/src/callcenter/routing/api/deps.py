"""What every route needs: the ACD, the caller's identity, and errors as problems."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request

from callcenter.events.kit.auth import Principal, PrincipalDep, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.routing.acd import Acd
from callcenter.routing.domain.errors import RoutingError

TITLES = {404: "Not found", 409: "Conflict", 422: "Invalid request"}


async def get_acd(request: Request) -> Acd:
    return request.app.state.acd


AcdDep = Annotated[Acd, Depends(get_acd)]
Reader = PrincipalDep
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
CallControl = Annotated[
    Principal, Depends(require_roles(Role.INTEGRATOR, Role.SUPERVISOR, Role.ADMIN))
]
AgentOrSupervisor = Annotated[
    Principal, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
]


def acting_for(principal: Principal, agent_id: str) -> None:
    """Agents act for themselves; supervisors and admins for anyone."""
    if principal.roles & {Role.SUPERVISOR, Role.ADMIN}:
        return
    if principal.subject != agent_id:
        raise ProblemError(403, "Forbidden", f"an agent may act only as itself, not {agent_id!r}")


@contextmanager
def refusals_as_problems() -> Iterator[None]:
    try:
        yield
    except RoutingError as error:
        raise ProblemError(
            error.status, TITLES.get(error.status, "Refused"), error.detail
        ) from None
