"""The agent console in real Chromium (Playwright with Debian's chromium), against the
whole platform as `make run` starts it (broker and five services as processes): two
agents play a call from offer to wrap-up, keyboard first, at 1366x768.

Screenshots go to ``test-artifacts/console/`` (``CALLCENTER_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from callcenter.events.kit.auth import Role, issue_token
from tests.platform import make_run

pytestmark = pytest.mark.platform  # starts the platform (one at a time)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CALLCENTER_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "console"
SCREEN = {"width": 1366, "height": 768}
LINE = "+15550142"
CALLER = "+33612345678"


@pytest.fixture
def platform(tmp_path):
    """`make run`'s launcher with free ports, no simulator: the URLs and a token maker."""
    with make_run(tmp_path / "var") as running:
        key = running.signing_key()

        def token(subject: str, *roles: Role) -> str:
            return issue_token(key, subject=subject, tenant="acme", roles=roles)

        yield running.urls, token


def set_up(url: dict[str, str], admin: str) -> str:
    """A queue with its wrap-up codes, two agents, a line whose flow queues callers, and a
    known caller; the caller's customer id."""
    with httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=10) as client:
        queue = {"name": "Care", "skills": {"care": 1}, "wrap_up_seconds": 300,
                 "ring_timeout_seconds": 120,
                 "dispositions": ["resolved", "escalated"]}  # fmt: skip
        assert client.put(f"{url['routing']}/v1/queues/care", json=queue).status_code == 200
        for agent in ("ann", "ben"):
            body = {"name": agent.title(), "skills": {"care": 3}}
            assert client.put(f"{url['routing']}/v1/agents/{agent}", json=body).is_success
        flow = {"name": "care line", "start": "hold",
                "nodes": {"hold": {"type": "enqueue", "prompts": ["Please hold."],
                                   "queue": "care"}}}  # fmt: skip
        deadline = time.monotonic() + 30  # the IVR learns routing's queues from its events
        while (put := client.put(f"{url['ivr']}/v1/flows/care", json=flow)).status_code != 201:
            assert time.monotonic() < deadline, put.text
            time.sleep(0.2)
        bound = {"flow_id": "care", "version": 1}
        assert client.put(f"{url['ivr']}/v1/numbers/{LINE}", json=bound).status_code == 200
        customer = {"first_name": "Grace", "last_name": "Hopper", "company": "Navy",
                    "tier": "key_important", "phones": [CALLER]}  # fmt: skip
        created = client.post(f"{url['crm']}/v1/customers", json=customer)
        assert created.status_code == 201, created.text
        return created.json()["id"]


def open_console(browser, url: dict[str, str], token: str) -> Page:
    page = browser.new_context(viewport=SCREEN).new_page()
    page.goto(f"{url['routing']}/console#token={token}")
    expect(page.locator("#link")).to_have_text("live", timeout=20_000)
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def eventually(check, within: float = 20.0):
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


