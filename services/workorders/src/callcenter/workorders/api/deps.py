"""What every route needs: the tickets shell, the caller, and refusals as problems."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Path, Request

from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.workorders.domain.errors import TicketError
from callcenter.workorders.tickets import Tickets

TITLES = {403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Invalid request"}
Identifier = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


async def get_tickets(request: Request) -> Tickets:
    return request.app.state.tickets


TicketsDep = Annotated[Tickets, Depends(get_tickets)]
Staff = Annotated[
    Principal,
    Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR)),
]
Manager = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


@contextmanager
def refusals_as_problems() -> Iterator[None]:
    try:
        yield
    except TicketError as error:
        raise ProblemError(
            error.status, TITLES.get(error.status, "Refused"), error.detail, **error.extensions
        ) from None
