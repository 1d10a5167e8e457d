"""Each tenant's KPI settings (service-level mode, short abandons, targets, time zone)."""

from alembic import op

from callcenter.analytics.store.tables import kpi_settings

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    kpi_settings.create(op.get_bind())


def downgrade() -> None:
    kpi_settings.drop(op.get_bind())
