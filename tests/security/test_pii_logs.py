"""No PII in logs: the platform as ``make run`` starts it (broker and five services as
processes, their logs under var/log), a few calls of a known customer through the public
APIs (screen pop, queue, answer, notes, disposition, a work order, searches by phone and
name, a duplicate refused, a voicemail), then every log file is scanned for the phone
numbers, names and email used: none may appear."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from callcenter.events.kit.auth import Role, issue_token
from tests.platform import SERVICES, make_run

pytestmark = pytest.mark.platform  # starts the platform as `make run` does

PHONE = "+33671234567"
OTHER_PHONE = "+14155550123"
TWILIO_TOKEN, CALLBACK_SECRET = "tw-7f3c9e1d5b2a4c6e8f0a", "cb-0e9d8c7b6a5f4e3d2c1b"
FIRST, LAST, EMAIL = "Philippa", "Quarternight", "philippa.quarternight@example.org"
SECRETS = [
    PHONE,
    PHONE[1:],
    PHONE[3:],
    "0671234567",
    "06 71 23 45 67",
    "6 71 23 45 67",
    OTHER_PHONE,
    OTHER_PHONE[1:],
    "4155550123",
    "(415) 555-0123",
    "415-555-0123",
    FIRST,
    LAST,
    EMAIL,
    "philippa.quarternight",
    TWILIO_TOKEN,
    CALLBACK_SECRET,
]


def the_calls(url: dict[str, str], token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=10) as client:

        def ok(response: httpx.Response, *statuses: int) -> dict:
            assert response.status_code in (statuses or (200, 201)), response.text
            return response.json() if response.content else {}

        customer = {
            "first_name": FIRST,
            "last_name": LAST,
            "phones": ["06 71 23 45 67"],
            "emails": [EMAIL],
            "company": "Quarternight Ltd",
        }
        # a French number written nationally: normalized with the tenant's region
        created = client.post(f"{url['crm']}/v1/customers", json=customer)
        if created.status_code == 422:  # no default region: the international form
            created = client.post(
                f"{url['crm']}/v1/customers", json={**customer, "phones": [PHONE]}
            )
        customer_id = ok(created)["id"]
        ok(client.post(f"{url['crm']}/v1/customers", json={"phones": [PHONE]}), 409)
        ok(client.post(f"{url['crm']}/v1/customers", json={"phones": ["12"]}), 422)
        ok(client.get(f"{url['crm']}/v1/customers", params={"phone": PHONE}))
        ok(client.get(f"{url['crm']}/v1/customers", params={"q": LAST}))
        note = {"text": f"{FIRST} {LAST} asked to be called on {OTHER_PHONE} or {EMAIL}"}
        ok(client.post(f"{url['crm']}/v1/customers/{customer_id}/notes", json=note))

        queue = {"name": "pii", "skills": {"general": 1}}
        ok(client.put(f"{url['routing']}/v1/queues/pii", json=queue))
        ok(client.put(f"{url['routing']}/v1/agents/ann", json={"skills": {"general": 5}}))
        ok(client.post(f"{url['routing']}/v1/agents/ann/login"))
        ok(client.post(f"{url['routing']}/v1/agents/ann/ready"))
        flow = {
            "name": "pii",
            "start": "q",
            "nodes": {"q": {"type": "enqueue", "prompts": ["Hold."], "queue": "pii"}},
        }
        deadline = time.monotonic() + 30  # the IVR learns routing's queues from its events
        while (put := client.put(f"{url['ivr']}/v1/flows/pii", json=flow)).status_code != 201:
            assert time.monotonic() < deadline, put.text
            time.sleep(0.2)
        # Secrets too; the callbacks go nowhere (refused), and their failures are logged.
        telephony = {
            "twilio_auth_token": TWILIO_TOKEN,
            "status_callback_secret": CALLBACK_SECRET,
            "status_callback_url": "http://127.0.0.1:9/callbacks",
        }
        ok(client.put(f"{url['ivr']}/v1/telephony", json=telephony))
        bound = {"flow_id": "pii", "version": 1}
        ok(client.put(f"{url['ivr']}/v1/numbers/+15550188", json=bound))
        for n, caller in enumerate([PHONE, OTHER_PHONE, PHONE]):
            call = {"from": caller, "to": "+15550188", "call_id": f"pii-{n}"}
            ok(client.post(f"{url['ivr']}/v1/calls", json=call))
            deadline = time.monotonic() + 20
            while (
                ok(client.get(f"{url['routing']}/v1/calls/pii-{n}"), 200, 404).get("status")
                != "offered"
            ):
                assert time.monotonic() < deadline, f"pii-{n} never offered"
                time.sleep(0.2)
            ok(client.get(f"{url['crm']}/v1/screen-pop/pii-{n}"), 200, 404)
            agent = {"agent_id": "ann"}
            ok(client.post(f"{url['routing']}/v1/calls/pii-{n}/answer", json=agent))
            ok(client.post(f"{url['routing']}/v1/calls/pii-{n}/hangup", json={"by": "agent"}))
            wrap = {
                **agent,
                "disposition": "resolved",
                "notes": f"{LAST} on {caller}",
                "follow_up": n == 0,
            }
            ok(
                client.post(f"{url['routing']}/v1/calls/pii-{n}/disposition", json=wrap),
                200,
                201,
                422,
            )
            client.post(f"{url['routing']}/v1/agents/ann/wrap-up-done")
        ticket = {
            "type": "complaint",
            "subject": f"{FIRST} {LAST} {PHONE}",
            "customer_id": customer_id,
        }
        ok(client.post(f"{url['workorders']}/v1/tickets", json=ticket), 201, 422)
        ok(client.get(f"{url['crm']}/v1/customers/{customer_id}/timeline"))
        ok(
            client.post(
                f"{url['crm']}/v1/customers/{customer_id}/merge", json={"merged_id": customer_id}
            ),
            409,
            422,
        )
        time.sleep(3)  # consumers (screen pops, timelines, tickets, KPIs) catch up


@pytest.mark.timeout(300)
def test_no_phone_number_name_or_email_reaches_the_logs(tmp_path):
    debug = {f"CALLCENTER_{name.upper()}_LOG_LEVEL": "DEBUG" for name in SERVICES}
    with make_run(tmp_path / "var", CALLCENTER_LOG_LEVEL="DEBUG", **debug) as platform:
        key = platform.signing_key()
        token = issue_token(key, subject="pii", tenant="acme", roles=list(Role))
        the_calls(platform.urls, token)
    logs = sorted((tmp_path / "var" / "log").glob("*.log"))
    assert {path.stem for path in logs} >= set(SERVICES)
    text = {path.name: path.read_text(errors="replace") for path in logs}
    assert not [name for name, content in text.items() if key in content]  # the signing key
    assert sum(len(content.splitlines()) for content in text.values()) > 20  # they did log
    found = [
        f"{name}: {secret!r} in {line[:300]}"
        for name, content in text.items()
        for line in content.splitlines()
        for secret in SECRETS
        if secret.lower() in line.lower()
    ]
    assert not found, "\n".join(found[:30])
    digits = re.compile(r"\d{9,}")
    phone_digits = {re.sub(r"\D", "", s)[-9:] for s in (PHONE, OTHER_PHONE)}
    assert not [
        line
        for content in text.values()
        for line in content.splitlines()
        if any(d[-9:] in phone_digits for d in digits.findall(line))
    ]
    assert platform.launcher.returncode == 0, platform.rest
