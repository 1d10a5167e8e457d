"""The IVR's read models, beside the event store in the service's own database."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, MetaData, String, Table, Text

# Our own MetaData: the backbone's (store.metadata) is created by every service's 0001.
metadata = MetaData()

flows = Table(
    "ivr_flows",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("flow_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)

# A number belongs to one tenant (the provider tells us only the dialed number).
numbers = Table(
    "ivr_numbers",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("flow_id", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

calls = Table(
    "ivr_calls",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("stream_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# Routing's queues per tenant (from QueueConfigured): flows may only enqueue to these.
queues = Table(
    "ivr_queues",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("queue_id", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
)

telephony = Table(
    "ivr_telephony",
    metadata,
    Column("tenant", String(100), primary_key=True),
    # The two secrets are sealed (store/telephony_secrets.py), widened by 0010.
    Column("twilio_auth_token", String(400)),
    Column("status_callback_url", String(2000)),
    Column("status_callback_secret", String(400)),
    # Added by 0006: outbound legs through Twilio's REST API, and what a callee
    # hears when routing finds no agent in time.
    Column("twilio_account_sid", String(64)),
    Column("outbound_caller_id", String(32)),
    Column("abandon_message", String(1000)),
)

# The outbox of status callbacks to the provider: a restart loses none.
webhooks = Table(
    "ivr_webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("tenant", String(100), nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),  # unix seconds
    Column("last_error", String(500)),
    Index("ix_ivr_webhooks_due", "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)

IVR_TABLES = [flows, numbers, calls, queues, telephony, webhooks]

# Requests with an Idempotency-Key (a provider retrying a webhook): the answer
# given, written with the events the request appended. ``answer`` is null while
# a data dip of the request is under way.
idempotency = Table(
    "ivr_idempotency",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("call_id", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("answer", JSON),
    Column("created_at", Float, nullable=False),  # unix seconds
    Index("ix_ivr_idempotency_created", "created_at"),
)

# When a call that never got its hang-up is ended (the provider lost it):
# written when the call starts, deleted when it ends.
deadlines = Table(
    "ivr_call_deadlines",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("due_at", Float, nullable=False),  # unix seconds
    Index("ix_ivr_call_deadlines_due", "due_at"),
)

# Added by migration 0003 (0002 creates IVR_TABLES).
RELIABILITY_TABLES = [idempotency, deadlines]

# Routing's waiting calls per queue (from CallQueued and the events of calls
# leaving the queue), so that a caller on hold hears their position and wait.
waiting = Table(
    "ivr_waiting",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("queue_id", String(100), nullable=False),
    Column("position", Integer, nullable=False),  # kept current as calls ahead leave
    Column("ewt", Float),  # seconds, as estimated when queued
    Column("queued_at", Float, nullable=False),  # unix seconds
    Index("ix_ivr_waiting_queue", "tenant", "queue_id", "position"),
)

# Routing's view of the calls that left the IVR (from its call events): who has
# the caller, and what the caller does next (a transfer's enqueue or dial, the
# hang-up at the end). Added by migration 0005.
connections = Table(
    "ivr_connections",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("queue_id", String(100), nullable=False),
    Column("agent_id", String(100)),
    Column("last_agent_id", String(100)),
    Column("ended_by", String(16)),
    Column("instructions", JSON),
    Column("updated_at", Float, nullable=False),  # unix seconds
)

# Legs routing asked us to place (OutboundCallRequested), and what became of
# them. ``status``: dialing (a Twilio create-call due at ``next_attempt_at``),
# placed (the provider dials), done (the outcome is known). Added by 0006.
outbound_legs = Table(
    "ivr_outbound_legs",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("number", String(32), nullable=False),
    Column("caller_id", String(32), nullable=False),
    Column("queue_id", String(100), nullable=False),
    Column("campaign_id", String(100)),
    Column("contact_id", String(100)),
    Column("agent_id", String(100)),
    Column("detect_machine", Integer, nullable=False),
    Column("timeout", Float, nullable=False),
    Column("purpose", String(16), nullable=False),  # routing, survey
    Column("provider", String(16), nullable=False),  # twilio, json
    Column("provider_sid", String(64)),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("ended", Integer, nullable=False),
    Column("abandoned", Integer, nullable=False),
    Column("placed_at", Float, nullable=False),  # unix seconds (asked for)
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", String(500)),
    Index("ix_ivr_outbound_legs_due", "status", "next_attempt_at"),
)

# Per-queue post-call survey policies, and the surveys under way (added by 0007).
survey_policies = Table(
    "ivr_survey_policies",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("queue_id", String(100), primary_key=True),
    Column("policy", JSON, nullable=False),  # sample_rate, questions, channel, delay, language
    Column("updated_at", String(40), nullable=False),
)

# ``answer_id``: the call the answers come on (the call itself on channel ivr,
# the outbound leg on channel outbound).
surveys = Table(
    "ivr_surveys",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("call_id", String(64), primary_key=True),
    Column("answer_id", String(80), nullable=False),
    Column("queue_id", String(100), nullable=False),
    Column("agent_id", String(100)),
    Column("channel", String(16), nullable=False),
    Column("number", String(32), nullable=False),
    Column("questions", JSON, nullable=False),
    Column("language", String(20), nullable=False),
    Column("position", Integer, nullable=False),  # the question asked
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending, dialing, asking, done, unreached
    Column("due_at", Float, nullable=False),  # unix seconds: when an outbound survey dials
    Index("ix_ivr_surveys_answer", "tenant", "answer_id", unique=True),
    Index("ix_ivr_surveys_due", "status", "due_at"),
)

# Per-tenant recording settings, the recordings, and who looked at them (0008).
recording_settings = Table(
    "ivr_recording_settings",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("enabled", Integer, nullable=False),
    Column("consent_prompt", String(1000)),
    Column("retention_days", Integer, nullable=False),
    # Added by 0009: "agent" records each agent's part, "call" the whole call from its start.
    Column("scope", String(8), nullable=False, server_default="agent"),
)

recordings = Table(
    "ivr_recordings",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("recording_id", String(64), primary_key=True),
    Column("call_id", String(64), nullable=False),
    Column("agent_id", String(100), nullable=False),
    Column("queue_id", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # recording, paused, stopped, purged
    Column("started_at", String(40), nullable=False),
    Column("stopped_at", String(40)),
    Column("uri", String(2000)),
    Column("duration", Float),
    Column("retention_days", Integer, nullable=False),
    Column("retain_until", Float),  # unix seconds; the reaper purges after it
    Index("ix_ivr_recordings_call", "tenant", "call_id"),
    Index("ix_ivr_recordings_retain", "status", "retain_until"),
)

recording_audit = Table(
    "ivr_recording_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("recording_id", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("roles", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Column("action", String(16), nullable=False),  # viewed, purged
    Index("ix_ivr_recording_audit", "tenant", "recording_id"),
    sqlite_autoincrement=True,
)
