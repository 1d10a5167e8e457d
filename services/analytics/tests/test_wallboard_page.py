"""The wallboard page renders the live view's supervisor badges and campaigns panel
(real Chromium, the page's own script on a snapshot the fold computed)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from playwright.sync_api import sync_playwright

from callcenter.analytics.kpis import KpiSettings
from callcenter.analytics.live import snapshot
from callcenter.events.catalogue import routing as ev

CHROMIUM = Path("/usr/bin/chromium")


def a_view(log) -> dict:
    log.routing(ev.QueueConfigured(at=log.at(0), queue_id="q1", name="Billing", config={}))
    log.routing(ev.AgentConfigured(at=log.at(0), agent_id="ann", name="Ann", config={}))
    log.routing(ev.CallQueued(at=log.at(10), call_id="c1", queue_id="q1", position=1))
    log.routing(ev.CallAnswered(at=log.at(14), call_id="c1", agent_id="ann", queue_id="q1",
                                wait=4, ring=1))  # fmt: skip
    log.routing(ev.SupervisorJoined(at=log.at(20), call_id="c1", agent_id="ann",
                                    supervisor_id="sue", mode="barge"))  # fmt: skip
    log.routing(ev.CampaignConfigured(at=log.at(0), campaign_id="spring", name="Spring offer"))
    for n in range(3):
        log.routing(ev.ContactAttempted(at=log.at(30 + n), campaign_id="spring",
                                        contact_id=f"k{n}", call_id=f"o{n}", number="+441",
                                        attempt=1, mode="predictive"))  # fmt: skip
    log.routing(ev.ContactAbandoned(at=log.at(40), campaign_id="spring", contact_id="k0",
                                    call_id="o0"))  # fmt: skip
    log.routing(ev.ContactAnswered(at=log.at(40), campaign_id="spring", contact_id="k1",
                                   call_id="o1", agent_id="ann"))  # fmt: skip
    fold = log.fold()
    return snapshot(fold.tenants["acme"], KpiSettings(), fold.latest + 30)


def test_badges_and_the_campaigns_panel(log):
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it"
    view = a_view(log)
    page_html = files("callcenter.analytics").joinpath("wallboard.html").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.set_content(page_html)  # no token: the page waits; render() draws a view
            page.evaluate("view => render(view)", json.loads(json.dumps(view)))
            badge = page.locator('#supervised .badge[data-agent="ann"]')
            assert badge.get_attribute("data-mode") == "barge"
            assert badge.inner_text().split() == ["Ann", "BARGE", "by", "sue"]
            assert page.locator("#campaigns").is_visible()
            cells = page.locator('#campaigns tr[data-campaign="spring"] td').all_inner_texts()
            # 3 dialed, 1 reached, 1 abandoned of 2 live answers: far above the 3% cap.
            assert cells[:3] == ["Spring offer", "3", "1"]
            assert cells[5] == "50.0% (3.0%)"
            abandoned = page.locator('#campaigns tr[data-campaign="spring"] td').nth(5)
            assert abandoned.get_attribute("data-status") == "bad"
            page.evaluate("view => render(view)", {**view, "supervised": [], "campaigns": []})
            assert page.locator("#supervised .badge").count() == 0
            assert not page.locator("#campaigns").is_visible()
        finally:
            browser.close()
