"""The knowledge base: categories, articles, links, favorites and the full-text index.

SQLite: an external-content FTS5 table over the articles (through a view adding each
one's tenant and state as a token), kept by triggers.
PostgreSQL: a generated, weighted ``tsvector`` column with a GIN index.
Both stem English words (Porter) and weigh title over tags over body.
"""

from alembic import op

from callcenter.crm.kb.tables import metadata

revision = "0003"
down_revision = "0002"

# ``scope`` is one token per tenant and state ("published" + "x" + the tenant's UTF-8 in
# hex): the search matches it with the words, and needs no join to filter the matches.
SCOPE = "{row}.state || 'x' || lower(hex({row}.tenant))"
SQLITE_UP = [
    f"""CREATE VIEW crm_kb_fts_content AS
        SELECT seq, title, tags, body, {SCOPE.format(row="crm_kb_articles")} AS scope
        FROM crm_kb_articles""",
    """CREATE VIRTUAL TABLE crm_kb_fts USING fts5(
        title, tags, body, scope,
        content='crm_kb_fts_content', content_rowid='seq',
        tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER crm_kb_fts_insert AFTER INSERT ON crm_kb_articles BEGIN
        INSERT INTO crm_kb_fts(rowid, title, tags, body, scope)
        VALUES (new.seq, new.title, new.tags, new.body, {SCOPE.format(row="new")});
    END""",
    f"""CREATE TRIGGER crm_kb_fts_delete AFTER DELETE ON crm_kb_articles BEGIN
        INSERT INTO crm_kb_fts(crm_kb_fts, rowid, title, tags, body, scope)
        VALUES ('delete', old.seq, old.title, old.tags, old.body, {SCOPE.format(row="old")});
    END""",
    f"""CREATE TRIGGER crm_kb_fts_update
    AFTER UPDATE OF tenant, state, title, tags, body ON crm_kb_articles BEGIN
        INSERT INTO crm_kb_fts(crm_kb_fts, rowid, title, tags, body, scope)
        VALUES ('delete', old.seq, old.title, old.tags, old.body, {SCOPE.format(row="old")});
        INSERT INTO crm_kb_fts(rowid, title, tags, body, scope)
        VALUES (new.seq, new.title, new.tags, new.body, {SCOPE.format(row="new")});
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER crm_kb_fts_update",
    "DROP TRIGGER crm_kb_fts_delete",
    "DROP TRIGGER crm_kb_fts_insert",
    "DROP TABLE crm_kb_fts",
    "DROP VIEW crm_kb_fts_content",
]
POSTGRESQL_UP = [
    """ALTER TABLE crm_kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', tags), 'B')
        || setweight(to_tsvector('english', body), 'C')) STORED""",
    "CREATE INDEX ix_crm_kb_articles_search ON crm_kb_articles USING GIN (search)",
    # Title and tags alone: the search ranks the articles matching there first.
    """ALTER TABLE crm_kb_articles ADD COLUMN search_head tsvector GENERATED ALWAYS AS (
        to_tsvector('english', title || ' ' || tags)) STORED""",
    "CREATE INDEX ix_crm_kb_articles_search_head ON crm_kb_articles USING GIN (search_head)",
    # A frequent word matches most articles: the search then reads every match's vector.
    # Kept in the row (compressed) rather than in TOAST, with the body moved out instead,
    # that read is 5 to 7 times faster (bench/crm_kb_search.py).
    "ALTER TABLE crm_kb_articles ALTER COLUMN search SET STORAGE MAIN",
    "ALTER TABLE crm_kb_articles ALTER COLUMN body SET STORAGE EXTERNAL",
]


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)
    for statement in SQLITE_UP if bind.dialect.name == "sqlite" else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    metadata.drop_all(bind)
