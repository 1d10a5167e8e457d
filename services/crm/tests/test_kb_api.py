"""The knowledge base through the API, as supervisors write it and agents read it from
their console, on both databases.

The tests of this module share one database per backend (migrating one per test costs
more than the tests): each test has tenants of its own, which tenant isolation keeps
apart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from callcenter.crm.app import create_app
from callcenter.crm.kb.demo import load_demo_articles
from callcenter.crm.kb.tables import articles, categories
from callcenter.crm.settings import Settings
from callcenter.events import store
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import (
    create_postgres_database,
    drop_postgres_database,
    selected_backends,
)

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"


@pytest.fixture(scope="module", params=selected_backends())
def kb_database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}"
        upgrade("callcenter.crm", url)
        yield url
        return
    server = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server, "cc_test_kb")
    upgrade("callcenter.crm", url)
    yield url
    drop_postgres_database(server, url)


def headers(tenant: str, role: Role, subject: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


@dataclass
class Desk:
    """A CRM for one test: its tenant ("acme"), another one ("globex"), and their people."""

    client: TestClient
    database_url: str
    tenant: str
    other_tenant: str

    def __post_init__(self) -> None:
        self.alice = headers(self.tenant, Role.AGENT, "alice")
        self.bob = headers(self.tenant, Role.AGENT, "bob")
        self.sam = headers(self.tenant, Role.SUPERVISOR, "sam")
        self.ada = headers(self.tenant, Role.ADMIN, "ada")
        self.gus = headers(self.other_tenant, Role.SUPERVISOR, "gus")
        self.gia = headers(self.other_tenant, Role.AGENT, "gia")


@pytest.fixture
def kb(kb_database_url, kafka, tmp_path) -> Iterator[Desk]:
    settings = Settings(
        database_url=kb_database_url,
        kafka=kafka,
        data_dir=tmp_path,
        signing_key=KEY,
        run_consumers=False,
        run_relay=False,  # the database is shared: see test_article_events_reach_the_crm_topic
        demo_tenant="",
    )
    with TestClient(create_app(settings)) as client:
        suffix = uuid.uuid4().hex[:8]
        yield Desk(client, kb_database_url, f"acme-{suffix}", f"globex-{suffix}")


def run(database_url: str, work):
    async def go():
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(go())


def count(kb: Desk, table) -> int:
    """Rows of the test's tenant."""
    query = select(func.count()).select_from(table).where(table.c.tenant == kb.tenant)
    return run(kb.database_url, lambda conn: conn.scalar(query))


