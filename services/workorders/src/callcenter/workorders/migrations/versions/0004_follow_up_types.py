"""Per-tenant ticket types of the follow-ups asked for in calls' dispositions."""

from alembic import op

from callcenter.workorders.store.tables import follow_up_metadata

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    follow_up_metadata.create_all(op.get_bind())


def downgrade() -> None:
    follow_up_metadata.drop_all(op.get_bind())
