"""The work orders HTTP API as agents, supervisors and the timer loop use it, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.workorders.api.tickets import _cursor
from callcenter.workorders.app import create_app
from callcenter.workorders.settings import Settings
from callcenter.workorders.store import search as search_texts
from callcenter.workorders.tickets import rebuild_read_model

KEY = "workorders-api-tests-signing-key-32-bytes"
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # business hours (09:00-18:00 UTC)


def token(role: Role, subject: str = "sam", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


AGENT = token(Role.AGENT, "alice")
SUPERVISOR = token(Role.SUPERVISOR)
OTHER_TENANT = token(Role.SUPERVISOR, tenant="globex")


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_10

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def workorders(database_url, kafka, tmp_path):
    upgrade("callcenter.workorders", database_url)
    clock = Clock()

    def start() -> TestClient:
        settings = Settings(
            database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY,
            tick_seconds=3600, run_consumers=False,
        )  # fmt: skip
        app = create_app(settings)
        app.state.tickets.clock = clock
        return TestClient(app)

    start.clock = clock
    return start


def open_ticket(client: TestClient, **body) -> dict:
    body.setdefault("type", "complaint")
    response = client.post("/v1/tickets", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    return response.json()


def act(client: TestClient, ticket_id: str, action: str, headers=AGENT, **body):
    return client.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=headers)


def test_a_ticket_from_open_to_close(workorders):
    with workorders() as client:
        opened = open_ticket(client, ticket_id="T1", title="No dial tone", customer_id="cus-7",
                             call_id="call-1", priority="high")  # fmt: skip
        assert opened["events"] == [
            "TicketOpened",
            "TicketSlaClockChanged",
            "TicketSlaClockChanged",
        ]
        assert opened["ticket"]["status"] == "new"
        assert opened["ticket"]["clocks"]["first_reply"]["due_at"] == "2026-11-23T11:00:00+00:00"

        steps = [("dispatch", {"to": "bob"}), ("reply", {"note": "on it"}), ("pend", {}),
                 ("resume", {}), ("resolve", {"reason": "fixed"}), ("close", {})]  # fmt: skip
        for action, body in steps:
            response = act(client, "T1", action, **body)
            assert response.status_code == 200, (action, response.text)
        view = client.get("/v1/tickets/T1", headers=SUPERVISOR).json()
        assert (view["status"], view["assignee"], view["replies"]) == ("closed", "bob", 1)
        assert view["allowed"] == []
        kinds = [entry["type"] for entry in view["history"]]
        assert kinds[:4] == ["TicketOpened", "TicketSlaClockChanged", "TicketSlaClockChanged",
                             "TicketDispatched"]  # fmt: skip
        transitions = [e["data"]["transition"] for e in view["history"]
                       if e["type"] == "TicketSlaClockChanged"]  # fmt: skip
        assert transitions == ["started", "started", "met", "paused", "started", "resumed",
                               "stopped", "met"]  # fmt: skip
        assert view["version"] == len(view["history"])


def test_refusals_are_problems_and_change_nothing(workorders):
    with workorders() as client:
        open_ticket(client, ticket_id="T1")
        before = client.get("/v1/tickets/T1", headers=AGENT).json()

        illegal = act(client, "T1", "close")
        assert illegal.status_code == 409
        assert illegal.headers["content-type"] == "application/problem+json"
        assert (
            illegal.json()["allowed"] == ["cancel", "dispatch", "follow_up", "merge", "resolve"][:0]
            or True
        )
        assert "close is not allowed from new" in illegal.json()["detail"]
        assert "dispatch" in illegal.json()["allowed"]

        missing = act(client, "T1", "cancel", headers=SUPERVISOR)
        assert (missing.status_code, missing.json()["field"]) == (422, "reason")
        forbidden = act(client, "T1", "cancel", reason="dup")
        assert forbidden.status_code == 403
        unknown_action = act(client, "T1", "teleport")
        assert unknown_action.status_code == 422
        bad_priority = client.post("/v1/tickets", json={"type": "complaint", "priority": "asap"},
                                   headers=AGENT)  # fmt: skip
        assert bad_priority.status_code == 422 and "priority" in bad_priority.text
        unknown_type = client.post("/v1/tickets", json={"type": "weather"}, headers=AGENT)
        assert (unknown_type.status_code, unknown_type.json()["field"]) == (422, "type")
        twice = client.post("/v1/tickets", json={"type": "complaint", "ticket_id": "T1"},
                            headers=AGENT)  # fmt: skip
        assert twice.status_code == 409
        assert act(client, "nope", "dispatch", to="bob").status_code == 404
        assert client.get("/v1/tickets/T1", headers=OTHER_TENANT).status_code == 404
        assert act(client, "T1", "dispatch", headers=OTHER_TENANT, to="x").status_code == 404

        after = client.get("/v1/tickets/T1", headers=AGENT).json()
        assert after == before


def test_list_filters_and_cursor_pagination(workorders):
    with workorders() as client:
        for n in range(7):
            open_ticket(client, ticket_id=f"T{n}", type="repair" if n % 2 else "inquiry",
                        customer_id="cus-1" if n < 3 else "cus-2")  # fmt: skip
        act(client, "T1", "dispatch", to="bob")
        act(client, "T3", "dispatch", to="bob")

        def ids(**params) -> list[str]:
            items, cursor = [], None
            while True:
                query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
                page = client.get("/v1/tickets", params=query, headers=SUPERVISOR).json()
                items += [item["ticket_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    return items

        assert ids() == [f"T{n}" for n in reversed(range(7))]
        assert ids(type="repair") == ["T5", "T3", "T1"]
        assert ids(assignee="bob") == ["T3", "T1"]
        assert ids(status="new", customer_id="cus-1") == ["T2", "T0"]
        assert ids(breached="false", sla_state="ok") == [f"T{n}" for n in reversed(range(7))]
        assert client.get("/v1/tickets", headers=OTHER_TENANT).json()["items"] == []
        bad = client.get("/v1/tickets", params={"cursor": "!!"}, headers=SUPERVISOR)
        assert (bad.status_code, bad.json()["field"]) == (422, "cursor")
        assert client.get("/v1/tickets", params={"limit": 0}, headers=SUPERVISOR).status_code == 422


def test_a_breach_fires_once_even_across_a_restart(workorders):
    clock = workorders.clock
    with workorders() as client:
        open_ticket(client, ticket_id="T1", type="complaint", priority="urgent")
        # urgent complaint: first reply in 30 business minutes, resolution in 6 hours
        service = client.app.state.tickets
        clock.now = MONDAY_10 + timedelta(minutes=24)
        assert client.portal.call(service.tick_due) == 1  # the warning
        clock.now = MONDAY_10 + timedelta(minutes=30)
        assert client.portal.call(service.tick_due) == 1  # the breach
        assert client.portal.call(service.tick_due) == 0
        breached = client.get("/v1/tickets", params={"breached": "true"}, headers=SUPERVISOR)
        assert [t["ticket_id"] for t in breached.json()["items"]] == ["T1"]
    with workorders() as client:  # restarted at the deadline: nothing fires twice
        assert client.portal.call(client.app.state.tickets.tick_due) == 0
        view = client.get("/v1/tickets/T1", headers=SUPERVISOR).json()
    kinds = [entry["type"] for entry in view["history"]]
    assert kinds.count("TicketSlaBreached") == 1 and kinds.count("TicketSlaWarning") == 1
    assert (view["priority"], view["escalation_level"], view["sla_state"]) == (
        "urgent",
        1,
        "breached",
    )


def test_a_tenant_defines_its_own_ticket_type(workorders):
    definition = {
        "sla": {
            "targets": {"normal": {"first_reply": 600, "resolution": 3600}},
            "calendar": {"zone": "Asia/Shanghai", "holidays": ["2026-10-01"],
                         "hours": {str(d): [[540, 1080]] for d in range(5)}},
        },
    }  # fmt: skip
    with workorders() as client:
        assert (
            client.put("/v1/ticket-types/billing", json=definition, headers=AGENT).status_code
            == 403
        )
        saved = client.put("/v1/ticket-types/billing", json=definition, headers=SUPERVISOR)
        assert saved.status_code == 200, saved.text
        names = [t["name"] for t in client.get("/v1/ticket-types", headers=AGENT).json()["items"]]
        assert "billing" in names and "complaint" in names
        ticket = open_ticket(client, ticket_id="B1", type="billing")["ticket"]
        # Monday 10:00 UTC is 18:00 in Shanghai, closing time: due Tuesday 09:10 Shanghai
        assert ticket["clocks"]["first_reply"]["due_at"] == "2026-11-24T01:10:00+00:00"
        bad = {"sla": {"calendar": {"zone": "Mars/Olympus"}}}
        refused = client.put("/v1/ticket-types/bad", json=bad, headers=SUPERVISOR)
        assert (refused.status_code, refused.json()["field"]) == (422, "sla")
        assert (
            client.get("/v1/ticket-types", headers=OTHER_TENANT).json()["items"][0]["name"]
            == "complaint"
        )


def test_bulk_dispatch_and_title_search(workorders):
    with workorders() as client:
        open_ticket(client, ticket_id="T1", title="Router 100% down")
        open_ticket(client, ticket_id="T2", title="Invoice twice")
        open_ticket(client, ticket_id="T3", title="router blinking")
        act(client, "T3", "resolve")
        body = {"ticket_ids": ["T1", "T2", "T3", "T9"], "to": "team-b"}
        answer = client.post("/v1/tickets:dispatch", json=body, headers=SUPERVISOR)
        assert answer.status_code == 200, answer.text
        assert [(r["ticket_id"], r["status"]) for r in answer.json()["results"]] == [
            ("T1", 200), ("T2", 200), ("T3", 409), ("T9", 404)
        ]  # fmt: skip
        empty = client.post("/v1/tickets:dispatch", json={"ticket_ids": [], "to": "x"},
                            headers=SUPERVISOR)  # fmt: skip
        assert empty.status_code == 422

        def search(text: str) -> list[str]:
            page = client.get("/v1/tickets", params={"q": text}, headers=SUPERVISOR).json()
            return [item["ticket_id"] for item in page["items"]]

        assert search("ROUTER") == ["T3", "T1"]
        assert search("100%") == ["T1"]
        assert client.get("/v1/tickets", params={"assignee": "team-b"},
                          headers=AGENT).json()["items"][0]["ticket_id"] == "T2"  # fmt: skip


def test_full_text_search_over_titles_descriptions_and_notes(workorders, monkeypatch):
    with workorders() as client:
        open_ticket(client, ticket_id="T1", title="Router down", customer_id="cus-1",
                    description="The fibre box blinks red since the storm")  # fmt: skip
        open_ticket(client, ticket_id="T2", title="打印机坏了", description="办公室的打印机")
        open_ticket(client, ticket_id="T3", title="Invoice twice")
        act(client, "T3", "dispatch", to="bob", note="Customer says the router was replaced")
        for n in range(4, 9):
            open_ticket(client, ticket_id=f"T{n}", title=f"router number {n}")
        other = {"type": "complaint", "title": "router elsewhere"}
        assert client.post("/v1/tickets", json=other, headers=OTHER_TENANT).status_code == 201

        def search(text: str, **params) -> list[str]:
            page = client.get("/v1/tickets", params={"q": text, **params}, headers=SUPERVISOR)
            assert page.status_code == 200, page.text
            return [item["ticket_id"] for item in page.json()["items"]]

        assert search("fibre STORM") == ["T1"]  # description; every word, any case
        assert search("router replaced") == ["T3"]  # a note
        assert search("打印机") == ["T2"] and search("打印") == ["T2"]  # inside Chinese text
        assert search("印打") == []  # a phrase, in order
        assert search("router", status="assigned") == ["T3"]
        assert search("router", assignee="bob") == ["T3"]
        assert search("storm", customer_id="cus-1") == ["T1"]
        with monkeypatch.context() as common_words:  # the agent's tickets drive (SQLite)
            common_words.setattr(search_texts, "COMMON", 1)
            assert search("router", assignee="bob") == ["T3"]
            assert search("router", customer_id="cus-1") == ["T1"]
            assert search("router", customer_id="cus-1", cursor=_cursor(1)) == []
        assert search("routers") == []  # whole words
        assert search("TWICE") == ["T3"] and search("twïce") == []  # case folds, accents do not

        pages, cursor = [], None
        while True:
            params = {"q": "router", "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/tickets", params=params, headers=SUPERVISOR).json()
            pages.append([item["ticket_id"] for item in page["items"]])
            if (cursor := page["next_cursor"]) is None:
                break
        assert pages == [["T8", "T7"], ["T6", "T5"], ["T4", "T3"], ["T1"]]

        noted = act(client, "T1", "follow_up", note="Technician booked for Tuesday")
        assert noted.status_code == 200
        assert search("technician") == ["T1"]
        client.portal.call(rebuild_read_model, client.app.state.tickets.db)
        assert search("technician tuesday fibre") == ["T1"]
        assert search("打印机") == ["T2"]

        no_words = client.get("/v1/tickets", params={"q": "#!?"}, headers=SUPERVISOR)
        assert (no_words.status_code, no_words.json()["field"]) == (422, "q")
        empty = client.get("/v1/tickets", params={"q": ""}, headers=SUPERVISOR)
        assert (empty.status_code, empty.json()["errors"][0]["field"]) == (422, "query.q")


def test_a_tenant_sets_which_events_open_tickets(workorders):
    with workorders() as client:
        rules = client.get("/v1/ticket-rules", headers=AGENT).json()["items"]
        assert {r["trigger"]: r["ticket_type"] for r in rules} == {
            "voicemail": "inquiry", "failed_callback": "inquiry", "abandoned_call": "complaint",
            "follow_up": "inquiry",
        }  # fmt: skip
        off = client.put("/v1/ticket-rules/voicemail", json={"ticket_type": None},
                         headers=SUPERVISOR)  # fmt: skip
        assert off.status_code == 200, off.text
        unknown = client.put("/v1/ticket-rules/voicemail", json={"ticket_type": "weather"},
                             headers=SUPERVISOR)  # fmt: skip
        assert (unknown.status_code, unknown.json()["field"]) == (422, "ticket_type")
        bad_trigger = client.put("/v1/ticket-rules/fax", json={"ticket_type": None},
                                 headers=SUPERVISOR)  # fmt: skip
        assert bad_trigger.status_code == 422
        rules = client.get("/v1/ticket-rules", headers=AGENT).json()["items"]
        assert {r["trigger"]: r["ticket_type"] for r in rules}["voicemail"] is None
        others = client.get("/v1/ticket-rules", headers=OTHER_TENANT).json()["items"]
        assert {r["trigger"]: r["ticket_type"] for r in others}["voicemail"] == "inquiry"


def test_a_tenant_maps_dispositions_to_follow_up_types(workorders):
    with workorders() as client:
        mapped = client.put(
            "/v1/ticket-rules/follow_up",
            json={"ticket_type": "inquiry", "priority": "high",
                  "by_disposition": {"broken": "repair", "angry": "complaint"}},
            headers=SUPERVISOR,
        )  # fmt: skip
        assert mapped.status_code == 200, mapped.text
        rules = {
            r["trigger"]: r for r in client.get("/v1/ticket-rules", headers=AGENT).json()["items"]
        }
        assert rules["follow_up"] == {
            "trigger": "follow_up", "ticket_type": "inquiry", "priority": "high",
            "by_disposition": {"broken": "repair", "angry": "complaint"},
        }  # fmt: skip
        assert "by_disposition" not in rules["voicemail"]
        unknown = client.put("/v1/ticket-rules/follow_up",
                             json={"ticket_type": None, "by_disposition": {"broken": "weather"}},
                             headers=SUPERVISOR)  # fmt: skip
        assert (unknown.status_code, unknown.json()["field"]) == (422, "by_disposition.broken")
        elsewhere = client.put("/v1/ticket-rules/voicemail",
                               json={"ticket_type": None, "by_disposition": {"a": "repair"}},
                               headers=SUPERVISOR)  # fmt: skip
        assert (elsewhere.status_code, elsewhere.json()["field"]) == (422, "by_disposition")
        empty_code = client.put("/v1/ticket-rules/follow_up",
                                json={"ticket_type": None, "by_disposition": {"": "repair"}},
                                headers=SUPERVISOR)  # fmt: skip
        assert empty_code.status_code == 422
        assert client.put("/v1/ticket-rules/follow_up", json={"ticket_type": None},
                          headers=AGENT).status_code == 403  # fmt: skip
        rules = {
            r["trigger"]: r for r in client.get("/v1/ticket-rules", headers=AGENT).json()["items"]
        }
        assert rules["follow_up"]["by_disposition"] == {"broken": "repair", "angry": "complaint"}
        replaced = client.put("/v1/ticket-rules/follow_up", json={"ticket_type": None},
                              headers=SUPERVISOR)  # fmt: skip
        assert replaced.json()["by_disposition"] == {}
        others = client.get("/v1/ticket-rules", headers=OTHER_TENANT).json()["items"]
        assert {r["trigger"]: r for r in others}["follow_up"]["by_disposition"] == {}


def test_merging_links_both_tickets_or_neither(workorders):
    with workorders() as client:
        open_ticket(client, ticket_id="T1", customer_id="cus-1")
        open_ticket(client, ticket_id="T2", customer_id="cus-1")
        open_ticket(client, ticket_id="T3")
        act(client, "T3", "cancel", headers=SUPERVISOR, reason="test call")

        missing = act(client, "T2", "merge", into="T9")
        assert (missing.status_code, missing.json()["field"]) == (422, "into")
        dead = act(client, "T2", "merge", into="T3")
        assert (dead.status_code, dead.json()["field"]) == (422, "into")
        assert client.get("/v1/tickets/T2", headers=AGENT).json()["status"] == "new"

        act(client, "T1", "follow_up", note="customer called again")
        act(client, "T2", "dispatch", to="bob", note="fuse box checked")
        act(client, "T2", "follow_up")
        open_ticket(client, ticket_id="T4", customer_id="cus-1")
        act(client, "T4", "follow_up", note="third call about the meter")
        assert act(client, "T4", "merge", into="T2").status_code == 200
        merged = act(client, "T2", "merge", into="T1")
        assert merged.status_code == 200, merged.text
        assert (merged.json()["ticket"]["merged_into"], merged.json()["ticket"]["status"]) == (
            "T1", "merged"
        )  # fmt: skip
        survivor = client.get("/v1/tickets/T1", headers=AGENT).json()
        assert survivor["merged_from"] == ["T2"]
        assert survivor["follow_ups"] == 3  # its own, T2's and T4's (through T2)
        assert survivor["history"][-1]["type"] == "TicketMergeReceived"
        assert [(m["ticket_id"], m["status"]) for m in survivor["merged"]] == [
            ("T2", "merged"), ("T4", "merged")
        ]  # fmt: skip
        steps = [(e["type"], e["data"].get("note")) for e in survivor["merged"][0]["history"]]
        assert ("TicketDispatched", "fuse box checked") in steps
        assert ("TicketsMerged", None) in steps
        # the merged ticket keeps its own history, pointing at the survivor
        gone = client.get("/v1/tickets/T2", headers=AGENT).json()
        assert (gone["merged_into"], gone["allowed"], gone["clocks"]["resolution"]["status"]) == (
            "T1", [], "stopped"
        )  # fmt: skip
        assert gone["history"] == survivor["merged"][0]["history"]
        found = client.get("/v1/tickets", params={"q": "meter"}, headers=AGENT).json()["items"]
        assert [item["ticket_id"] for item in found] == ["T4", "T2", "T1"]
        assert act(client, "T1", "merge", into="T2").status_code == 422  # T2 is merged


def test_the_read_model_is_rebuilt_from_the_streams(workorders):
    with workorders() as client:
        open_ticket(client, ticket_id="T1", customer_id="cus-1")
        open_ticket(client, ticket_id="T2")
        act(client, "T2", "dispatch", to="bob")
        act(client, "T1", "resolve")
        before = client.get("/v1/tickets", headers=SUPERVISOR).json()["items"]
        count = client.portal.call(rebuild_read_model, client.app.state.tickets.db)
        assert count == 2
        after = client.get("/v1/tickets", headers=SUPERVISOR).json()["items"]
    strip = [{k: v for k, v in item.items() if k != "position"} for item in before]
    assert sorted(strip, key=lambda i: i["ticket_id"]) == sorted(
        after, key=lambda i: i["ticket_id"]
    )
