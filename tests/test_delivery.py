"""Delivery: invoices e-mailed as PDF on a real SMTP server, retries, reminders with the QR code."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import pytest
from pypdf import PdfReader

from app import delivery
from app.billing import run_billing
from app.settings import ISP
from app.tables.billing import InvoiceDelivery, Reminder
from app.tables.customers import Customer
from app.tables.finances import Invoice
from app.transfer import format_nrb, virtual_account
from tests import factories
from tests.test_billing import billed_customer

pytestmark = pytest.mark.anyio


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_invoice_is_e_mailed_as_pdf(settings, mailbox):
    c = await billed_customer(invoice_by_email=True)
    await run_billing("2026-11", date(2026, 11, 1), settings.isp)
    assert await delivery.deliver_pending(settings) == (1, 0)
    [msg] = mailbox.messages
    number = (await Invoice.select(Invoice.number).first())["number"]
    email = (await Customer.select(Customer.email).where(Customer.id == c.id).first())["email"]
    assert msg["To"] == email
    assert msg["Subject"] == f"Faktura {number}"
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    pdf = part.get_content()
    assert pdf.startswith(b"%PDF") and number in pdf_text(pdf)
    row = await InvoiceDelivery.select().first()
    assert row["sent_at"] is not None and row["attempts"] == 1
    assert await delivery.deliver_pending(settings) == (0, 0)  # nothing sent twice
    assert len(mailbox.messages) == 1


async def test_failed_delivery_is_kept_and_retried(settings, mailbox):
    await billed_customer(invoice_by_email=True)
    await run_billing("2026-11", date(2026, 11, 1), settings.isp)
    broken = dataclasses.replace(settings, smtp_url="smtp://127.0.0.1:1")
    assert await delivery.deliver_pending(broken) == (0, 1)
    [failed] = await delivery.failed_deliveries()
    assert failed["attempts"] == 1 and failed["last_error"]
    assert await Invoice.count() == 1  # the invoice itself stays
    assert await delivery.deliver_invoice(settings, failed["id"])
    assert await delivery.failed_deliveries() == []
    assert len(mailbox.messages) == 1


async def test_bad_smtp_url_is_an_error_not_a_crash(settings, mailbox):
    await billed_customer(invoice_by_email=True)
    await run_billing("2026-11", date(2026, 11, 1), settings.isp)
    assert await delivery.deliver_pending(dataclasses.replace(settings, smtp_url="nonsense")) == (0, 1)
    assert "SMTP" in (await delivery.failed_deliveries())[0]["last_error"]


async def test_reminders_once_a_month_by_preference(settings, mailbox):
    isp = settings.isp
    late = await factories.customer()
    await Customer.update({Customer.invoice_by_email: True}).where(Customer.id == late.id)
    paper = await factories.customer()
    fresh = await factories.customer()
    paid = await factories.customer()
    for c in (late, paper, paid):
        await factories.invoice(c.id, date(2026, 10, 1), gross=7999)
    await factories.invoice(fresh.id, date(2026, 11, 20), gross=7999)
    await factories.payment(paid.id, 7999, date(2026, 10, 10))
    await factories.payment(late.id, 1000, date(2026, 10, 10))

    assert await delivery.send_reminders(settings, date(2026, 11, 24)) == (1, 1)
    [msg] = mailbox.messages
    email = (await Customer.select(Customer.email).where(Customer.id == late.id).first())["email"]
    assert msg["To"] == email
    body = msg.get_body(("plain",)).get_content()
    assert "69,99 zł" in body and format_nrb(virtual_account(isp, late.id)) in body
    [qr] = list(msg.iter_attachments())
    assert qr.get_content_type() == "image/png" and qr.get_content().startswith(b"\x89PNG")
    [paper_row] = await delivery.paper_reminders()
    assert (paper_row["customer"], paper_row["amount"]) == (paper.id, 7999)
    # Nightly again: nothing new this month; next month again.
    assert await delivery.send_reminders(settings, date(2026, 11, 25)) == (0, 0)
    assert len(mailbox.messages) == 1
    assert await delivery.send_reminders(settings, date(2026, 12, 1)) == (1, 1)
    assert await Reminder.count() == 4


async def test_reminder_days_is_configurable(settings, mailbox):
    c = await factories.customer()
    await factories.invoice(c.id, date(2026, 11, 14), gross=5000)
    assert await delivery.overdue_customers(date(2026, 11, 24), 14) == {}
    assert await delivery.overdue_customers(date(2026, 11, 24), 10) == {c.id: 5000}
    assert ISP().reminder_days == 14


async def test_two_senders_at_once_send_each_invoice_once(settings, mailbox):
    import asyncio

    for _ in range(4):
        await billed_customer(invoice_by_email=True)
    await run_billing("2026-11", date(2026, 11, 1), settings.isp)
    results = await asyncio.gather(delivery.deliver_pending(settings), delivery.deliver_pending(settings))
    assert sum(sent for sent, _ in results) == 4 and sum(f for _, f in results) == 0
    assert len(mailbox.messages) == 4
    assert sorted(m["Subject"] for m in mailbox.messages) == [f"Faktura FV/{n}/11/2026" for n in range(1, 5)]
    rows = await InvoiceDelivery.select(InvoiceDelivery.attempts, InvoiceDelivery.locked_until)
    assert {(r["attempts"], r["locked_until"]) for r in rows} == {(1, None)}


async def test_monthly_job_bills_the_current_month_and_mails_the_invoices(settings, mailbox):
    from app import billing, jobs

    c = await billed_customer(invoice_by_email=True)
    await jobs.monthly_job(settings)
    month = billing.warsaw_today().replace(day=1)
    assert await Invoice.count().where(Invoice.customer == c.id) == 1
    [msg] = mailbox.messages
    assert msg["Subject"].startswith("Faktura FV/1/")
    await jobs.monthly_job(settings)  # a restart the same month: nothing new
    assert await Invoice.count() == 1 and len(mailbox.messages) == 1
    assert (await billing.billing_runs())[0]["period"] == billing.period_key(month)
