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


def terms(query: str, *, typing: bool = True) -> list[str]:
    """The searchable words of ``query``, lower-cased, in order, once each.

    While ``typing``, the last word may be the start of another ("out" of "outage"): kept
    even if a stop word, from three letters on.
    """
    words = [word.lower() for word in WORD.findall(query) if len(word) <= 64]
    kept = [word for word in words if word not in STOP_WORDS]
    if typing and words and words[-1] in STOP_WORDS and len(words[-1]) >= 3:
        kept.append(words[-1])
    return list(dict.fromkeys(kept))[-MAX_TERMS:]


def typed(word: str) -> str:
    """The prefix to look for, for a word that may be cut short or complete. The index
    holds stems ("roam" for "roaming", "mobil" for "mobile"), which the word as typed may
    run past ("roamin"): all but its last three letters are kept, and at least four."""
    return word[: max(4, len(word) - 3)]


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


def _fts5_match(words: list[str], prefix: str | None, *, every: bool) -> str:
    quoted = [f'"{word}"' for word in words] + ([f'"{prefix}"*'] if prefix else [])
    return "(" + (" " if every else " OR ").join(quoted) + ")"


def _tsquery(
    words: list[str], prefix: str | None, *, every: bool, name: str = "q"
) -> tuple[str, dict[str, str]]:
    """An expression for the query, and its parameters. The prefix is taken stemmed
    ("refunds" as "refund") or as typed ("out" of "outage": a stop word, else dropped)."""
    parts, params = [], {}
    if words:
        parts.append(f"to_tsquery('english', :{name}_words)")
        params[f"{name}_words"] = (" & " if every else " | ").join(words)
    if prefix:
        parts.append(
            f"(to_tsquery('english', :{name}_prefix) || to_tsquery('simple', :{name}_prefix))"
        )
        params[f"{name}_prefix"] = f"{prefix}:*"
    return (" && " if every else " || ").join(parts), params


# The page of hits is ranked first, then highlighted (snippets are costly). The tenant
# and state are a token of the index (column scope, see migration 0003): the ranking
# reads the index alone. CROSS JOIN fixes the order of the loops: the page, then its
# highlights (else SQLite may walk every match again).
SQLITE = """
SELECT a.id, a.title, a.category_id, a.tags, a.updated_at, -top.rank AS score,
       highlight(crm_kb_fts, 0, :open, :close) AS title_marked,
       snippet(crm_kb_fts, 2, :open, :close, '…', 24) AS snippet
FROM (
    SELECT rowid AS seq, bm25(crm_kb_fts, 10.0, 4.0, 1.0, 0.0) AS rank
    FROM crm_kb_fts
    WHERE crm_kb_fts MATCH :ranked {scope}
    ORDER BY rank LIMIT :limit
) AS top
CROSS JOIN crm_kb_fts ON crm_kb_fts.rowid = top.seq
CROSS JOIN crm_kb_articles AS a ON a.seq = top.seq
WHERE crm_kb_fts MATCH :match
ORDER BY top.rank
"""
SQLITE_CATEGORIES = """AND rowid IN (
    SELECT seq FROM crm_kb_articles WHERE tenant = :tenant AND category_id IN ({names}))"""

POSTGRESQL = """
WITH q AS (SELECT {query} AS query, {head} AS head),
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
HEAD_ONLY = "AND a.search_head @@ q.head"


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
    Articles with one of the words in their title or tags are ranked first, among
    themselves; the others only fill a page those leave short. A frequent word matches
    most articles, and ranking every match is the cost of a search: this ranks few.
    """
    if not words:
        return []
    prefix = None
    if prefix_last and len(words[-1]) >= 3:
        words, prefix = words[:-1], typed(words[-1])
    params: dict[str, object] = {"tenant": tenant, "limit": limit, "open": OPEN, "close": CLOSE}
    names = ""
    if category_ids is not None:
        keys = [f"c{index}" for index in range(len(category_ids))]
        names = ", ".join(":" + key for key in keys)
        params.update(zip(keys, sorted(category_ids), strict=True))
    if conn.dialect.name == "postgresql":
        scope = f"AND a.category_id IN ({names})" if names else ""
        query, query_params = _tsquery(words, prefix, every=every)
        head, head_params = _tsquery(words, prefix, every=False, name="head")
        params.update(query_params, **head_params)
        first = POSTGRESQL.format(scope=f"{scope} {HEAD_ONLY}", query=query, head=head)
        rest = POSTGRESQL.format(scope=scope, query=query, head=head)
        first_params = rest_params = params
    else:
        match = _fts5_match(words, prefix, every=every)
        published = f'{{scope}}: "publishedx{tenant.encode().hex()}"'
        head = "{title tags}: " + _fts5_match(words, prefix, every=False)
        first = rest = SQLITE.format(scope=SQLITE_CATEGORIES.format(names=names) if names else "")
        first_params = {**params, "match": match, "ranked": f"{published} AND {match} AND {head}"}
        rest_params = {**params, "match": match, "ranked": f"{published} AND {match}"}
    rows = (await conn.execute(text(first), first_params)).all()
    if len(rows) < limit:
        rows = (await conn.execute(text(rest), rest_params)).all()
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
