"""Each tenant's KPI settings (service-level mode, short abandons, targets, time zone)."""

from alembic import op

from callcenter.analytics.store.tables import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
