"""The CRM's read models, written in the same transaction as the events they fold."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from callcenter.events import store

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
    # Set when erased: the personal columns are empty, the tier and tags stay for the KPIs.
    Column("erased_at", String(40), nullable=True),
    Index("ix_crm_customers_tenant_tier", "tenant", "tier", "id"),
    # Partial: nearly every customer has no merged_into, and a full index of NULLs looks
    # useless to SQLite's planner once analyzed (it scanned the table instead).
    Index(
        "ix_crm_customers_merged_into",
        "tenant",
        "merged_into",
        sqlite_where=text("merged_into IS NOT NULL"),
        postgresql_where=text("merged_into IS NOT NULL"),
    ),
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


# Each customer's own key: their personal fields in events are sealed with it. Erasing
# the customer deletes the row (crypto-shredding).
customer_keys = Table(
    "crm_customer_keys",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("key", LargeBinary(32), nullable=False),
)

# What routing did with a call: its queue, wait, agent, talk time and outcome.
call_routing = Table(
    "crm_call_routing",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("queue_id", String(100), nullable=False),
    Column("agent_id", String(100), nullable=True),
    Column("wait", Float, nullable=True),
    Column("talk", Float, nullable=True),
    Column("outcome", String(20), nullable=False),  # queued | answered | abandoned | exited | ended
    Column("queued_at", String(40), nullable=False),
    Column("ended_at", String(40), nullable=True),
)

# Callbacks requested in a queue (the number is not kept: it is the caller's).
callbacks = Table(
    "crm_callbacks",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("callback_id", String(100), primary_key=True),
    Column("call_id", String(100), nullable=False),
    Column("queue_id", String(100), nullable=False),
    Column("agent_id", String(100), nullable=True),
    Column("outcome", String(20), nullable=False),  # requested | offered | connected | ...
    Column("attempts", Integer, nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_crm_callbacks_call", "tenant", "call_id"),
)

# Work orders (tickets) of customers, from callcenter.workorders; titles are not kept.
work_orders = Table(
    "crm_work_orders",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("ticket_id", String(100), primary_key=True),
    Column("customer_id", String(64), nullable=True),
    Column("call_id", String(100), nullable=True),
    Column("type", String(100), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved | closed | cancelled | merged
    Column("breached", Boolean, nullable=False),  # an SLA breached while unresolved
    Column("opened_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_crm_work_orders_customer", "tenant", "customer_id", "opened_at"),
    Index("ix_crm_work_orders_call", "tenant", "call_id"),
)

work_order_steps = Table(
    "crm_work_order_steps",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("ticket_id", String(100), nullable=False),
    Column("step", String(50), nullable=False),  # the event's type, e.g. TicketDispatched
    Column("by", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_crm_work_order_steps_ticket", "tenant", "ticket_id", "position"),
    sqlite_autoincrement=True,
)

# CSAT answers (SurveyAnswered on callcenter.ivr), one per call and question.
csat_answers = Table(
    "crm_csat_answers",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("question", String(200), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("agent_id", String(100), nullable=True),
    Column("at", String(40), nullable=False),
)

# SMS, emails and other contacts posted by integrators (InteractionRecorded).
interactions = Table(
    "crm_interactions",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("summary", String(5000), nullable=False),
    Column("author", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_crm_interactions_customer", "tenant", "customer_id", "at"),
)

# A tenant's rules for the customer pyramid and the churn-risk signals (see segments.py).
segment_rules = Table(
    "crm_segment_rules",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("rules", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# The churn-risk flag of each customer and the signals that raised it.
churn_risks = Table(
    "crm_churn_risks",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("at_risk", Boolean, nullable=False),
    Column("signals", JSON, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# How agents dispositioned calls (routing's CallDispositioned, and ContactDispositioned
# for campaign calls): one row per call, the latest disposition. The notes are personal:
# sealed with the customer's key when the customer is known (``sealed``), so erasure
# shreds them; plain only while the call's customer is unknown.
dispositions = Table(
    "crm_dispositions",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("customer_id", String(64), nullable=True),
    Column("agent_id", String(100), nullable=False),
    Column("queue_id", String(100), nullable=True),
    Column("disposition", String(100), nullable=False),
    Column("notes", Text, nullable=False),
    Column("sealed", Boolean, nullable=False),
    Column("follow_up", Boolean, nullable=False),
    Column("campaign_id", String(100), nullable=True),
    Column("contact_id", String(100), nullable=True),
    Column("completed", Boolean, nullable=True),
    Column("callback_at", String(40), nullable=True),
    Column("at", String(40), nullable=False),
    Index("ix_crm_dispositions_customer", "tenant", "customer_id", "at"),
)

# Campaign contact batches already screened (CampaignContactsAdded, by event id): the
# screening is the CRM's own decision, so a replay of routing's topic does not repeat it.
screened_batches = Table(
    "crm_screened_batches",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("event_id", String(100), primary_key=True),
    Column("campaign_id", String(100), nullable=False),
    Column("contacts", Integer, nullable=False),
    Column("screened_at", String(40), nullable=False),
)
