"""The IVR's tables: flows, numbers, calls, routing's queues, telephony settings, webhooks."""

import sqlalchemy as sa
from alembic import op

from callcenter.ivr.store.tables import IVR_TABLES, metadata, telephony

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[t for t in IVR_TABLES if t is not telephony])
    # The settings as this revision had them (0006 adds columns to the table).
    op.create_table(
        "ivr_telephony",
        sa.Column("tenant", sa.String(100), primary_key=True),
        sa.Column("twilio_auth_token", sa.String(200)),
        sa.Column("status_callback_url", sa.String(2000)),
        sa.Column("status_callback_secret", sa.String(200)),
    )


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=IVR_TABLES)
