"""Windykacja: debtors with days overdue and the last reminder, sorted and filtered; the
paper reminder letters as one PDF, its text read back with pypdf."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from app import debtors, delivery
from app.settings import ISP
from app.tables.billing import Reminder
from app.transfer import format_nrb, virtual_account
from tests import factories
from tests.conftest import soup, texts

pytestmark = pytest.mark.anyio
TODAY = date(2026, 12, 4)


async def _debtors():
    """Łęcki owes two months (oldest due 15 Oct), Wójcik one (due 15 Nov), Nowak paid all."""
    lecki = await factories.customer("Jan Łęcki", email="", street="ul. Źródlana 5")
    wojcik = await factories.customer("Anna Wójcik", email="anna@example.pl", invoice_by_email=True)
    nowak = await factories.customer("Piotr Nowak")
    await factories.invoice(lecki.id, date(2026, 10, 1), gross=7999)
    await factories.invoice(lecki.id, date(2026, 11, 1), gross=7999)
    await factories.invoice(wojcik.id, date(2026, 10, 1), gross=5000)
    await factories.invoice(wojcik.id, date(2026, 11, 1), gross=5000)
    await factories.payment(wojcik.id, 5000, date(2026, 10, 10))
    await factories.invoice(nowak.id, date(2026, 11, 1), gross=5000)
    await factories.payment(nowak.id, 5000, date(2026, 11, 10))
    return lecki, wojcik, nowak


async def test_debt_days_overdue_and_last_reminder():
    lecki, wojcik, _ = await _debtors()
    await delivery.create_reminders(TODAY, ISP())
    rows = await debtors.debtors(TODAY)
    assert [d.id for d in rows] == [lecki.id, wojcik.id]  # largest debt first
    first, second = rows
    assert first.debt == 2 * 7999 and first.oldest_unpaid == date(2026, 10, 15)
    assert first.days_overdue == (TODAY - date(2026, 10, 15)).days
    # Wójcik's payment settled October: November's invoice is the oldest unpaid one.
    assert second.debt == 5000 and second.oldest_unpaid == date(2026, 11, 15) and second.days_overdue == 19
    assert (first.last_channel, second.last_channel) == ("paper", "email")
    assert first.last_reminder is not None


async def test_sort_and_filters():
    lecki, wojcik, _ = await _debtors()
    await delivery.create_reminders(TODAY, ISP())
    assert [d.id for d in await debtors.debtors(TODAY, sort="name")] == [wojcik.id, lecki.id]  # Anna < Jan
    assert [d.id for d in await debtors.debtors(TODAY, sort="days")] == [lecki.id, wojcik.id]
    assert [d.id for d in await debtors.debtors(TODAY, channel="email")] == [wojcik.id]
    assert [d.id for d in await debtors.debtors(TODAY, channel="none")] == []
    assert [d.id for d in await debtors.debtors(TODAY, min_days=30)] == [lecki.id]
    assert [d.id for d in await debtors.debtors(TODAY, q="WOJCIK")] == [wojcik.id]
    assert [d.id for d in await debtors.debtors(TODAY, q=str(lecki.id))] == [lecki.id]
    # As of a past day, only what was charged and paid by then counts.
    assert [d.id for d in await debtors.debtors(date(2026, 10, 5))] == [lecki.id, wojcik.id]


async def test_paper_letters_pdf_has_one_letter_per_customer_with_transfer_data():
    lecki, wojcik, _ = await _debtors()
    other = await factories.customer("Zofia Żółć", email="", mail_street="ul. Ściegiennego 3",
                                     mail_postal_code="25-001", mail_city="Kielce")
    await factories.invoice(other.id, date(2026, 10, 1), gross=3000)
    assert await delivery.create_reminders(TODAY, ISP()) == (1, 2)
    letters = await debtors.paper_letters(ISP(), "2026-12")
    assert [x.customer_id for x in letters] == [lecki.id, other.id]
    content = debtors.render_letters(ISP(), letters, TODAY)
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 2
    first, second = (" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Przypomnienie o płatności" in first and "Jan Łęcki" in first and "159,98 zł" in first
    assert format_nrb(virtual_account(ISP(), lecki.id)) in first
    assert "Zofia Żółć" in second and "ul. Ściegiennego 3, 25-001 Kielce" in second and "30,00 zł" in second
    assert "Jan Łęcki" not in second and "Zofia" not in first and first.count("Przypomnienie o płatności") == 1
    # The QR code is an image on each page.
    assert all(page.images for page in reader.pages)


async def test_debtors_page_and_letters_route(admin_client):
    lecki, wojcik, _ = await _debtors()
    today = date.today()
    # Reminders of this month (the page and the PDF show the current month).
    await Reminder.insert(Reminder(key=f"{today:%Y-%m}:{lecki.id}", period=f"{today:%Y-%m}", customer=lecki.id,
                                   amount=2 * 7999, channel="paper"))
    page = soup(await admin_client.get("/admin/debtors?sort=name"))
    assert [int(tr["data-customer"]) for tr in page.select("#debtors tbody tr[data-customer]")] == [wojcik.id, lecki.id]
    assert texts(page.select_one(f"tr[data-customer='{lecki.id}'] .channel")) == "list papierowy"
    filtered = soup(await admin_client.get("/admin/debtors?channel=paper"))
    assert len(filtered.select("#debtors tbody tr[data-customer]")) == 1
    response = await admin_client.get(f"/admin/debtors/letters.pdf?period={today:%Y-%m}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "Jan Łęcki" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    empty = await admin_client.get(f"/admin/debtors/letters.pdf?period={(today - timedelta(days=400)):%Y-%m}")
    assert empty.status_code == 404
