"""Full-text search on customers' names and companies: FTS5 on SQLite, a ``tsvector``
GIN index on PostgreSQL, both over ``crm_customers.search_name`` (lower case, no accents).
The index itself is made by migration 0004."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm.store.tables import customers

WORD = re.compile(r"\w+")


def folded(text: str) -> str:
    """Lower case without accents: "Léa" and "LEA" search alike on both databases."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(query: str) -> list[str]:
    return WORD.findall(folded(query))


def matches(dialect: str, query: str) -> ColumnElement[bool]:
    """Customers whose name or company has every word of ``query`` (as a prefix, so
    "mart" finds Martin while an agent types)."""
    terms = words(query)
    if dialect == "sqlite":
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


# Sort orders of the customer list: a column, descending with "-"; ties broken by id.
SORTS = {
    "id": customers.c.id,
    "last_name": customers.c.last_name,
    "company": customers.c.company,
    "created_at": customers.c.created_at,
    "updated_at": customers.c.updated_at,
}


def sorted_page(query: Select, sort: str, cursor: str | None, limit: int) -> Select:
    """One page of ``query`` in ``sort`` order, after ``cursor`` (keyset pagination: a page
    is one index range, however deep). Raises ``ValueError`` for a cursor of another sort."""
    column = SORTS[sort.removeprefix("-")]
    descending = sort.startswith("-")
    if cursor is not None:
        after = tuple_(column, customers.c.id)
        key = tuple_(*decode_cursor(cursor, sort))
        query = query.where(after < key if descending else after > key)
    order = (column.desc(), customers.c.id.desc()) if descending else (column, customers.c.id)
    return query.order_by(*order).limit(limit + 1)


def encode_cursor(sort: str, row: Any) -> str:
    key = [row._mapping[SORTS[sort.removeprefix("-")].name], row.id]
    raw = json.dumps({"sort": sort, "after": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = decoded["after"]
        valid = decoded["sort"] == sort and len(key) == 2 and all(isinstance(v, str) for v in key)
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise ValueError("is not a cursor of this listing (sort)")
    return key
