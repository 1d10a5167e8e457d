"""Call recordings: per-tenant settings, the recordings, and their audit trail."""

import sqlalchemy as sa
from alembic import op

from callcenter.ivr.store.tables import metadata, recording_audit, recording_settings, recordings

revision = "0008"
down_revision = "0007"
TABLES = [recording_settings, recordings, recording_audit]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[recordings, recording_audit])
    # The settings as this revision had them (0009 adds the scope).
    op.create_table(
        "ivr_recording_settings",
        sa.Column("tenant", sa.String(100), primary_key=True),
        sa.Column("enabled", sa.Integer, nullable=False),
        sa.Column("consent_prompt", sa.String(1000)),
        sa.Column("retention_days", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
