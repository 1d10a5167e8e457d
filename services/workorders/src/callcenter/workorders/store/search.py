"""Full-text search over tickets' titles, descriptions and notes.

One row per ticket in ``workorders_ticket_texts`` (keyed by the ticket row's
position), indexed by SQLite FTS5 (an external-content table kept by triggers)
or by a generated PostgreSQL ``tsvector`` column with a GIN index; both fold
case, and neither stems, drops stop words or folds accents (tickets mix
languages, names and numbers, and both databases must find the same tickets).
Neither tokenizer splits Chinese or Japanese text into words, so the stored
text puts a space between such characters and a query matches them as a
phrase: 打印机 finds 打印机坏了.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Select,
    String,
    Table,
    Text,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from callcenter.events import store
from callcenter.workorders.store.tables import tickets

metadata = MetaData()  # apart from the tickets' tables: created by migration 0003

ticket_texts = Table(
    "workorders_ticket_texts",
    metadata,
    Column("position", store.Position, primary_key=True, autoincrement=False),
    Column("title", String(500), nullable=False),
    Column("description", Text, nullable=False),
    Column("notes", Text, nullable=False),
)

FTS = table("workorders_ticket_texts_fts", column("rowid"))

SQLITE_UP = [
    """CREATE VIRTUAL TABLE workorders_ticket_texts_fts USING fts5(
        title, description, notes,
        content='workorders_ticket_texts', content_rowid='position',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER workorders_ticket_texts_insert AFTER INSERT ON workorders_ticket_texts
    BEGIN
        INSERT INTO workorders_ticket_texts_fts(rowid, title, description, notes)
        VALUES (new.position, new.title, new.description, new.notes);
    END""",
    """CREATE TRIGGER workorders_ticket_texts_delete AFTER DELETE ON workorders_ticket_texts
    BEGIN
        INSERT INTO workorders_ticket_texts_fts(workorders_ticket_texts_fts, rowid, title,
                                                description, notes)
        VALUES ('delete', old.position, old.title, old.description, old.notes);
    END""",
    """CREATE TRIGGER workorders_ticket_texts_update AFTER UPDATE ON workorders_ticket_texts
    BEGIN
        INSERT INTO workorders_ticket_texts_fts(workorders_ticket_texts_fts, rowid, title,
                                                description, notes)
        VALUES ('delete', old.position, old.title, old.description, old.notes);
        INSERT INTO workorders_ticket_texts_fts(rowid, title, description, notes)
        VALUES (new.position, new.title, new.description, new.notes);
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER workorders_ticket_texts_update",
    "DROP TRIGGER workorders_ticket_texts_delete",
    "DROP TRIGGER workorders_ticket_texts_insert",
    "DROP TABLE workorders_ticket_texts_fts",
]
POSTGRESQL_UP = [
    """ALTER TABLE workorders_ticket_texts ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', title || ' ' || description || ' ' || notes)) STORED""",
    """CREATE INDEX ix_workorders_ticket_texts_search ON workorders_ticket_texts
        USING GIN (search)""",
    # Word frequencies for the planner (ten times the default sample): with the
    # default, a word in one ticket of 5,000 was estimated 25 times more common,
    # so a page walked the newest tickets for it instead of using the index.
    "ALTER TABLE workorders_ticket_texts ALTER COLUMN search SET STATISTICS 1000",
]

# Han, kana, hangul: scripts written without spaces between words.
UNSPACED = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])")
WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 16
# More matches than this, and a search narrowed to a customer's or an agent's
# tickets walks those instead of the matches (an agent has about 2,000 per 1M).
COMMON = 2_000


def indexable(value: str) -> str:
    """The text as stored for the index: unspaced scripts one character per word."""
    return UNSPACED.sub(r" \1 ", value)


def query_words(query: str) -> list[list[str]]:
    """The query's words, each a list of tokens (several: a phrase), all lower case."""
    words = []
    for word in WORD.findall(query.lower())[:MAX_WORDS]:
        words.append(indexable(word).split())
    return words


def search(
    query: Select[Any],
    dialect: str,
    words: list[list[str]],
    before: int | None,
    *,
    narrowed: bool = False,
) -> Select[Any]:
    """``query`` (over ``workorders_tickets``) narrowed to tickets whose texts hold
    every word, newest first, before the cursor's position.

    On SQLite the FTS table drives (it yields positions in descending order from
    the cursor on, so a page stops after ``limit`` matches) unless ``narrowed``:
    the other filters leave few tickets (a customer's, an agent's) and the words
    are common (``common``), so those tickets are walked and each is looked up
    in the FTS table instead. PostgreSQL's planner makes that choice itself."""
    assert words, "a search needs at least one word"
    if dialect == "sqlite":
        match = _fts_match(words)
        if narrowed:
            if before is not None:
                query = query.where(tickets.c.position < before)
            found = select(FTS.c.rowid).where(match, FTS.c.rowid == tickets.c.position)
            return query.where(found.exists()).order_by(tickets.c.position.desc())
        query = query.join_from(FTS, tickets, tickets.c.position == FTS.c.rowid).where(match)
        if before is not None:
            query = query.where(FTS.c.rowid < before)
        return query.order_by(FTS.c.rowid.desc())
    if before is not None:  # on both sides: PostgreSQL carries equalities across a join only
        query = query.where(tickets.c.position < before, ticket_texts.c.position < before)
    expression = " & ".join("(" + " <-> ".join(tokens) + ")" for tokens in words)
    tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), expression)
    return (
        query.join(ticket_texts, ticket_texts.c.position == tickets.c.position)
        .where(literal_column("workorders_ticket_texts.search").op("@@")(tsquery))
        .order_by(tickets.c.position.desc())
    )


def _fts_match(words: list[list[str]]) -> TextClause:
    expression = " ".join('"' + " ".join(tokens) + '"' for tokens in words)
    return text("workorders_ticket_texts_fts MATCH :terms").bindparams(terms=expression)


async def common(conn: AsyncConnection, words: list[list[str]]) -> bool:
    """Whether more than ``COMMON`` tickets hold the words (SQLite; reads at most
    that many positions from the index)."""
    found = select(FTS.c.rowid).where(_fts_match(words)).limit(COMMON + 1).subquery()
    return await conn.scalar(select(func.count()).select_from(found)) > COMMON
