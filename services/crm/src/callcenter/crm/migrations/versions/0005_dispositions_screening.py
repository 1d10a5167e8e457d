"""Calls' dispositions on the timeline, and the campaign contact batches screened."""

from alembic import op

from callcenter.crm.store.tables import dispositions, metadata, screened_batches

revision = "0005"
down_revision = "0004"

TABLES = [dispositions, screened_batches]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
