"""Routing's waiting calls: the position and expected wait a caller on hold hears."""

from alembic import op

from callcenter.ivr.store.tables import metadata, waiting

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[waiting])


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=[waiting])
