from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text

from callcenter.events import store

metadata = MetaData()

# The ACD state of a tenant at a stream version: start-up loads it, then the tail.
snapshots = Table(
    "routing_snapshots",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("taken_at", String(40), nullable=False),
)

# Commands that arrived as other services' events (transactional inbox): the
# consumer records them; the ACD's writer decides them and deletes them in the
# same transaction as the events they cause, so each is applied exactly once.
inbox = Table(
    "routing_inbox",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False, index=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("correlation_id", String(200), nullable=False),
    Column("command", JSON, nullable=False),
    Column("received_at", String(40), nullable=False),
    sqlite_autoincrement=True,
)

__all__ = ["inbox", "metadata", "snapshots"]
