"""Recordings of the whole call (from its start), not only of the agents' parts."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("ivr_recording_settings") as batch:
        batch.add_column(sa.Column("scope", sa.String(8), nullable=False, server_default="agent"))


def downgrade() -> None:
    with op.batch_alter_table("ivr_recording_settings") as batch:
        batch.drop_column("scope")
