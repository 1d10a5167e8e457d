"""The IVR's tables: flows, numbers, calls, routing's queues, telephony settings, webhooks."""

from alembic import op

from callcenter.ivr.store.tables import IVR_TABLES, metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=IVR_TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=IVR_TABLES)
