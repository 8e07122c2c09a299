"""Wiadomości domain: set-based delivery at scale, debtors, unread counts."""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

import pytest

from app import messages
from app.tables.customers import Customer
from app.tables.messages import MessageRecipient
from tests import factories

pytestmark = pytest.mark.anyio


async def bulk_customers(n: int, consent_every: int = 2) -> None:
    """`n` customers in one statement (no PIN hashing: they never log in)."""
    await Customer.raw(
        'INSERT INTO "customer" (name, pin_hash, marketing_consent) '
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {}) "
        "SELECT 'Klient ' || i, 'x', (i % {}) = 0 FROM seq", n, consent_every)


async def test_broadcast_to_50000_customers_is_set_based():
    await bulk_customers(50_000)
    draft = messages.Draft("Przerwa techniczna", "W nocy z soboty na niedzielę.", "serwisowa", "all")
    started = time.perf_counter()
    sent = await messages.send(draft, None, datetime.now(timezone.utc), date.today())
    elapsed = time.perf_counter() - started
    assert sent.recipients == 50_000 and await MessageRecipient.count() == 50_000
    assert elapsed < 5, f"broadcast took {elapsed:.2f} s"
    marketing = messages.Draft("Oferta", "Taniej.", "handlowa", "all")
    assert (await messages.send(marketing, None, datetime.now(timezone.utc), date.today())).recipients == 25_000


async def test_unread_counts_per_customer():
    a, b = await factories.customer(), await factories.customer()
    first = await factories.message(audience="all")
    await factories.message(audience="customer", customer_id=a.id)
    assert (await messages.unread_count(a.id), await messages.unread_count(b.id)) == (2, 1)
    await messages.open_message(b.id, first, datetime.now(timezone.utc))
    assert (await messages.unread_count(a.id), await messages.unread_count(b.id)) == (2, 0)


async def test_nobody_in_audience_stores_nothing():
    await factories.customer()
    assert await factories.message(category="handlowa") is None
    assert await factories.message(audience="debtors") is None, "nobody owes anything"


async def test_debtors_are_customers_whose_payments_do_not_cover_charges():
    from app.tables.finances import Charge, Payment

    owes, paid, overpaid, nothing = [await factories.customer() for _ in range(4)]
    today = date.today()
    for cid in (owes.id, paid.id, overpaid.id):
        await Charge.insert(Charge(customer=cid, date=today, description="Abonament", amount=7999))
    await Payment.insert(Payment(customer=paid.id, date=today, title="wpłata", amount=7999),
                         Payment(customer=overpaid.id, date=today, title="wpłata", amount=9000),
                         Payment(customer=owes.id, date=today, title="wpłata", amount=5000))
    assert await messages.debtor_ids() == [owes.id]
    mid = await factories.message(audience="debtors")
    assert [r["customer"] for r in await MessageRecipient.select(MessageRecipient.customer).where(
        MessageRecipient.message == mid)] == [owes.id]
    assert nothing.id not in await messages.debtor_ids()


async def test_panel_shell_in_one_query_is_each_customers_own():
    a = await factories.customer(name="Anna Łąkowa")
    b = await factories.customer(name="Bożena <b>Żak</b>")
    everyone = await factories.message(subject="Awaria", audience="all", urgent=True)
    only_a = await factories.message(subject="Pilne dla A", audience="customer", customer_id=a.id, urgent=True)
    await factories.message(subject="Zwykła", audience="customer", customer_id=b.id)
    now = datetime.now(timezone.utc)
    await messages.confirm(b.id, everyone, now)

    shell_a, shell_b = await messages.panel_shell(a.id), await messages.panel_shell(b.id)
    assert shell_a == {"me": {"id": a.id, "name": "Anna Łąkowa"}, "unread": 2,
                       "urgent": [{"id": only_a, "subject": "Pilne dla A"}, {"id": everyone, "subject": "Awaria"}]}
    assert shell_b == {"me": {"id": b.id, "name": "Bożena <b>Żak</b>"}, "unread": 1, "urgent": []}
    for c in (a, b):  # the same as the separate queries it replaces
        shell = await messages.panel_shell(c.id)
        assert shell["unread"] == await messages.unread_count(c.id)
        assert shell["urgent"] == await messages.urgent_unconfirmed(c.id)
    assert await messages.panel_shell(999_999) == {"me": None, "unread": 0, "urgent": []}
