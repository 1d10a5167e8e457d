"""Full-text search over tickets: their texts, indexed by FTS5 (SQLite) or a
generated tsvector with a GIN index (PostgreSQL). Tickets already listed get
their titles indexed here; ``rebuild_read_model`` adds their descriptions and notes."""

from alembic import op

from callcenter.workorders.store import search

revision = "0003"
down_revision = "0002"

BACKFILL = """INSERT INTO workorders_ticket_texts (position, title, description, notes)
    SELECT position, title, '', '' FROM workorders_tickets"""


def upgrade() -> None:
    bind = op.get_bind()
    search.metadata.create_all(bind)
    for statement in search.SQLITE_UP if bind.dialect.name == "sqlite" else search.POSTGRESQL_UP:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in search.SQLITE_DOWN:
            op.execute(statement)
    search.metadata.drop_all(bind)
