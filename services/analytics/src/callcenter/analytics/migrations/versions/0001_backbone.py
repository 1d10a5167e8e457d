"""The event store and the relay's and consumers' bookkeeping tables."""

from callcenter.events.kit.migrations import create_backbone_tables, drop_backbone_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone_tables()


def downgrade() -> None:
    drop_backbone_tables()
