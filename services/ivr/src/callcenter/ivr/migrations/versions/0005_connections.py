"""Routing's view of calls that left the IVR: transfers, and what the caller does next."""

from alembic import op

from callcenter.ivr.store.tables import connections, metadata

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[connections])


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=[connections])