def category(kb: Desk, name: str, parent_id: str | None = None, by=None) -> str:
    answer = kb.client.post(
        "/v1/kb/categories", json={"name": name, "parent_id": parent_id}, headers=by or kb.sam
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def article(kb: Desk, category_id: str, title: str, body: str, by=None, **more) -> dict:
    answer = kb.client.post(
        "/v1/kb/articles",
        json={"category_id": category_id, "title": title, "body": body, **more},
        headers=by or kb.sam,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def search(kb: Desk, q: str, by=None, **params) -> dict:
    answer = kb.client.get("/v1/kb/search", params={"q": q, **params}, headers=by or kb.alice)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_problem(answer, status: int, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
        assert field in answer.json()["detail"]


def test_supervisors_write_agents_read_published_articles_with_their_category_path(kb):
    client = kb.client
    billing = category(kb, "Billing")
    cards = category(kb, "Payment methods", billing)
    draft = article(kb, cards, "Change the payment card", "Send the secure link.")
    assert draft["state"] == "draft"
    assert draft["updated_by"] == "sam"

    assert_problem(client.get(f"/v1/kb/articles/{draft['id']}", headers=kb.alice), 404)
    assert search(kb, "payment card")["items"] == []
    assert_problem(client.get("/v1/kb/articles?state=draft", headers=kb.alice), 403)
    listed = client.get(f"/v1/kb/articles?state=draft&category_id={cards}", headers=kb.sam)
    assert [item["id"] for item in listed.json()["items"]] == [draft["id"]]

    published = client.post(f"/v1/kb/articles/{draft['id']}/publish", headers=kb.ada)
    assert published.json()["state"] == "published"
    seen = client.get(f"/v1/kb/articles/{draft['id']}", headers=kb.alice).json()
    assert seen["title"] == "Change the payment card"
    assert seen["category_path"] == [
        {"id": billing, "name": "Billing"},
        {"id": cards, "name": "Payment methods"},
    ]
    assert seen["favorite"] is False
    assert [hit["id"] for hit in search(kb, "payment card")["items"]] == [draft["id"]]

    assert_problem(client.post("/v1/kb/categories", json={"name": "X"}, headers=kb.alice), 403)
    assert_problem(
        client.post(
            "/v1/kb/articles",
            json={"category_id": billing, "title": "t", "body": "b"},
            headers=kb.alice,
        ),
        403,
    )
    assert_problem(client.post(f"/v1/kb/articles/{draft['id']}/archive", headers=kb.alice), 403)

    client.post(f"/v1/kb/articles/{draft['id']}/archive", headers=kb.sam)
    assert_problem(client.get(f"/v1/kb/articles/{draft['id']}", headers=kb.alice), 404)
    assert search(kb, "payment card")["items"] == []


def test_search_ranks_title_over_body_stems_and_highlights_safely(kb):
    billing = category(kb, "Billing")
    in_title = article(kb, billing, "Refund a double charge", "Check both payments.", publish=True)
    in_body = article(
        kb,
        billing,
        "Explain the invoice",
        "The invoice lists fees < 5 & taxes; a refund appears on the next one.",
        publish=True,
    )
    article(kb, billing, "Change the payment card", "Use the link.", publish=True)
    article(kb, billing, "Refunds for drafts", "Not visible to agents.")  # a draft

    found = search(kb, "refunds")
    assert found["query_terms"] == ["refunds"]
    assert found["matched"] == "all"
    assert [hit["id"] for hit in found["items"]] == [in_title["id"], in_body["id"]]
    assert found["items"][0]["score"] > found["items"][1]["score"]
    assert found["items"][0]["title_html"] == "<mark>Refund</mark> a double charge"
    snippet = found["items"][1]["snippet_html"]
    assert "<mark>refund</mark>" in snippet
    assert "fees &lt; 5 &amp; taxes" in snippet  # the body is text: escaped

    # As the agent types: the last word is a prefix.
    assert [hit["id"] for hit in search(kb, "double cha")["items"]] == [in_title["id"]]
    # Typed past the stem ("charg" of "charging"): still found.
    assert [hit["id"] for hit in search(kb, "double chargin")["items"]] == [in_title["id"]]
    # No article has every word: those with any of them, flagged.
    partial = search(kb, "refund wifi")
    assert partial["matched"] == "any"
    assert {hit["id"] for hit in partial["items"]} == {in_title["id"], in_body["id"]}
    # Query syntax and stop words are only words to us.
    assert [hit["id"] for hit in search(kb, 'the "refund" AND (double*')["items"]] == [
        in_title["id"]
    ]
    assert search(kb, "nothing matches this")["items"] == []


def test_search_narrows_to_a_category_and_those_below_it(kb):
    client = kb.client
    tech = category(kb, "Technical support")
    mobile = category(kb, "Mobile", tech)
    billing = category(kb, "Billing")
    sim = article(kb, mobile, "Activate a new SIM", "Restart the phone.", publish=True)
    article(kb, billing, "Phone bill explained", "Restart nothing.", publish=True)
    hits = search(kb, "restart", category_id=tech)["items"]
    assert [hit["id"] for hit in hits] == [sim["id"]]
    assert len(search(kb, "restart")["items"]) == 2
    assert_problem(
        client.get("/v1/kb/search?q=restart&category_id=nope", headers=kb.alice),
        422,
        "query.category_id",
    )


def test_each_tenant_sees_only_its_own_knowledge_base(kb):
    client = kb.client
    billing = category(kb, "Billing")
    mine = article(kb, billing, "Refund a double charge", "Refund it.", publish=True)
    client.put(f"/v1/kb/favorites/{mine['id']}", headers=kb.alice)

    assert client.get("/v1/kb/categories", headers=kb.gia).json() == {"items": []}
    assert_problem(client.get(f"/v1/kb/articles/{mine['id']}", headers=kb.gia), 404)
    assert search(kb, "refund", by=kb.gia)["items"] == []
    assert client.get("/v1/kb/favorites", headers=kb.gia).json() == {"items": []}
    assert_problem(client.put(f"/v1/kb/favorites/{mine['id']}", headers=kb.gia), 404)
    assert_problem(client.post(f"/v1/kb/articles/{mine['id']}/archive", headers=kb.gus), 404)
    assert_problem(
        client.patch(f"/v1/kb/articles/{mine['id']}", json={"title": "x"}, headers=kb.gus),
        404,
    )
    # Another tenant's category or article cannot be referred to.
    theirs = category(kb, "Billing", by=kb.gus)  # same name: fine
    answer = client.post(
        "/v1/kb/articles",
        json={"category_id": billing, "title": "t", "body": "b"},
        headers=kb.gus,
    )
    assert_problem(answer, 422, "body.category_id")
    answer = client.post(
        "/v1/kb/articles",
        json={"category_id": theirs, "title": "t", "body": "b", "related_ids": [mine["id"]]},
        headers=kb.gus,
    )
    assert_problem(answer, 422, "body.related_ids.0")
    assert_problem(
        client.post("/v1/kb/categories", json={"name": "Sub", "parent_id": billing},
                    headers=kb.gus),
        422, "body.parent_id",
    )  # fmt: skip


def test_favorites_belong_to_the_calling_agent(kb):
    client = kb.client
    billing = category(kb, "Billing")
    first = article(kb, billing, "Refund a double charge", "Refund.", publish=True)
    second = article(kb, billing, "Explain the invoice", "Invoice.", publish=True)

    for article_id in (first["id"], second["id"], first["id"]):  # again: no change
        assert client.put(f"/v1/kb/favorites/{article_id}", headers=kb.alice).status_code == 204
    alices = client.get("/v1/kb/favorites", headers=kb.alice).json()["items"]
    assert [item["id"] for item in alices] == [second["id"], first["id"]]  # last added first
    assert client.get("/v1/kb/favorites", headers=kb.bob).json()["items"] == []
    assert client.get(f"/v1/kb/articles/{first['id']}", headers=kb.alice).json()["favorite"]
    assert not client.get(f"/v1/kb/articles/{first['id']}", headers=kb.bob).json()["favorite"]

    assert client.delete(f"/v1/kb/favorites/{first['id']}", headers=kb.alice).status_code == 204
    assert client.delete(f"/v1/kb/favorites/{first['id']}", headers=kb.alice).status_code == 204
    client.post(f"/v1/kb/articles/{second['id']}/archive", headers=kb.sam)
    assert client.get("/v1/kb/favorites", headers=kb.alice).json()["items"] == []
    assert_problem(client.put("/v1/kb/favorites/missing", headers=kb.alice), 404)


def test_every_change_is_a_version_with_who_and_when(kb):
    client = kb.client
    billing = category(kb, "Billing")
    complaints = category(kb, "Complaints")
    created = article(kb, billing, "Goodwill credit", "Up to 10 euros.", tags=["credit"])
    article_id = created["id"]
    url = f"/v1/kb/articles/{article_id}"
    edited = client.patch(url, json={"body": "Up to 20 euros.", "expected_version": 1},
                          headers=kb.sam)  # fmt: skip
    assert edited.json()["version"] == 2
    client.post(f"{url}/publish", headers=kb.ada)
    moved = client.patch(url, json={"category_id": complaints, "title": "Goodwill credit"},
                         headers=kb.ada)  # fmt: skip
    assert moved.json()["state"] == "published"  # an edit keeps the state
    assert moved.json()["version"] == 4
    # Nothing changed: no new version.
    same = client.patch(url, json={"title": "Goodwill credit"}, headers=kb.ada)
    assert same.json()["version"] == 4
    stale = client.patch(url, json={"title": "Late", "expected_version": 2}, headers=kb.ada)
    assert_problem(stale, 409, "body.expected_version")
    assert stale.json()["current_version"] == 4

    history = client.get(f"{url}/versions", headers=kb.alice).json()["items"]
    assert [(v["version"], v["change"], v["by"], v["state"]) for v in history] == [
        (1, "created", "sam", "draft"),
        (2, "updated", "sam", "draft"),
        (3, "published", "ada", "published"),
        (4, "updated", "ada", "published"),
    ]
    assert [v["at"] for v in history] == sorted(v["at"] for v in history)
    first = client.get(f"{url}/versions/1", headers=kb.alice).json()
    assert (first["body"], first["category_id"], first["tags"]) == (
        "Up to 10 euros.", billing, ["credit"],
    )  # fmt: skip
    assert first["category_path"] == [{"id": billing, "name": "Billing"}]
    assert_problem(client.get(f"{url}/versions/5", headers=kb.alice), 404)
    assert_problem(client.get(f"{url}/versions/0", headers=kb.alice), 422, "path.version")

    envelopes = run(
        kb.database_url, lambda conn: store.read_stream(conn, f"kb-article:{article_id}")
    )
    assert [e.type for e in envelopes] == [
        "KbArticleCreated", "KbArticleUpdated", "KbArticlePublished", "KbArticleUpdated",
    ]  # fmt: skip
    assert envelopes[1].data.body == "Up to 20 euros." and envelopes[1].data.title is None
    assert {e.tenant for e in envelopes} == {kb.tenant}


def test_related_articles_are_linked_then_similar_then_same_category(kb):
    client = kb.client
    billing = category(kb, "Billing")
    tech = category(kb, "Technical support")
    refund = article(kb, billing, "Refund a double charge", "Refund.",
                     tags=["refund"], publish=True)  # fmt: skip
    credit = article(kb, billing, "Goodwill credit", "Credit on the next invoice.",
                     related_ids=[refund["id"]], publish=True)  # fmt: skip
    similar = article(kb, tech, "Charge refused at the shop", "Card issue.",
                      publish=True)  # fmt: skip
    invoice = article(kb, billing, "Explain the invoice", "Lines.", publish=True)
    article(kb, billing, "A refund draft", "Not for agents.", tags=["refund"])

    related = client.get(f"/v1/kb/articles/{refund['id']}/related", headers=kb.alice).json()
    assert [(item["id"], item["reason"]) for item in related["items"]] == [
        (credit["id"], "linked"),  # linked from the other side
        (similar["id"], "similar"),  # shares "charge"
        (invoice["id"], "same_category"),
    ]
    one = client.get(f"/v1/kb/articles/{credit['id']}/related?limit=1", headers=kb.alice)
    assert [item["id"] for item in one.json()["items"]] == [refund["id"]]
    assert_problem(
        client.patch(f"/v1/kb/articles/{refund['id']}", json={"related_ids": [refund["id"]]},
                     headers=kb.sam),
        422, "body.related_ids.0",
    )  # fmt: skip


def test_categories_form_a_tree_without_cycles_and_only_empty_ones_go(kb):
    client = kb.client
    tech = category(kb, "Technical support")
    mobile = category(kb, "Mobile", tech)
    sim = category(kb, "SIM", mobile)
    category(kb, "Billing")
    tree = client.get("/v1/kb/categories", headers=kb.alice).json()["items"]
    assert [(node["name"], [c["name"] for c in node["children"]]) for node in tree] == [
        ("Billing", []),
        ("Technical support", ["Mobile"]),
    ]
    cycle = client.patch(f"/v1/kb/categories/{tech}", json={"parent_id": sim},
                         headers=kb.sam)  # fmt: skip
    assert_problem(cycle, 422, "body.parent_id")
    clash = client.post("/v1/kb/categories", json={"name": "mobile", "parent_id": tech},
                        headers=kb.sam)  # fmt: skip
    assert_problem(clash, 422, "body.name")
    to_root = client.patch(f"/v1/kb/categories/{sim}", json={"parent_id": None},
                           headers=kb.sam)  # fmt: skip
    assert to_root.json() == {"id": sim, "name": "SIM", "parent_id": None}

    article(kb, mobile, "Activate a SIM", "Wait two hours.")
    assert_problem(client.delete(f"/v1/kb/categories/{mobile}", headers=kb.sam), 409)
    assert client.delete(f"/v1/kb/categories/{sim}", headers=kb.sam).status_code == 204
    assert_problem(client.delete(f"/v1/kb/categories/{sim}", headers=kb.sam), 404)
    assert count(kb, categories) == 3
    envelopes = run(kb.database_url, lambda conn: store.read_stream(conn, f"kb-category:{sim}"))
    assert [e.type for e in envelopes] == [
        "KbCategoryCreated", "KbCategoryChanged", "KbCategoryDeleted",
    ]  # fmt: skip


def test_a_tenant_named_in_any_script_finds_its_articles(kb):
    tenant = f"Café Crème ✓ 東京 {kb.tenant}"
    writer, reader = headers(tenant, Role.SUPERVISOR, "sam"), headers(tenant, Role.AGENT, "al")
    billing = category(kb, "Billing", by=writer)
    mine = article(kb, billing, "Refund a double charge", "Refund it.", by=writer, publish=True)
    assert [hit["id"] for hit in search(kb, "refund", by=reader)["items"]] == [mine["id"]]
    assert search(kb, "refund")["items"] == []  # kb.tenant, whose name ends this one's


BAD_ARTICLES = [
    ({"title": "t", "body": "b"}, "body.category_id"),
    ({"category_id": "c", "body": "b"}, "body.title"),
    ({"category_id": "c", "title": "  ", "body": "b"}, "body.title"),
    ({"category_id": "c", "title": "t", "body": "b\x02"}, "body.body"),
    ({"category_id": "c", "title": "t", "body": "b", "tags": ["two words"]}, "body.tags.0"),
    ({"category_id": "c", "title": "t", "body": "b", "related_ids": ["a/b"]}, "body.related_ids.0"),
    ({"category_id": "c", "title": "t", "body": "b", "state": "published"}, "body.state"),
    ({"category_id": "nope", "title": "t", "body": "b"}, "body.category_id"),
]


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(kb):
    client = kb.client
    for body, field in BAD_ARTICLES:
        answer = client.post("/v1/kb/articles", json=body, headers=kb.sam)
        assert_problem(answer, 422, field)
    for params, field in [
        ({}, "query.q"),
        ({"q": ""}, "query.q"),
        ({"q": "the and of ?!"}, "query.q"),
        ({"q": "x" * 501}, "query.q"),
        ({"q": "refund", "limit": 0}, "query.limit"),
        ({"q": "refund", "limit": 51}, "query.limit"),
    ]:
        answer = client.get("/v1/kb/search", params=params, headers=kb.alice)
        assert_problem(answer, 422, field)
    assert_problem(client.get("/v1/kb/search?q=refund"), 401)
    answer = client.post("/v1/kb/categories", json={"name": ""}, headers=kb.sam)
    assert_problem(answer, 422, "body.name")
    assert count(kb, articles) == 0
    assert count(kb, categories) == 0
    assert count(kb, store.events) == 0


def test_demo_articles_load_once_and_answer_a_billing_question(kb):
    async def load() -> tuple[int, int]:
        db = Database(kb.database_url)
        try:
            return await load_demo_articles(db, kb.tenant), await load_demo_articles(db, kb.tenant)
        finally:
            await db.dispose()

    first, again = asyncio.run(load())
    assert first >= 6 and again == 0
    client = kb.client
    hits = search(kb, "customer charged twice")["items"]
    assert hits[0]["title"] == "Refund a double charge"
    roots = [
        node["name"] for node in client.get("/v1/kb/categories", headers=kb.alice).json()["items"]
    ]
    assert roots == ["Billing", "Complaints", "Technical support"]


# Letters, digits, and FTS5 and tsquery syntax.
QUERY_TEXT = st.lists(
    st.sampled_from(
        [*"abcdefghijklmnopqrstuvwxyzéü0123456789 \"*():^-+{}.,?!'_&|<>", "AND", "NEAR"]
    ),
    max_size=30,
).map("".join)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=QUERY_TEXT)
def test_any_query_text_is_words_to_search_never_syntax(kb, q):
    """Whatever an agent types, the answer is hits of their tenant's published articles,
    or a 422 naming query.q: never a database error."""
    if not hasattr(kb, "published"):  # once per database: hypothesis reuses the fixture
        billing = category(kb, "Billing")
        kb.published = {
            article(kb, billing, title, body, publish=True)["id"]
            for title, body in [
                ("Refund a double charge", "Check both payments and refund one (AND not two)."),
                ("Router lights", 'A "red" light: restart; {a} b* c^2 - e+f.'),
            ]
        }
        article(kb, billing, "Draft about refunds", "Hidden.")
        category(kb, "Billing", by=kb.gus)
    answer = kb.client.get("/v1/kb/search", params={"q": q}, headers=kb.alice)
    if answer.status_code == 422:
        assert answer.json()["errors"][0]["field"] == "query.q"
        return
    assert answer.status_code == 200, answer.text
    assert {hit["id"] for hit in answer.json()["items"]} <= kb.published


def test_article_events_reach_the_crm_topic(crm, kafka, read_topic):
    """Through the relay and the real broker, on a database of its own."""
    with crm() as client:
        billing = client.post("/v1/kb/categories", json={"name": "Billing"}, headers=SUPERVISOR)
        body = {"category_id": billing.json()["id"], "title": "Refund", "body": "How to."}
        created = client.post("/v1/kb/articles", json=body, headers=SUPERVISOR).json()
        client.post(f"/v1/kb/articles/{created['id']}/publish", headers=SUPERVISOR)
        client.post(f"/v1/kb/articles/{created['id']}/archive", headers=SUPERVISOR)
        seen = asyncio.run(read_topic(kafka, "callcenter.crm", until="KbArticleArchived"))
    assert [kind for kind, subject in seen if subject == f"kb-article:{created['id']}"] == [
        "KbArticleCreated", "KbArticlePublished", "KbArticleArchived",
    ]  # fmt: skip


SUPERVISOR = headers("acme", Role.SUPERVISOR, "sam")
