"""What routes share: settings, and turning domain refusals into problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.customers import Customer, Duplicate, load
from callcenter.crm.settings import Settings
from callcenter.events.kit.problems import ProblemError
from callcenter.events.kit.runtime import Runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CallId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "Not found", f"{what} does not exist")


async def live_customer(conn: AsyncConnection, tenant: str, customer_id: str) -> Customer:
    """The customer, or a 404 (saying which customer it was merged into, if it was)."""
    customer = await load(conn, tenant, customer_id)
    if customer is None:
        raise not_found(f"customer {customer_id!r}")
    if customer.merged_into is not None:
        raise ProblemError(
            404,
            "Not found",
            f"customer {customer_id!r} was merged into {customer.merged_into!r}",
            merged_into=customer.merged_into,
        )
    if customer.erased_at is not None:
        raise ProblemError(
            410, "Gone", f"customer {customer_id!r} was erased", erased_at=customer.erased_at
        )
    return customer


def duplicate_problem(duplicate: Duplicate) -> ProblemError:
    return ProblemError(
        409,
        "Duplicate customer",
        f"body.{duplicate.field} already belongs to customer {duplicate.existing_id}",
        existing_customer_id=duplicate.existing_id,
        errors=[{"field": f"body.{duplicate.field}", "reason": "already in use"}],
    )


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
