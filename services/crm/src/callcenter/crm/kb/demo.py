"""Demo articles for a tenant (billing, technical support, complaints), for ``make run``."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from callcenter.crm.kb import articles, categories
from callcenter.crm.kb.tables import categories as category_table
from callcenter.events.db import Database

log = logging.getLogger(__name__)

# category -> subcategory (or None) -> [(title, tags, body)]
DEMO = {
    "Billing": {
        None: [
            (
                "Refund a double charge",
                ["refund", "payment"],
                "When a customer was charged twice for the same invoice, check both payments "
                "in the billing history. If both are settled, open a refund for the second "
                "payment: it reaches the customer's card within 5 to 7 business days. Tell "
                "the customer the refund reference and that the bank may show the charge "
                "until it clears.",
            ),
            (
                "Explain the monthly invoice",
                ["invoice"],
                "The invoice shows the subscription for the coming month, the usage of the "
                "past month (calls, SMS, data beyond the plan) and any one-off fees. A first "
                "invoice after a plan change holds a prorated amount for both plans.",
            ),
        ],
        "Payment methods": [
            (
                "Change the payment card",
                ["payment", "card"],
                "Customers change their card in the self-care portal under Billing > Payment "
                "methods. Agents never take card numbers on the phone: send the secure "
                "payment link by SMS instead. A failed payment is retried three days later.",
            ),
        ],
    },
    "Technical support": {
        None: [
            (
                "No internet after a power cut",
                ["internet", "router", "outage"],
                "Ask the customer to check the router's lights. If the power light is off, "
                "check the plug and the power adapter. If the internet light is red, restart "
                "the router by holding the reset button for 10 seconds, then wait 3 minutes. "
                "If the light stays red, check the outage map for the customer's area before "
                "opening a technician visit.",
            ),
            (
                "Slow Wi-Fi in some rooms",
                ["wifi", "router"],
                "Walls and floors weaken Wi-Fi. Suggest moving the router to a central, "
                "raised spot, away from the microwave. Offer a Wi-Fi extender when the home "
                "has several floors. A speed test by cable tells a line problem from a Wi-Fi "
                "problem.",
            ),
        ],
        "Mobile": [
            (
                "Activate a new SIM card",
                ["sim", "mobile"],
                "The new SIM card activates within 2 hours of the order. The customer keeps "
                "the number. If the phone shows no service after 2 hours, restart the phone "
                "and check the SIM is not locked by a PIN.",
            ),
        ],
    },
    "Complaints": {
        None: [
            (
                "Handle a complaint about a technician visit",
                ["complaint", "technician"],
                "Listen first and let the customer finish. Apologise for the experience, "
                "without blaming the technician. Record the complaint with the visit "
                "reference, open a work order of type complaint, and tell the customer a "
                "supervisor calls back within 48 hours.",
            ),
            (
                "Offer a goodwill credit",
                ["complaint", "credit", "refund"],
                "Agents may offer a goodwill credit of up to 20 euros on the next invoice "
                "after a service outage or a missed appointment. Above 20 euros, transfer "
                "the call to a supervisor. Record the credit in a note on the customer.",
            ),
        ],
    },
}


async def load_demo_articles(db: Database, tenant: str, *, subject: str = "demo") -> int:
    """Create the demo categories and published articles; returns how many articles were
    created (none if the tenant already has categories: it is safe to call again)."""
    async with db.transaction() as conn:
        if await conn.scalar(
            select(category_table.c.id).where(category_table.c.tenant == tenant).limit(1)
        ):
            return 0
        created = 0
        for root_name, groups in DEMO.items():
            root = await categories.create(conn, tenant, root_name, None, subject=subject)
            for group_name, entries in groups.items():
                category = root
                if group_name is not None:
                    category = await categories.create(
                        conn, tenant, group_name, root.id, subject=subject
                    )
                for title, tags, body in entries:
                    article = articles.Article(
                        id=articles.new_id(),
                        category_id=category.id,
                        title=title,
                        body=body,
                        tags=tags,
                    )
                    await articles.create(conn, tenant, article, subject=subject, publish=True)
                    created += 1
    return created


def demo_loader(db: Database, tenant: str):  # type: ignore[no-untyped-def]
    """A start-up task loading the demo articles for ``tenant`` (a no-op once loaded)."""

    async def run(stop: asyncio.Event) -> None:
        try:
            await load_demo_articles(db, tenant)
        except DBAPIError as error:  # not migrated yet: `make migrate` first
            log.warning("demo articles not loaded: %s", error)

    return run
