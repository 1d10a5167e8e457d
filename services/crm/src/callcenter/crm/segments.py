"""The customer pyramid and churn risk (analytical CRM): per-tenant rules on a customer's
value and contact history.

Tiers, first matching rule wins: a rule asks for a minimum value (a numeric custom
attribute, e.g. ``annual_value``) and/or a minimum number of calls in the window.
Churn risk: any signal at or above its threshold in the window (repeated complaints:
complaint work orders and low CSAT scores; repeated abandoned calls; work orders past
their SLA and unresolved). Recomputed as the events that change them arrive; a changed
tier is a ``CustomerUpdated`` on the customer's stream (so replaying it gives it back).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import customers as model
from callcenter.crm.store.tables import (
    call_routing,
    calls,
    churn_risks,
    csat_answers,
    customers,
    segment_rules,
    work_orders,
)
from callcenter.events import store
from callcenter.events.envelope import format_time

Tier = Literal["key_important", "key_secondary", "ordinary", "small"]
SUBJECT = "crm.segments"


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Tier
    min_value: float = Field(default=0, ge=0)
    min_calls: int = Field(default=0, ge=0)


class ChurnSignals(BaseModel):
    """Thresholds in the window; 0 turns a signal off."""

    model_config = ConfigDict(extra="forbid")

    complaints: int = Field(default=3, ge=0)
    abandons: int = Field(default=3, ge=0)
    overdue_work_orders: int = Field(default=1, ge=0)
    complaint_types: list[str] = Field(default_factory=lambda: ["complaint"], max_length=20)
    low_csat: int = Field(default=2, ge=0, le=5)  # a CSAT score at or below it is a complaint


class SegmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value_attribute: str = Field(default="annual_value", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    window_days: int = Field(default=90, ge=1, le=3650)
    tiers: list[TierRule] = Field(default_factory=list, max_length=20)
    default_tier: Tier = "ordinary"
    churn: ChurnSignals = Field(default_factory=ChurnSignals)

    @model_validator(mode="after")
    def one_rule_per_tier(self) -> SegmentRules:
        tiers = [rule.tier for rule in self.tiers]
        if len(tiers) != len(set(tiers)):
            raise ValueError("tiers: one rule per tier")
        return self


async def rules_of(conn: AsyncConnection, tenant: str) -> SegmentRules | None:
    rules = await conn.scalar(select(segment_rules.c.rules).where(segment_rules.c.tenant == tenant))
    return SegmentRules.model_validate(rules) if rules is not None else None


async def signals(
    conn: AsyncConnection, tenant: str, ids: list[str], rules: SegmentRules, now: datetime
) -> dict[str, int]:
    since = format_time(now - timedelta(days=rules.window_days))
    their_calls = select(calls.c.call_id).where(
        calls.c.tenant == tenant, calls.c.customer_id.in_(ids)
    )
    mine = or_(work_orders.c.customer_id.in_(ids), work_orders.c.call_id.in_(their_calls))

    async def count(query: Any) -> int:
        return await conn.scalar(select(func.count()).select_from(query.subquery())) or 0

    calls_made = await count(
        select(calls.c.call_id).where(
            calls.c.tenant == tenant, calls.c.customer_id.in_(ids), calls.c.arrived_at >= since
        )
    )
    abandons = await count(
        select(call_routing.c.call_id).where(
            call_routing.c.tenant == tenant,
            call_routing.c.call_id.in_(their_calls),
            call_routing.c.outcome == "abandoned",
            call_routing.c.queued_at >= since,
        )
    )
    complaint_orders = await count(
        select(work_orders.c.ticket_id).where(
            work_orders.c.tenant == tenant,
            mine,
            work_orders.c.type.in_(rules.churn.complaint_types),
            work_orders.c.opened_at >= since,
        )
    )
    low_scores = await count(
        select(csat_answers.c.call_id).where(
            csat_answers.c.tenant == tenant,
            csat_answers.c.call_id.in_(their_calls),
            csat_answers.c.score <= rules.churn.low_csat,
            csat_answers.c.at >= since,
        )
    )
    overdue = await count(
        select(work_orders.c.ticket_id).where(
            work_orders.c.tenant == tenant,
            mine,
            work_orders.c.status == "open",
            work_orders.c.breached.is_(True),
        )
    )
    return {
        "calls": calls_made,
        "complaints": complaint_orders + low_scores,
        "abandons": abandons,
        "overdue_work_orders": overdue,
    }


def tier_for(rules: SegmentRules, value: float, calls_made: int) -> Tier:
    for rule in rules.tiers:
        if value >= rule.min_value and calls_made >= rule.min_calls:
            return rule.tier
    return rules.default_tier


def value_of(customer: model.Customer, rules: SegmentRules) -> float:
    try:
        return float(customer.attributes.get(rules.value_attribute, "0"))
    except ValueError:
        return 0.0


async def recompute(
    conn: AsyncConnection, tenant: str, customer_id: str, now: datetime, rules: SegmentRules
) -> None:
    """The customer's tier and churn risk under the tenant's rules, now."""
    customer = await model.load(conn, tenant, customer_id)
    if customer is None or customer.merged_into is not None:
        return
    ids = [customer_id, *await model.merged_ids(conn, tenant, customer_id)]
    found = await signals(conn, tenant, ids, rules, now)
    churn = rules.churn
    thresholds = {
        "complaints": churn.complaints,
        "abandons": churn.abandons,
        "overdue_work_orders": churn.overdue_work_orders,
    }
    raised = {k: found[k] for k, limit in thresholds.items() if limit and found[k] >= limit}
    await store.upsert(
        conn,
        churn_risks,
        {"tenant": tenant, "customer_id": customer_id},
        {"at_risk": bool(raised), "signals": raised, "updated_at": format_time(now)},
    )
    if customer.erased_at is not None:
        return  # an erased customer keeps the tier they had
    tier = tier_for(rules, value_of(customer, rules), found["calls"])
    if tier != customer.tier:
        await model.update_customer(conn, tenant, customer, {"tier": tier}, subject=SUBJECT)


async def recompute_customer(
    conn: AsyncConnection, tenant: str, customer_id: str | None, now: datetime
) -> None:
    """After an event about the customer (or a call of theirs), if the tenant has rules."""
    if customer_id is None:
        return
    rules = await rules_of(conn, tenant)
    if rules is not None:
        survivor = await conn.scalar(
            select(customers.c.merged_into).where(
                customers.c.tenant == tenant, customers.c.id == customer_id
            )
        )
        await recompute(conn, tenant, survivor or customer_id, now, rules)


async def customer_of_call(conn: AsyncConnection, tenant: str, call_id: str) -> str | None:
    return await conn.scalar(
        select(calls.c.customer_id).where(calls.c.tenant == tenant, calls.c.call_id == call_id)
    )


async def customer_of_ticket(conn: AsyncConnection, tenant: str, ticket_id: str) -> str | None:
    row = (
        await conn.execute(
            select(work_orders.c.customer_id, work_orders.c.call_id).where(
                work_orders.c.tenant == tenant, work_orders.c.ticket_id == ticket_id
            )
        )
    ).first()
    if row is None:
        return None
    if row.customer_id is not None:
        return row.customer_id
    return await customer_of_call(conn, tenant, row.call_id) if row.call_id else None


async def set_rules(
    conn: AsyncConnection, tenant: str, rules: SegmentRules, *, subject: str, now: datetime
) -> int:
    """Store the tenant's rules and recompute every customer; returns how many."""
    await store.upsert(
        conn,
        segment_rules,
        {"tenant": tenant},
        {"rules": rules.model_dump(mode="json"), "updated_by": subject,
         "updated_at": format_time(now)},
    )  # fmt: skip
    ids = (
        (
            await conn.execute(
                select(customers.c.id).where(
                    customers.c.tenant == tenant, customers.c.merged_into.is_(None)
                )
            )
        )
        .scalars()
        .all()
    )
    for customer_id in ids:
        await recompute(conn, tenant, customer_id, now, rules)
    return len(ids)


async def counts(conn: AsyncConnection, tenant: str) -> dict[str, dict[str, int]]:
    """Customers per tier (erased ones too: they still count), and those at risk."""
    live = (customers.c.tenant == tenant) & customers.c.merged_into.is_(None)
    per_tier = await conn.execute(
        select(customers.c.tier, func.count()).where(live).group_by(customers.c.tier)
    )
    at_risk = await conn.execute(
        select(customers.c.tier, func.count())
        .join(churn_risks, (churn_risks.c.tenant == customers.c.tenant)
              & (churn_risks.c.customer_id == customers.c.id))
        .where(live, churn_risks.c.at_risk.is_(True))
        .group_by(customers.c.tier)
    )  # fmt: skip
    tiers = dict.fromkeys(("key_important", "key_secondary", "ordinary", "small"), 0)
    return {
        "customers": tiers | dict(per_tier.all()),
        "at_risk": tiers | dict(at_risk.all()),
    }
