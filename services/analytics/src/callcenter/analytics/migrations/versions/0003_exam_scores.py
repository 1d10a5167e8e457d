"""Exam scores supervisors post for agents (an indicator of the scorecards)."""

from alembic import op

from callcenter.analytics.store.tables import exam_scores

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    exam_scores.create(op.get_bind())


def downgrade() -> None:
    exam_scores.drop(op.get_bind())
