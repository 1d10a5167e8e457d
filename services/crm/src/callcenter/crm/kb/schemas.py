"""What the knowledge base's API takes and gives."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

State = Literal["draft", "published", "archived"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Tab, newline and carriage return are text; other control characters are not (and the
# search's highlight delimiters are control characters).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("holds control characters")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_printable),
]
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000),
    AfterValidator(_printable),
]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=50,
        pattern=r"^[^\s\x00-\x1f\x7f]+$",
    ),
]
Tags = Annotated[list[Tag], Field(max_length=30), AfterValidator(lambda v: list(dict.fromkeys(v)))]
RelatedIds = Annotated[
    list[Id], Field(max_length=20), AfterValidator(lambda v: list(dict.fromkeys(v)))
]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    parent_id: Id | None = None


class CategoryPatch(BaseModel):
    """``parent_id: null`` moves the category to the root; absent leaves it where it is."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    parent_id: Id | None = None


class CategoryOut(BaseModel):
    id: str
    name: str
    parent_id: str | None


class CategoryNode(BaseModel):
    id: str
    name: str
    children: list[CategoryNode]


class CategoryTree(BaseModel):
    items: list[CategoryNode]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: Id
    title: Title
    body: Body
    tags: Tags = Field(default_factory=list)
    related_ids: RelatedIds = Field(default_factory=list)
    publish: bool = False  # publish at once (else a draft)


class ArticlePatch(BaseModel):
    """Only the fields given change; the state stays (publish and archive are their own)."""

    model_config = ConfigDict(extra="forbid")

    category_id: Id | None = None
    title: Title | None = None
    body: Body | None = None
    tags: Tags | None = None
    related_ids: RelatedIds | None = None
    # The version the editor started from: another editor's save in between is a 409.
    expected_version: int | None = Field(default=None, ge=1)


class CategoryStep(BaseModel):
    id: str
    name: str


class ArticleOut(BaseModel):
    id: str
    category_id: str
    category_path: list[CategoryStep]  # from the root down to the article's category
    title: str
    body: str
    tags: list[str]
    related_ids: list[str]
    state: State
    version: int
    created_at: str
    updated_at: str
    updated_by: str
    favorite: bool  # of the calling agent


class ArticleSummary(BaseModel):
    id: str
    category_id: str
    title: str
    tags: list[str]
    state: State
    updated_at: str


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None


class SearchHit(BaseModel):
    id: str
    title: str
    category_id: str
    tags: list[str]
    updated_at: str
    score: float  # higher is better; comparable within one answer only
    title_html: str  # HTML-escaped, matched words in <mark>
    snippet_html: str  # the best passages of the body, HTML-escaped, matches in <mark>


class SearchResult(BaseModel):
    query_terms: list[str]  # the words searched (stop words and punctuation dropped)
    # "all": every hit has every word; "any": none did, hits have some of them.
    matched: Literal["all", "any"]
    items: list[SearchHit]


class RelatedArticle(BaseModel):
    id: str
    title: str
    category_id: str
    reason: Literal["linked", "similar", "same_category"]


class RelatedList(BaseModel):
    items: list[RelatedArticle]


class VersionEntry(BaseModel):
    version: int
    change: Literal["created", "updated", "published", "archived"]
    by: str  # the subject of the token that made the change
    at: str
    state: State
    title: str


class VersionList(BaseModel):
    items: list[VersionEntry]


class FavoriteList(BaseModel):
    items: list[ArticleSummary]