@pytest.mark.broker
@pytest.mark.timeout(300)  # the platform's start-up and a whole call in two browsers
def test_two_agents_play_a_call_from_offer_to_wrap_up(platform):
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it"
    url, token = platform
    admin = token("admin", Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR)
    customer_id = set_up(url, admin)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--headless", "--no-sandbox"])  # fmt: skip
        ann = open_console(browser, url, token("ann", Role.AGENT))
        ben = open_console(browser, url, token("ben", Role.AGENT))

        # Keyboard only: Tab to the button, Enter.
        ann.get_by_role("button", name="Log in", exact=True).focus()
        ann.keyboard.press("Enter")
        expect(ann.locator("#state")).to_have_text("not ready")
        ann.get_by_role("button", name="Ready", exact=True).focus()
        ann.keyboard.press("Enter")
        expect(ann.locator("#state")).to_have_text("ready")

        call = {"from": CALLER, "to": LINE, "call_id": "call-1"}
        arrived = httpx.post(f"{url['ivr']}/v1/calls", json=call,
                             headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
        assert arrived.status_code == 201, arrived.text

        # The offer rings with the caller's card; the Answer button has the focus.
        offer = ann.get_by_role("group", name="Incoming call")
        expect(offer).to_be_visible(timeout=20_000)
        expect(offer).to_contain_text(CALLER)
        expect(ann.locator("#card-name")).to_have_text("Grace Hopper", timeout=20_000)
        expect(ann.locator("#card-tier")).to_have_text("key important")
        expect(ann.locator("#card-ivr")).to_contain_text("hold (enqueue)")
        shot(ann, "1-offered")
        expect(ann.get_by_role("button", name="Answer")).to_be_focused()
        ann.keyboard.press("Enter")
        expect(ann.locator("#call-part")).to_have_text("I have the caller")

        ann.get_by_role("button", name="Hold", exact=True).click()
        expect(ann.locator("#call-state")).to_have_text("caller on hold")
        shot(ann, "2-on-hold")
        ann.reload()  # a reconnect restores the exact state, from the server
        expect(ann.locator("#call-state")).to_have_text("caller on hold", timeout=20_000)
        ann.get_by_role("button", name="Resume").click()
        expect(ann.locator("#call-state")).to_have_text("talking")

        # The supervisor's floor: Ann on the call; Sue listens in, Ann sees it, Sue leaves.
        sue = open_console(browser, url, token("sue", Role.SUPERVISOR))
        ann_row = sue.get_by_role("table", name="Agents").get_by_role("row").filter(has_text="ann")
        expect(ann_row).to_contain_text("on call")
        expect(sue.get_by_role("table", name="Queues")).to_contain_text("Care")
        sue.get_by_role("button", name="Monitor ann's call").click()
        expect(ann_row).to_contain_text("you: monitor")
        expect(ann.locator("#call-supervisors")).to_have_text("sue (monitor)")
        shot(sue, "2b-floor-monitoring")
        sue.get_by_role("button", name="Leave ann's call").click()
        expect(ann.locator("#call-supervisors")).to_have_text("\u2013")  # a dash: nobody

        # A refused action is explained in plain words, and changes nothing.
        ann.get_by_label("To", exact=True).select_option("queue")
        ann.get_by_label("Target").fill("nowhere")
        ann.get_by_role("button", name="Blind transfer").click()
        expect(ann.get_by_role("alert")).to_contain_text("Refused: queue 'nowhere' does not exist")
        expect(ann.locator("#call-part")).to_have_text("I have the caller")

        # Consult Ben (in his own browser context), then hand him the caller.
        ben.get_by_role("button", name="Log in", exact=True).click()
        expect(ben.locator("#state")).to_have_text("not ready")
        ben.get_by_role("button", name="Ready", exact=True).click()
        expect(ben.locator("#state")).to_have_text("ready")
        ann.get_by_label("To", exact=True).select_option("agent")
        ann.get_by_label("Target").fill("ben")
        ann.get_by_role("button", name="Consult", exact=True).click()
        expect(ann.locator("#call-party")).to_have_text("ben (consult)")
        expect(ben.locator("#call-part")).to_have_text("consulted by the agent")
        expect(ben.locator("#card-name")).to_have_text("Grace Hopper", timeout=20_000)
        shot(ben, "3-consulted")
        ann.get_by_role("button", name="Complete transfer").click()
        expect(ben.locator("#call-part")).to_have_text("I have the caller")

        # Ann wraps up with a disposition and notes while Ben keeps the caller.
        expect(ann.locator("#state")).to_have_text("wrap up")
        expect(ann.locator("#no-call")).to_be_visible()
        wrap = ann.get_by_role("form", name="Wrap-up")
        wrap.get_by_label("Disposition", exact=True).select_option("resolved")
        wrap.get_by_label("Notes").fill("Explained the invoice; Ben takes the refund")
        wrap.get_by_role("button", name="Save disposition").click()
        expect(ann.get_by_role("alert")).to_contain_text("Disposition resolved saved")
        shot(ann, "4-wrap-up")
        ann.get_by_role("button", name="Finish wrap-up").click()
        expect(ann.locator("#state")).to_have_text("ready")

        ben.get_by_role("button", name="Hang up").click()
        expect(ben.locator("#state")).to_have_text("wrap up")

        # Ann's day counts the call; the CRM shows it, with her disposition.
        expect(ann.locator("#stat-calls")).to_have_text("1", timeout=40_000)
        shot(ann, "5-my-day")
        with httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=10) as client:

            def timeline_has_the_disposition() -> bool:
                entries = client.get(f"{url['crm']}/v1/customers/{customer_id}/timeline").json()
                return any(e.get("disposition") == "resolved" for e in entries)

            assert eventually(timeline_has_the_disposition), "the disposition is not in the CRM"
        browser.close()
