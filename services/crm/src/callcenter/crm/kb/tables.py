"""The knowledge base's read models; an article's versions are the events of its stream.

Full-text search is kept outside this metadata, by migration 0003: an FTS5 table with
triggers on SQLite, a generated ``tsvector`` column with a GIN index on PostgreSQL.
"""

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from callcenter.events import store

metadata = MetaData()

categories = Table(
    "crm_kb_categories",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("parent_id", String(64), nullable=True),  # None: a root category
    Column("name", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Index("ix_crm_kb_categories_parent", "tenant", "parent_id", "name"),
)

# ``seq`` is the FTS5 table's rowid: an explicit integer key survives VACUUM. The body is
# the last column: SQLite reads a row's columns in order, and search filters each match
# on tenant and state without reading through the body.
articles = Table(
    "crm_kb_articles",
    metadata,
    Column("seq", store.Position, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False),
    Column("state", String(20), nullable=False),  # draft | published | archived
    Column("id", String(64), nullable=False),
    Column("category_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    # Space-separated tags: searched (weighted between title and body) and shown.
    Column("tags", String(2000), nullable=False),
    Column("body", Text, nullable=False),
    Index("ux_crm_kb_articles_id", "tenant", "id", unique=True),
    Index("ix_crm_kb_articles_category", "tenant", "category_id", "state", "title"),
    sqlite_autoincrement=True,
)

# Explicit "see also" links, as the linking article's editors set them; shown both ways.
links = Table(
    "crm_kb_links",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("article_id", String(64), primary_key=True),
    Column("related_id", String(64), primary_key=True),
    Index("ix_crm_kb_links_related", "tenant", "related_id"),
)

favorites = Table(
    "crm_kb_favorites",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("article_id", String(64), primary_key=True),
    Column("added_at", String(40), nullable=False),
    Index("ix_crm_kb_favorites_article", "tenant", "article_id"),
)
