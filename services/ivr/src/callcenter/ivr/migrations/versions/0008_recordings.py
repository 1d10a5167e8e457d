"""Call recordings: per-tenant settings, the recordings, and their audit trail."""

from alembic import op

from callcenter.ivr.store.tables import metadata, recording_audit, recording_settings, recordings

revision = "0008"
down_revision = "0007"
TABLES = [recording_settings, recordings, recording_audit]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
