"""The tickets read model and the per-tenant ticket types."""

from alembic import op

from callcenter.workorders.store.tables import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
