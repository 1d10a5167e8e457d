from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from callcenter.events import store

metadata = MetaData()

# One row per ticket, written in the transaction that appends its events: the
# list/filter read model and the timer loop's index of due deadlines.
tickets = Table(
    "workorders_tickets",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("ticket_id", String(100), nullable=False),
    Column("type", String(100), nullable=False),
    Column("status", String(40), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("title", String(500), nullable=False),
    Column("customer_id", String(100)),
    Column("call_id", String(100)),
    Column("assignee", String(100)),
    Column("sla_state", String(20), nullable=False),  # none, ok, warning, breached
    Column("breached", Boolean, nullable=False),
    Column("next_deadline", String(40), index=True),  # UTC, ISO 8601: sorts as text
    Column("opened_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant", "ticket_id", name="uq_workorders_tickets_ticket"),
    sqlite_autoincrement=True,
)
# The list's filters, newest first: each an index ending in the position (the cursor).
for _column in ("status", "type", "assignee", "customer_id", "sla_state"):
    Index(f"ix_workorders_tickets_{_column}", tickets.c.tenant, tickets.c[_column],
          tickets.c.position)  # fmt: skip
Index("ix_workorders_tickets_tenant", tickets.c.tenant, tickets.c.position)

# Per-tenant ticket types (workflow and SLA policy, as JSON); the defaults
# apply to a tenant until it defines its own.
ticket_types = Table(
    "workorders_ticket_types",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("definition", JSON, nullable=False),
)


# Per-tenant rules opening tickets from other services' events: for each
# trigger (voicemail, failed_callback, abandoned_call) the ticket type and
# priority, or no ticket (ticket_type NULL). Absent: the service's settings.
ticket_rules = Table(
    "workorders_ticket_rules",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("trigger", String(40), primary_key=True),
    Column("ticket_type", String(100)),
    Column("priority", String(20), nullable=False),
)

# Calls waiting in a queue for a known customer (from routing's CallQueued),
# so that an abandoned one can open a ticket; removed when the call leaves.
waiting_calls = Table(
    "workorders_waiting_calls",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("customer_id", String(100), nullable=False),
)

# Tables added after 0002 (which creates everything in ``metadata``) have their own
# metadata, created by their migration.
follow_up_metadata = MetaData()

# Per-tenant types of the follow-up tickets asked for in a call's disposition
# (routing's CallDispositioned with follow_up): disposition -> ticket type. A
# disposition not listed takes the tenant's ``follow_up`` rule (ticket_rules).
follow_up_types = Table(
    "workorders_follow_up_types",
    follow_up_metadata,
    Column("tenant", String(100), primary_key=True),
    Column("disposition", String(100), primary_key=True),
    Column("ticket_type", String(100), nullable=False),
)
