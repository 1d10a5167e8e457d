"""Post-call surveys: per-queue policies and the surveys under way."""

from alembic import op

from callcenter.ivr.store.tables import metadata, survey_policies, surveys

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[survey_policies, surveys])


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=[survey_policies, surveys])
