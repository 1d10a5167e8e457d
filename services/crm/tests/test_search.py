"""Finding customers: full text on name and company (FTS5 / tsvector), filters, sort orders
and cursor pagination, on both databases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
SORTS = ["id", "-id", "last_name", "-last_name", "company", "-company", "created_at",
         "-created_at", "updated_at", "-updated_at"]  # fmt: skip
PEOPLE = [
    {"first_name": "Léa", "last_name": "Martin", "company": "Boulangerie Martin",
     "tier": "key_important", "tags": ["vip"]},
    {"first_name": "Paul", "last_name": "Martinez", "company": "Acme Bakery", "tier": "small"},
    {"first_name": "Zoé", "last_name": "Durand", "company": "Martin et Fils", "tier": "small"},
    {"first_name": "Jean", "last_name": "Dupont", "company": "Globex"},
    {"first_name": "Anne", "last_name": "Martin", "company": "Globex", "tags": ["vip"]},
]  # fmt: skip


def headers(tenant: str = "acme") -> dict[str, str]:
    bearer = issue_token(KEY, subject="alice", tenant=tenant, roles=[Role.AGENT])
    return {"Authorization": f"Bearer {bearer}"}


AGENT = headers()


def test_full_text_sort_and_pagination(crm_offline):
    with crm_offline() as client:
        made = [client.post("/v1/customers", json=p, headers=AGENT).json() for p in PEOPLE]
        client.post("/v1/customers", json={"last_name": "Martin"}, headers=headers("globex"))
        erased = client.post("/v1/customers", json={"last_name": "Martineau"},
                             headers=AGENT).json()  # fmt: skip
        issue = issue_token(KEY, subject="root", tenant="acme", roles=[Role.ADMIN])
        client.delete(f"/v1/customers/{erased['id']}",
                      headers={"Authorization": f"Bearer {issue}"})  # fmt: skip

        def found(**params) -> list[str]:
            answer = client.get("/v1/customers", params=params, headers=AGENT)
            assert answer.status_code == 200, answer.text
            return [f"{c['first_name']} {c['last_name']}" for c in answer.json()["items"]]

        everyone = set(found(limit=200))
        assert everyone == {f"{p['first_name']} {p['last_name']}" for p in PEOPLE}
        # Every word as a prefix, in the name or the company; case and accents ignored.
        assert set(found(q="martin")) == {"Léa Martin", "Paul Martinez", "Zoé Durand",
                                          "Anne Martin"}  # fmt: skip
        assert found(q="LEA mart") == ["Léa Martin"]
        assert found(q="zoe") == ["Zoé Durand"]
        assert found(q="bak acme") == ["Paul Martinez"]
        assert found(q="martin fils") == ["Zoé Durand"]
        assert found(q="globex martin") == ["Anne Martin"]
        assert found(q="nobody") == []
        assert set(found(q="martin", tier="small")) == {"Paul Martinez", "Zoé Durand"}
        assert set(found(q="martin", tag="vip")) == {"Léa Martin", "Anne Martin"}
        assert found(q="martin", sort="-company") == [
            "Zoé Durand",
            "Anne Martin",
            "Léa Martin",
            "Paul Martinez",
        ]
        assert found(sort="last_name", limit=2) == ["Jean Dupont", "Zoé Durand"]
        assert found(sort="-created_at", limit=2) == ["Anne Martin", "Jean Dupont"]

        for params, field in (({"q": "%*"}, "query.q"), ({"q": ""}, "query.q"),
                              ({"sort": "tier"}, "query.sort"),
                              ({"cursor": "not-a-cursor"}, "query.cursor"),
                              ({"limit": 0}, "query.limit")):  # fmt: skip
            bad = client.get("/v1/customers", params=params, headers=AGENT)
            assert bad.status_code == 422, params
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["field"] == field
        page = client.get("/v1/customers", params={"sort": "last_name", "limit": 1},
                          headers=AGENT).json()  # fmt: skip
        other_sort = client.get(
            "/v1/customers",
            headers=AGENT,
            params={"sort": "company", "cursor": page["next_cursor"]},
        )
        assert other_sort.status_code == 422
        assert other_sort.json()["errors"][0]["field"] == "query.cursor"

        @settings(max_examples=20, deadline=None)
        @given(sort=st.sampled_from(SORTS), limit=st.integers(1, 6),
               q=st.sampled_from([None, "martin", "globex"]))  # fmt: skip
        def paging_reads_everything_once_in_order(sort: str, limit: int, q: str | None) -> None:
            base = {"sort": sort} | ({"q": q} if q else {})
            whole = client.get("/v1/customers", params=base | {"limit": 200},
                               headers=AGENT).json()["items"]  # fmt: skip
            seen, cursor = [], None
            while True:
                params = base | {"limit": limit} | ({"cursor": cursor} if cursor else {})
                page = client.get("/v1/customers", params=params, headers=AGENT).json()
                assert len(page["items"]) <= limit
                seen += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert [c["id"] for c in seen] == [c["id"] for c in whole]
            key = sort.removeprefix("-")
            keys = [(c[key], c["id"]) for c in whole]
            assert keys == sorted(keys, reverse=sort.startswith("-")) or key in (
                "last_name",
                "company",
            )  # the database's collation orders names
            assert {c["id"] for c in seen} <= {c["id"] for c in made}

        paging_reads_everything_once_in_order()
