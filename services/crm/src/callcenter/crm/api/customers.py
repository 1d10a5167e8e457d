from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select

from callcenter.crm import customers as model
from callcenter.crm import search, segments
from callcenter.crm.api.deps import (
    CustomerId,
    RuntimeDep,
    SettingsDep,
    duplicate_problem,
    live_customer,
)
from callcenter.crm.audit import record_card_read
from callcenter.crm.phones import InvalidPhone, to_e164
from callcenter.crm.store.tables import customer_emails, customer_phones, customer_tags, customers
from callcenter.events.envelope import utcnow
from callcenter.events.kit.auth import Principal, PrincipalDep, Role, require_roles
from callcenter.events.kit.openapi_links import links_passing
from callcenter.events.kit.problems import ProblemError, problem_responses

router = APIRouter(tags=["customers"])

Tier = Literal["key_important", "key_secondary", "ordinary", "small"]
Sort = Literal[
    "id", "-id", "last_name", "-last_name", "company", "-company",
    "created_at", "-created_at", "updated_at", "-updated_at",
]  # fmt: skip
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
AttributeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
AttributeValue = Annotated[str, StringConstraints(max_length=500)]
Attributes = Annotated[dict[AttributeKey, AttributeValue], Field(max_length=50)]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 320 or not EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class Consent(BaseModel):
    """What the customer agreed to be contacted by; all false unless given."""

    model_config = ConfigDict(extra="forbid")

    calls: bool = False
    sms: bool = False
    email: bool = False
    marketing: bool = False


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name = ""
    last_name: Name = ""
    company: Name = ""
    tier: Tier = "ordinary"
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    emails: list[str] = Field(default_factory=list, max_length=10)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    attributes: Attributes = Field(default_factory=dict)
    consent: Consent = Field(default_factory=Consent)

    @field_validator("emails")
    @classmethod
    def emails_are_addresses(cls, values: list[str]) -> list[str]:
        return _unique([_email(v) for v in values])

    @field_validator("tags")
    @classmethod
    def tags_once(cls, values: list[str]) -> list[str]:
        return _unique(values)


class CustomerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None
    company: Name | None = None
    tier: Tier | None = None
    phones: list[Phone] | None = Field(default=None, max_length=10)
    emails: list[str] | None = Field(default=None, max_length=10)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    attributes: Attributes | None = None  # replaces the whole map
    consent: Consent | None = None  # replaces every flag

    @field_validator("emails")
    @classmethod
    def emails_are_addresses(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique([_email(v) for v in values])

    @field_validator("tags")
    @classmethod
    def tags_once(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique(values)


class CustomerOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    company: str
    tier: Tier
    phones: list[str]
    emails: list[str]
    tags: list[str]
    attributes: dict[str, str]
    consent: Consent
    version: int
    created_at: str
    updated_at: str


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


def normalized_phones(raw: list[str], region: str) -> list[str]:
    phones = []
    for index, value in enumerate(raw):
        try:
            phones.append(to_e164(value, region))
        except InvalidPhone as error:
            field_name = f"body.phones.{index}"
            raise ProblemError(
                422,
                "Invalid request",
                f"{field_name}: {error}",
                errors=[{"field": field_name, "reason": str(error)}],
            ) from None
    return _unique(phones)


@router.post(
    "/customers",
    response_model=CustomerOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer (409 naming the existing one if a phone or email is taken)",
    responses={
        201: {
            "links": links_passing(
                "customer_id",
                "$response.body#/id",
                GetCustomer="get_customer_v1_customers__customer_id__get",
                PatchCustomer="patch_customer_v1_customers__customer_id__patch",
                EraseCustomer="erase_customer_v1_customers__customer_id__delete",
                PostNote="post_note_v1_customers__customer_id__notes_post",
                PostInteraction="post_interaction_v1_customers__customer_id__interactions_post",
                GetTimeline="get_timeline_v1_customers__customer_id__timeline_get",
                ExportCustomer="export_customer_v1_customers__customer_id__export_get",
            )
        }
    },
)
async def create_customer(
    body: CustomerIn, principal: PrincipalDep, settings: SettingsDep, runtime: RuntimeDep
):
    customer = model.Customer(
        id=model.new_id(),
        first_name=body.first_name,
        last_name=body.last_name,
        company=body.company,
        tier=body.tier,
        phones=normalized_phones(body.phones, settings.region_for(principal.tenant)),
        emails=body.emails,
        tags=body.tags,
        attributes=body.attributes,
        consent=body.consent.model_dump(),
    )
    try:
        async with runtime.db.transaction() as conn:
            await model.create(conn, principal.tenant, customer, subject=principal.subject)
            await segments.recompute_customer(conn, principal.tenant, customer.id, utcnow())
            customer = await live_customer(conn, principal.tenant, customer.id)
    except model.Duplicate as duplicate:
        raise duplicate_problem(duplicate) from None
    runtime.committed()
    return customer.view()


@router.get(
    "/customers/{customer_id}", response_model=CustomerOut, responses=problem_responses(410)
)
async def get_customer(customer_id: CustomerId, principal: PrincipalDep, runtime: RuntimeDep):
    """A read of the customer's card: recorded in the access audit."""
    async with runtime.db.transaction() as conn:
        customer = await live_customer(conn, principal.tenant, customer_id)
        await record_card_read(conn, principal, customer_id, call_id=None)
    return customer.view()


@router.patch(
    "/customers/{customer_id}", response_model=CustomerOut, responses=problem_responses(410)
)
async def patch_customer(
    customer_id: CustomerId,
    body: CustomerPatch,
    principal: PrincipalDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
):
    changes = body.model_dump(exclude_none=True)
    if "phones" in changes:
        changes["phones"] = normalized_phones(
            changes["phones"], settings.region_for(principal.tenant)
        )
    try:
        async with runtime.db.transaction() as conn:
            current = await live_customer(conn, principal.tenant, customer_id)
            updated = await model.update_customer(
                conn, principal.tenant, current, changes, subject=principal.subject
            )
            await segments.recompute_customer(conn, principal.tenant, customer_id, utcnow())
            updated = await live_customer(conn, principal.tenant, customer_id)
    except model.Duplicate as duplicate:
        raise duplicate_problem(duplicate) from None
    runtime.committed()
    return updated.view()


@router.get(
    "/customers",
    response_model=CustomerPage,
    summary="Search customers: full text on name and company, filters by phone, email, tag, "
    "tier or name; sorted, paginated by cursor",
)
async def list_customers(
    principal: PrincipalDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    tier: Tier | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    sort: Sort = "id",
    cursor: Annotated[str | None, Query(max_length=1000, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """``q``: every word, as a prefix, in the name or company (accents and case ignored).
    ``name``: a substring of them. ``sort``: a field, descending with "-"."""
    tenant = principal.tenant
    query = select(customers).where(
        customers.c.tenant == tenant,
        customers.c.merged_into.is_(None),
        customers.c.erased_at.is_(None),
    )
    if phone is not None:
        try:
            e164 = to_e164(phone, settings.region_for(tenant))
        except InvalidPhone as error:
            raise invalid_query("phone", str(error)) from None
        query = query.where(
            customers.c.id.in_(
                select(customer_phones.c.customer_id).where(
                    customer_phones.c.tenant == tenant, customer_phones.c.e164 == e164
                )
            )
        )
    if email is not None:
        query = query.where(
            customers.c.id.in_(
                select(customer_emails.c.customer_id).where(
                    customer_emails.c.tenant == tenant,
                    customer_emails.c.email == email.strip().lower(),
                )
            )
        )
    if tag is not None:
        query = query.where(
            customers.c.id.in_(
                select(customer_tags.c.customer_id).where(
                    customer_tags.c.tenant == tenant, customer_tags.c.tag == tag
                )
            )
        )
    if tier is not None:
        query = query.where(customers.c.tier == tier)
    if name is not None:
        query = query.where(
            customers.c.search_name.contains(search.folded(name.strip()), autoescape=True)
        )
    if q is not None:
        if not search.words(q):
            raise invalid_query("q", "has no words to search for")
        query = query.where(search.matches(runtime.db.engine.dialect.name, q))
    try:
        query = search.sorted_page(query, sort, cursor, limit)
    except ValueError as error:
        raise invalid_query("cursor", str(error)) from None
    async with runtime.db.read() as conn:
        rows = (await conn.execute(query)).all()
    items = [model.from_row(row).view() for row in rows[:limit]]
    next_cursor = search.encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return CustomerPage(items=items, next_cursor=next_cursor)


def invalid_query(name: str, reason: str) -> ProblemError:
    field_name = f"query.{name}"
    return ProblemError(
        422,
        "Invalid request",
        f"{field_name}: {reason}",
        errors=[{"field": field_name, "reason": reason}],
    )


Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


@router.post(
    "/customers/{customer_id}/merge",
    response_model=CustomerOut,
    summary="Merge another customer into this one (supervisors): both histories stay",
    responses=problem_responses(410),
)
async def merge_customers(
    customer_id: CustomerId, body: MergeIn, principal: Supervisor, runtime: RuntimeDep
):
    if body.merged_id == customer_id:
        raise ProblemError(
            422,
            "Invalid request",
            "body.merged_id: a customer cannot be merged into itself",
            errors=[{"field": "body.merged_id", "reason": "is the survivor itself"}],
        )
    async with runtime.db.transaction() as conn:
        survivor = await live_customer(conn, principal.tenant, customer_id)
        merged = await live_customer(conn, principal.tenant, body.merged_id)
        await model.merge(conn, principal.tenant, survivor, merged, subject=principal.subject)
        await segments.recompute_customer(conn, principal.tenant, customer_id, utcnow())
        result = await live_customer(conn, principal.tenant, customer_id)
    runtime.committed()
    return result.view()
