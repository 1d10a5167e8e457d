"""Outbound legs, and the telephony settings that place them (Twilio account, caller id)."""

import sqlalchemy as sa
from alembic import op

from callcenter.ivr.store.tables import metadata, outbound_legs

revision = "0006"
down_revision = "0005"

COLUMNS = (("twilio_account_sid", 64), ("outbound_caller_id", 32), ("abandon_message", 1000))


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[outbound_legs])
    with op.batch_alter_table("ivr_telephony") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length)))


def downgrade() -> None:
    with op.batch_alter_table("ivr_telephony") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)
    metadata.drop_all(op.get_bind(), tables=[outbound_legs])
