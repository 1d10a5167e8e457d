"""The knowledge base through the API, as supervisors write it and agents read it from
their console, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.crm.kb.demo import load_demo_articles
from callcenter.crm.kb.tables import articles, categories
from callcenter.events import store
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py


def token(role: Role, subject: str, tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


ALICE = token(Role.AGENT, "alice")
BOB = token(Role.AGENT, "bob")
SUPERVISOR = token(Role.SUPERVISOR, "sam")
ADMIN = token(Role.ADMIN, "ada")
GLOBEX_SUPERVISOR = token(Role.SUPERVISOR, "gus", tenant="globex")
GLOBEX_AGENT = token(Role.AGENT, "gia", tenant="globex")


def run(database_url: str, work):
    async def go():
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(go())


def count(database_url: str, table) -> int:
    return run(database_url, lambda conn: conn.scalar(select(func.count()).select_from(table)))


def category(client, name: str, parent_id: str | None = None, headers=SUPERVISOR) -> str:
    answer = client.post(
        "/v1/kb/categories", json={"name": name, "parent_id": parent_id}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def article(client, category_id: str, title: str, body: str, headers=SUPERVISOR, **more) -> dict:
    answer = client.post(
        "/v1/kb/articles",
        json={"category_id": category_id, "title": title, "body": body, **more},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def search(client, q: str, headers=ALICE, **params) -> dict:
    answer = client.get("/v1/kb/search", params={"q": q, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_problem(answer, status: int, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
        assert field in answer.json()["detail"]


def test_supervisors_write_agents_read_published_articles_with_their_category_path(crm):
    with crm() as client:
        billing = category(client, "Billing")
        cards = category(client, "Payment methods", billing)
        draft = article(client, cards, "Change the payment card", "Send the secure link.")
        assert draft["state"] == "draft"
        assert draft["updated_by"] == "sam"

        assert_problem(client.get(f"/v1/kb/articles/{draft['id']}", headers=ALICE), 404)
        assert search(client, "payment card")["items"] == []
        assert_problem(client.get("/v1/kb/articles?state=draft", headers=ALICE), 403)
        listed = client.get(f"/v1/kb/articles?state=draft&category_id={cards}", headers=SUPERVISOR)
        assert [item["id"] for item in listed.json()["items"]] == [draft["id"]]

        published = client.post(f"/v1/kb/articles/{draft['id']}/publish", headers=ADMIN)
        assert published.json()["state"] == "published"
        seen = client.get(f"/v1/kb/articles/{draft['id']}", headers=ALICE).json()
        assert seen["title"] == "Change the payment card"
        assert seen["category_path"] == [
            {"id": billing, "name": "Billing"},
            {"id": cards, "name": "Payment methods"},
        ]
        assert seen["favorite"] is False
        assert [hit["id"] for hit in search(client, "payment card")["items"]] == [draft["id"]]

        assert_problem(client.post("/v1/kb/categories", json={"name": "X"}, headers=ALICE), 403)
        assert_problem(
            client.post(
                "/v1/kb/articles",
                json={"category_id": billing, "title": "t", "body": "b"},
                headers=ALICE,
            ),
            403,
        )
        assert_problem(client.post(f"/v1/kb/articles/{draft['id']}/archive", headers=ALICE), 403)

        client.post(f"/v1/kb/articles/{draft['id']}/archive", headers=SUPERVISOR)
        assert_problem(client.get(f"/v1/kb/articles/{draft['id']}", headers=ALICE), 404)
        assert search(client, "payment card")["items"] == []


def test_search_ranks_title_over_body_stems_and_highlights_safely(crm):
    with crm() as client:
        billing = category(client, "Billing")
        in_title = article(
            client, billing, "Refund a double charge", "Check both payments.", publish=True
        )
        in_body = article(
            client,
            billing,
            "Explain the invoice",
            "The invoice lists fees < 5 & taxes; a refund appears on the next one.",
            publish=True,
        )
        article(client, billing, "Change the payment card", "Use the link.", publish=True)
        article(client, billing, "Refunds for drafts", "Not visible to agents.")  # a draft

        found = search(client, "refunds")
        assert found["query_terms"] == ["refunds"]
        assert found["matched"] == "all"
        assert [hit["id"] for hit in found["items"]] == [in_title["id"], in_body["id"]]
        assert found["items"][0]["score"] > found["items"][1]["score"]
        assert found["items"][0]["title_html"] == "<mark>Refund</mark> a double charge"
        snippet = found["items"][1]["snippet_html"]
        assert "<mark>refund</mark>" in snippet
        assert "fees &lt; 5 &amp; taxes" in snippet  # the body is text: escaped

        # As the agent types: the last word is a prefix.
        assert [hit["id"] for hit in search(client, "double cha")["items"]] == [in_title["id"]]
        # No article has every word: those with any of them, flagged.
        partial = search(client, "refund wifi")
        assert partial["matched"] == "any"
        assert {hit["id"] for hit in partial["items"]} == {in_title["id"], in_body["id"]}
        # Query syntax and stop words are only words to us.
        assert [hit["id"] for hit in search(client, 'the "refund" AND (double*')["items"]] == [
            in_title["id"]
        ]
        assert search(client, "nothing matches this")["items"] == []


def test_search_narrows_to_a_category_and_those_below_it(crm):
    with crm() as client:
        tech = category(client, "Technical support")
        mobile = category(client, "Mobile", tech)
        billing = category(client, "Billing")
        sim = article(client, mobile, "Activate a new SIM", "Restart the phone.", publish=True)
        article(client, billing, "Phone bill explained", "Restart nothing.", publish=True)
        hits = search(client, "restart", category_id=tech)["items"]
        assert [hit["id"] for hit in hits] == [sim["id"]]
        assert len(search(client, "restart")["items"]) == 2
        assert_problem(
            client.get("/v1/kb/search?q=restart&category_id=nope", headers=ALICE),
            422,
            "query.category_id",
        )


def test_each_tenant_sees_only_its_own_knowledge_base(crm):
    with crm() as client:
        billing = category(client, "Billing")
        mine = article(client, billing, "Refund a double charge", "Refund it.", publish=True)
        client.put(f"/v1/kb/favorites/{mine['id']}", headers=ALICE)

        assert client.get("/v1/kb/categories", headers=GLOBEX_AGENT).json() == {"items": []}
        assert_problem(client.get(f"/v1/kb/articles/{mine['id']}", headers=GLOBEX_AGENT), 404)
        assert search(client, "refund", headers=GLOBEX_AGENT)["items"] == []
        assert client.get("/v1/kb/favorites", headers=GLOBEX_AGENT).json() == {"items": []}
        assert_problem(client.put(f"/v1/kb/favorites/{mine['id']}", headers=GLOBEX_AGENT), 404)
        assert_problem(
            client.post(f"/v1/kb/articles/{mine['id']}/archive", headers=GLOBEX_SUPERVISOR), 404
        )
        assert_problem(
            client.patch(
                f"/v1/kb/articles/{mine['id']}", json={"title": "x"}, headers=GLOBEX_SUPERVISOR
            ),
            404,
        )
        # Another tenant's category or article cannot be referred to.
        theirs = category(client, "Billing", headers=GLOBEX_SUPERVISOR)  # same name: fine
        answer = client.post(
            "/v1/kb/articles",
            json={"category_id": billing, "title": "t", "body": "b"},
            headers=GLOBEX_SUPERVISOR,
        )
        assert_problem(answer, 422, "body.category_id")
        answer = client.post(
            "/v1/kb/articles",
            json={"category_id": theirs, "title": "t", "body": "b", "related_ids": [mine["id"]]},
            headers=GLOBEX_SUPERVISOR,
        )
        assert_problem(answer, 422, "body.related_ids.0")
        assert_problem(
            client.post("/v1/kb/categories", json={"name": "Sub", "parent_id": billing},
                        headers=GLOBEX_SUPERVISOR),
            422, "body.parent_id",
        )  # fmt: skip


def test_favorites_belong_to_the_calling_agent(crm):
    with crm() as client:
        billing = category(client, "Billing")
        first = article(client, billing, "Refund a double charge", "Refund.", publish=True)
        second = article(client, billing, "Explain the invoice", "Invoice.", publish=True)

        for article_id in (first["id"], second["id"], first["id"]):  # again: no change
            assert client.put(f"/v1/kb/favorites/{article_id}", headers=ALICE).status_code == 204
        alices = client.get("/v1/kb/favorites", headers=ALICE).json()["items"]
        assert [item["id"] for item in alices] == [second["id"], first["id"]]  # last added first
        assert client.get("/v1/kb/favorites", headers=BOB).json()["items"] == []
        assert client.get(f"/v1/kb/articles/{first['id']}", headers=ALICE).json()["favorite"]
        assert not client.get(f"/v1/kb/articles/{first['id']}", headers=BOB).json()["favorite"]

        assert client.delete(f"/v1/kb/favorites/{first['id']}", headers=ALICE).status_code == 204
        assert client.delete(f"/v1/kb/favorites/{first['id']}", headers=ALICE).status_code == 204
        client.post(f"/v1/kb/articles/{second['id']}/archive", headers=SUPERVISOR)
        assert client.get("/v1/kb/favorites", headers=ALICE).json()["items"] == []
        assert_problem(client.put("/v1/kb/favorites/missing", headers=ALICE), 404)


def test_every_change_is_a_version_with_who_and_when(crm, database_url):
    with crm() as client:
        billing = category(client, "Billing")
        complaints = category(client, "Complaints")
        created = article(client, billing, "Goodwill credit", "Up to 10 euros.", tags=["credit"])
        article_id = created["id"]
        url = f"/v1/kb/articles/{article_id}"
        edited = client.patch(url, json={"body": "Up to 20 euros.", "expected_version": 1},
                              headers=SUPERVISOR)  # fmt: skip
        assert edited.json()["version"] == 2
        client.post(f"{url}/publish", headers=ADMIN)
        moved = client.patch(url, json={"category_id": complaints, "title": "Goodwill credit"},
                             headers=ADMIN)  # fmt: skip
        assert moved.json()["state"] == "published"  # an edit keeps the state
        assert moved.json()["version"] == 4
        # Nothing changed: no new version.
        same = client.patch(url, json={"title": "Goodwill credit"}, headers=ADMIN)
        assert same.json()["version"] == 4
        stale = client.patch(url, json={"title": "Late", "expected_version": 2}, headers=ADMIN)
        assert_problem(stale, 409, "body.expected_version")
        assert stale.json()["current_version"] == 4

        history = client.get(f"{url}/versions", headers=ALICE).json()["items"]
        assert [(v["version"], v["change"], v["by"], v["state"]) for v in history] == [
            (1, "created", "sam", "draft"),
            (2, "updated", "sam", "draft"),
            (3, "published", "ada", "published"),
            (4, "updated", "ada", "published"),
        ]
        assert [v["at"] for v in history] == sorted(v["at"] for v in history)
        first = client.get(f"{url}/versions/1", headers=ALICE).json()
        assert (first["body"], first["category_id"], first["tags"]) == (
            "Up to 10 euros.", billing, ["credit"],
        )  # fmt: skip
        assert first["category_path"] == [{"id": billing, "name": "Billing"}]
        assert_problem(client.get(f"{url}/versions/5", headers=ALICE), 404)
        assert_problem(client.get(f"{url}/versions/0", headers=ALICE), 422, "path.version")

    envelopes = run(database_url, lambda conn: store.read_stream(conn, f"kb-article:{article_id}"))
    assert [e.type for e in envelopes] == [
        "KbArticleCreated", "KbArticleUpdated", "KbArticlePublished", "KbArticleUpdated",
    ]  # fmt: skip
    assert envelopes[1].data.body == "Up to 20 euros." and envelopes[1].data.title is None
    assert {e.tenant for e in envelopes} == {"acme"}


def test_related_articles_are_linked_then_similar_then_same_category(crm):
    with crm() as client:
        billing = category(client, "Billing")
        tech = category(client, "Technical support")
        refund = article(client, billing, "Refund a double charge", "Refund.",
                         tags=["refund"], publish=True)  # fmt: skip
        credit = article(client, billing, "Goodwill credit", "Credit on the next invoice.",
                         related_ids=[refund["id"]], publish=True)  # fmt: skip
        similar = article(client, tech, "Charge refused at the shop", "Card issue.",
                          publish=True)  # fmt: skip
        invoice = article(client, billing, "Explain the invoice", "Lines.", publish=True)
        article(client, billing, "A refund draft", "Not for agents.", tags=["refund"])

        related = client.get(f"/v1/kb/articles/{refund['id']}/related", headers=ALICE).json()
        assert [(item["id"], item["reason"]) for item in related["items"]] == [
            (credit["id"], "linked"),  # linked from the other side
            (similar["id"], "similar"),  # shares "charge"
            (invoice["id"], "same_category"),
        ]
        one = client.get(f"/v1/kb/articles/{credit['id']}/related?limit=1", headers=ALICE)
        assert [item["id"] for item in one.json()["items"]] == [refund["id"]]
        assert_problem(
            client.patch(f"/v1/kb/articles/{refund['id']}", json={"related_ids": [refund["id"]]},
                         headers=SUPERVISOR),
            422, "body.related_ids.0",
        )  # fmt: skip


def test_categories_form_a_tree_without_cycles_and_only_empty_ones_go(crm, database_url):
    with crm() as client:
        tech = category(client, "Technical support")
        mobile = category(client, "Mobile", tech)
        sim = category(client, "SIM", mobile)
        category(client, "Billing")
        tree = client.get("/v1/kb/categories", headers=ALICE).json()["items"]
        assert [(node["name"], [c["name"] for c in node["children"]]) for node in tree] == [
            ("Billing", []),
            ("Technical support", ["Mobile"]),
        ]
        cycle = client.patch(f"/v1/kb/categories/{tech}", json={"parent_id": sim},
                             headers=SUPERVISOR)  # fmt: skip
        assert_problem(cycle, 422, "body.parent_id")
        clash = client.post("/v1/kb/categories", json={"name": "mobile", "parent_id": tech},
                            headers=SUPERVISOR)  # fmt: skip
        assert_problem(clash, 422, "body.name")
        to_root = client.patch(f"/v1/kb/categories/{sim}", json={"parent_id": None},
                               headers=SUPERVISOR)  # fmt: skip
        assert to_root.json() == {"id": sim, "name": "SIM", "parent_id": None}

        article(client, mobile, "Activate a SIM", "Wait two hours.")
        assert_problem(client.delete(f"/v1/kb/categories/{mobile}", headers=SUPERVISOR), 409)
        assert client.delete(f"/v1/kb/categories/{sim}", headers=SUPERVISOR).status_code == 204
        assert_problem(client.delete(f"/v1/kb/categories/{sim}", headers=SUPERVISOR), 404)
    assert count(database_url, categories) == 3
    envelopes = run(database_url, lambda conn: store.read_stream(conn, f"kb-category:{sim}"))
    assert [e.type for e in envelopes] == [
        "KbCategoryCreated", "KbCategoryChanged", "KbCategoryDeleted",
    ]  # fmt: skip


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


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(crm, database_url):
    with crm() as client:
        for body, field in BAD_ARTICLES:
            assert_problem(client.post("/v1/kb/articles", json=body, headers=SUPERVISOR), 422,
                           field)  # fmt: skip
        for params, field in [
            ({}, "query.q"),
            ({"q": ""}, "query.q"),
            ({"q": "the and of ?!"}, "query.q"),
            ({"q": "x" * 501}, "query.q"),
            ({"q": "refund", "limit": 0}, "query.limit"),
            ({"q": "refund", "limit": 51}, "query.limit"),
        ]:
            answer = client.get("/v1/kb/search", params=params, headers=ALICE)
            assert_problem(answer, 422, field)
        assert_problem(client.get("/v1/kb/search?q=refund"), 401)
        assert_problem(
            client.post("/v1/kb/categories", json={"name": ""}, headers=SUPERVISOR),
            422, "body.name",
        )  # fmt: skip
    assert count(database_url, articles) == 0
    assert count(database_url, categories) == 0
    assert count(database_url, store.events) == 0


def test_demo_articles_load_once_and_answer_a_billing_question(crm, database_url):
    async def load() -> tuple[int, int]:
        db = Database(database_url)
        try:
            return await load_demo_articles(db, "acme"), await load_demo_articles(db, "acme")
        finally:
            await db.dispose()

    first, again = asyncio.run(load())
    assert first >= 6 and again == 0
    with crm() as client:
        hits = search(client, "customer charged twice")["items"]
        assert hits[0]["title"] == "Refund a double charge"
        roots = [
            node["name"] for node in client.get("/v1/kb/categories", headers=ALICE).json()["items"]
        ]
        assert roots == ["Billing", "Complaints", "Technical support"]
