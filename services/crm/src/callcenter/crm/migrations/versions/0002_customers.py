"""Customers, their phone/email/tag indexes, calls, IVR paths and the access audit.

The tables as this revision made them (later revisions change them from here).
"""

from alembic import op
from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table

from callcenter.events import store

revision = "0002"
down_revision = "0001"

metadata = MetaData()

customers = Table(
    "crm_customers",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    # Lower-cased "first last company" for substring search.
    Column("search_name", String(700), nullable=False),
    Column("company", String(200), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("phones", JSON, nullable=False),
    Column("emails", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("consent", JSON, nullable=False),
    # Set when merged into another customer (the survivor); its history stays here.
    Column("merged_into", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_crm_customers_tenant_tier", "tenant", "tier", "id"),
    Index("ix_crm_customers_merged_into", "tenant", "merged_into"),
)

# One row per E.164 number: the screen pop's lookup and duplicate detection.
customer_phones = Table(
    "crm_customer_phones",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("e164", String(20), primary_key=True),
    Column("customer_id", String(64), nullable=False),
)

customer_emails = Table(
    "crm_customer_emails",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("customer_id", String(64), nullable=False),
)

customer_tags = Table(
    "crm_customer_tags",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
)

# Calls seen by the screen pop: who called (if known) and when.
calls = Table(
    "crm_calls",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("ani", String(40), nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("arrived_at", String(40), nullable=False),
    Index("ix_crm_calls_customer", "tenant", "customer_id", "arrived_at"),
)

# The IVR path of a call: nodes entered and inputs received, in order.
call_ivr_steps = Table(
    "crm_call_ivr_steps",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("call_id", String(100), nullable=False),
    Column("kind", String(10), nullable=False),  # "node" | "input"
    Column("node_id", String(200), nullable=False),
    Column("node_type", String(50), nullable=False),
    Column("digits", String(100), nullable=False),
    Column("timeout", Boolean, nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_crm_call_ivr_steps_call", "tenant", "call_id", "position"),
    sqlite_autoincrement=True,
)

# Every read of a customer card: who, when, and why (the call, if any).
card_reads = Table(
    "crm_card_reads",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("call_id", String(100), nullable=True),
    Column("read_at", String(40), nullable=False),
    Index("ix_crm_card_reads_customer", "tenant", "customer_id", "position"),
    sqlite_autoincrement=True,
)

# Agents' notes on a customer (events NoteAdded on the customer's stream).
notes = Table(
    "crm_notes",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", String(5000), nullable=False),
    Column("created_at", String(40), nullable=False),
    Index("ix_crm_notes_customer", "tenant", "customer_id", "created_at"),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
