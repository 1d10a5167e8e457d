"""Full-text search on customers' names and companies: FTS5 on SQLite, a ``tsvector``
GIN index on PostgreSQL, both over ``crm_customers.search_name`` (lower case, no accents).
The index itself is made by migration 0004."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ColumnElement, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.store.tables import customers

WORD = re.compile(r"\w+")


def folded(text: str) -> str:
    """Lower case without accents: "Léa" and "LEA" search alike on both databases."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(query: str) -> list[str]:
    return WORD.findall(folded(query))


def matches(conn: AsyncConnection, query: str) -> ColumnElement[bool]:
    """Customers whose name or company has every word of ``query`` (as a prefix, so
    "mart" finds Martin while an agent types)."""
    terms = words(query)
    if conn.dialect.name == "sqlite":
        expression = " ".join(f'"{term}"*' for term in terms)
        hits = (
            select(literal_column("rowid"))
            .select_from(text("crm_customers_fts"))
            .where(text("crm_customers_fts MATCH :expression").bindparams(expression=expression))
        )
        return literal_column("crm_customers.rowid").in_(hits)
    expression = " & ".join(f"{term}:*" for term in terms)
    return func.to_tsvector("simple", customers.c.search_name).op("@@")(
        func.to_tsquery("simple", expression)
    )


async def forget_deleted_terms(conn: AsyncConnection) -> None:
    """FTS5 keeps a deleted row's terms in older index segments until they merge: after
    an erasure, merge them so no trace of the erased names stays in the index."""
    if conn.dialect.name == "sqlite":
        await conn.execute(
            text("INSERT INTO crm_customers_fts(crm_customers_fts) VALUES ('optimize')")
        )
