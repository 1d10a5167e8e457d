"""Crypto-shredding keys and erasure, the timeline from every topic, full-text search on
customers, segment rules and churn risks; the merged_into index becomes partial.

Full-text search is kept outside the table metadata: on SQLite an external-content FTS5
table over ``crm_customers.search_name`` kept by triggers, on PostgreSQL a GIN index on
its ``tsvector``.
"""

import sqlalchemy as sa
from alembic import op

from callcenter.crm.store.tables import (
    call_routing,
    callbacks,
    churn_risks,
    csat_answers,
    customer_keys,
    interactions,
    metadata,
    segment_rules,
    work_order_steps,
    work_orders,
)

revision = "0004"
down_revision = "0003"

TABLES = [
    customer_keys,
    call_routing,
    callbacks,
    work_orders,
    work_order_steps,
    csat_answers,
    interactions,
    segment_rules,
    churn_risks,
]
SQLITE_UP = [
    """CREATE VIRTUAL TABLE crm_customers_fts USING fts5(
        search_name, content='crm_customers', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    "INSERT INTO crm_customers_fts(crm_customers_fts) VALUES ('rebuild')",
    """CREATE TRIGGER crm_customers_fts_insert AFTER INSERT ON crm_customers BEGIN
        INSERT INTO crm_customers_fts(rowid, search_name) VALUES (new.rowid, new.search_name);
    END""",
    """CREATE TRIGGER crm_customers_fts_delete AFTER DELETE ON crm_customers BEGIN
        INSERT INTO crm_customers_fts(crm_customers_fts, rowid, search_name)
        VALUES ('delete', old.rowid, old.search_name);
    END""",
    """CREATE TRIGGER crm_customers_fts_update AFTER UPDATE OF search_name ON crm_customers
    BEGIN
        INSERT INTO crm_customers_fts(crm_customers_fts, rowid, search_name)
        VALUES ('delete', old.rowid, old.search_name);
        INSERT INTO crm_customers_fts(rowid, search_name) VALUES (new.rowid, new.search_name);
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER crm_customers_fts_update",
    "DROP TRIGGER crm_customers_fts_delete",
    "DROP TRIGGER crm_customers_fts_insert",
    "DROP TABLE crm_customers_fts",
]
POSTGRESQL_UP = [
    """CREATE INDEX ix_crm_customers_search ON crm_customers
        USING GIN (to_tsvector('simple', search_name))""",
]
POSTGRESQL_DOWN = ["DROP INDEX ix_crm_customers_search"]


MERGED_INTO = ("ix_crm_customers_merged_into", "crm_customers", ["tenant", "merged_into"])
NOT_MERGED = sa.text("merged_into IS NOT NULL")


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("crm_customers", sa.Column("erased_at", sa.String(40), nullable=True))
    op.drop_index(MERGED_INTO[0], MERGED_INTO[1])
    op.create_index(*MERGED_INTO, sqlite_where=NOT_MERGED, postgresql_where=NOT_MERGED)
    metadata.create_all(bind, tables=TABLES)
    for statement in SQLITE_UP if bind.dialect.name == "sqlite" else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in SQLITE_DOWN if bind.dialect.name == "sqlite" else POSTGRESQL_DOWN:
        op.execute(statement)
    metadata.drop_all(bind, tables=TABLES)
    op.drop_index(MERGED_INTO[0], MERGED_INTO[1])
    op.create_index(*MERGED_INTO)
    with op.batch_alter_table("crm_customers") as batch:
        batch.drop_column("erased_at")
