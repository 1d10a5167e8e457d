"""Full-text search over a tenant's published articles, ranked, with highlighted snippets.

SQLite: FTS5 ``MATCH`` ranked by ``bm25`` (title 10, tags 4, body 1).
PostgreSQL: ``@@`` on the weighted ``search`` column (title A, tags B, body C), ``ts_rank``.
Both stem English (Porter); the query's words are reduced to letters and digits and
stop words are dropped here, so both databases see the same terms and no query syntax.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Highlight delimiters the text cannot hold (bodies refuse control characters): the
# snippet is HTML-escaped, then these become <mark> and </mark>.
OPEN, CLOSE = "\x02", "\x03"
WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 12
# PostgreSQL's English stop words (which to_tsquery drops): dropped for SQLite too.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing don down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own s same she should so some such t than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with you your yours yourself yourselves""".split()
)


def terms(query: str) -> list[str]:
    """The searchable words of ``query``, lower-cased, in order, once each."""
    words = [word.lower() for word in WORD.findall(query)]
    kept = [word for word in words if word not in STOP_WORDS and len(word) <= 64]
    return list(dict.fromkeys(kept))[:MAX_TERMS]


@dataclass
class Hit:
    id: str
    title: str
    category_id: str
    tags: list[str]
    updated_at: str
    score: float
    title_html: str
    snippet_html: str


def marked(fragment: str) -> str:
    return html.escape(fragment).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def _fts5_match(words: list[str], *, every: bool, prefix_last: bool) -> str:
    quoted = [f'"{word}"' for word in words]
    if prefix_last and len(words[-1]) >= 3:
        quoted[-1] += "*"
    return (" " if every else " OR ").join(quoted)


def _tsquery(words: list[str], *, every: bool, prefix_last: bool) -> str:
    parts = list(words)
    if prefix_last and len(words[-1]) >= 3:
        parts[-1] += ":*"
    return (" & " if every else " | ").join(parts)


SQLITE = """
SELECT a.id, a.title, a.category_id, a.tags, a.updated_at, -top.rank AS score,
       highlight(crm_kb_fts, 0, :open, :close) AS title_marked,
       snippet(crm_kb_fts, 2, :open, :close, '…', 24) AS snippet
FROM (
    SELECT f.rowid AS seq, bm25(crm_kb_fts, 10.0, 4.0, 1.0) AS rank
    FROM crm_kb_fts AS f JOIN crm_kb_articles AS a ON a.seq = f.rowid
    WHERE crm_kb_fts MATCH :match AND a.tenant = :tenant AND a.state = 'published' {scope}
    ORDER BY rank LIMIT :limit
) AS top
JOIN crm_kb_fts ON crm_kb_fts.rowid = top.seq
JOIN crm_kb_articles AS a ON a.seq = top.seq
WHERE crm_kb_fts MATCH :match
ORDER BY top.rank
"""

# ts_headline is costly: only for the page of hits, after ranking.
POSTGRESQL = """
WITH q AS (SELECT to_tsquery('english', :match) AS query),
top AS (
    SELECT a.id, a.title, a.body, a.category_id, a.tags, a.updated_at,
           ts_rank(a.search, q.query) AS score
    FROM crm_kb_articles AS a, q
    WHERE a.tenant = :tenant AND a.state = 'published' AND a.search @@ q.query {scope}
    ORDER BY score DESC, a.id LIMIT :limit
)
SELECT top.id, top.title, top.category_id, top.tags, top.updated_at, top.score,
       ts_headline('english', top.title, q.query,
                   'HighlightAll=true, StartSel=' || :open || ', StopSel=' || :close)
           AS title_marked,
       ts_headline('english', top.body, q.query,
                   'MaxFragments=2, MaxWords=24, MinWords=8, FragmentDelimiter=" … ", '
                   || 'StartSel=' || :open || ', StopSel=' || :close) AS snippet
FROM top, q
ORDER BY top.score DESC, top.id
"""


async def search(
    conn: AsyncConnection,
    tenant: str,
    words: list[str],
    *,
    every: bool = True,
    prefix_last: bool = True,
    category_ids: set[str] | None = None,
    limit: int = 10,
) -> list[Hit]:
    """Published articles matching every word (or any, ``every=False``), best first.

    ``prefix_last`` lets the last word match as a prefix (the agent may still be typing).
    """
    if not words:
        return []
    params: dict[str, object] = {"tenant": tenant, "limit": limit, "open": OPEN, "close": CLOSE}
    scope = ""
    if category_ids is not None:
        names = [f"c{index}" for index in range(len(category_ids))]
        scope = f"AND a.category_id IN ({', '.join(':' + name for name in names)})"
        params.update(zip(names, sorted(category_ids), strict=True))
    if conn.dialect.name == "postgresql":
        params["match"] = _tsquery(words, every=every, prefix_last=prefix_last)
        statement = POSTGRESQL
    else:
        params["match"] = _fts5_match(words, every=every, prefix_last=prefix_last)
        statement = SQLITE
    rows = await conn.execute(text(statement.format(scope=scope)), params)
    return [
        Hit(
            id=row.id,
            title=row.title,
            category_id=row.category_id,
            tags=row.tags.split(),
            updated_at=row.updated_at,
            score=round(float(row.score), 6),
            title_html=marked(row.title_marked),
            snippet_html=marked(row.snippet),
        )
        for row in rows
    ]
