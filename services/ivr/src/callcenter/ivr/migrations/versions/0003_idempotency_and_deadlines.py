"""Idempotency keys of provider requests, and the deadlines of calls that may never hang up."""

from alembic import op

from callcenter.ivr.store.tables import RELIABILITY_TABLES, metadata

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=RELIABILITY_TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=RELIABILITY_TABLES)
