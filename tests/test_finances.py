"""Finances: balance, the statement with its running balance, booking payments."""

from __future__ import annotations

from datetime import date

import pytest

from app.finances import PaymentError, PaymentForm, balance, book_payment, finances_data, parse_payment_form, statement
from app.invoices import InvoiceLine
from app.settings import ISP
from tests import factories

pytestmark = pytest.mark.anyio
TODAY = date(2026, 11, 24)


async def _history(customer_id: int) -> None:
    # 2025: one invoice, paid late in 2026; 2026: two invoices, one paid.
    await factories.invoice(customer_id, date(2025, 12, 1), gross=5000)
    await factories.payment(customer_id, 5000, date(2026, 1, 20), title="Zaległa wpłata")
    await factories.invoice(customer_id, date(2026, 10, 1), gross=7999)
    await factories.payment(customer_id, 7999, date(2026, 10, 1), title="Wpłata październik")
    await factories.invoice(customer_id, date(2026, 11, 1), gross=7999, lines=[
        InvoiceLine("Abonament", 1, "szt.", 6000, 23), InvoiceLine("Telewizja", 1, "szt.", 1999, 8)])


async def test_balance_is_payments_minus_charges():
    c = await factories.customer()
    await _history(c.id)
    assert await balance(c.id) == -7999
    assert await balance(c.id, before=date(2026, 1, 1)) == -5000


async def test_statement_newest_first_with_running_balance():
    c = await factories.customer()
    await _history(c.id)
    st = await statement(c.id, TODAY)
    assert st.year == 2026 and st.years == [2026, 2025] and st.opening == -5000
    assert [(r.kind, r.date, r.amount, r.balance) for r in st.rows] == [
        ("charge", date(2026, 11, 1), -7999, -7999),
        ("payment", date(2026, 10, 1), 7999, 0),
        ("charge", date(2026, 10, 1), -7999, -7999),
        ("payment", date(2026, 1, 20), 5000, 0),
    ]
    assert st.rows[0].description == "Abonament; Telewizja"
    assert st.rows[0].invoice_number == "FV/1/11/2026"
    assert st.closing == await balance(c.id)
    old = await statement(c.id, TODAY, 2025)
    assert [(r.amount, r.balance) for r in old.rows] == [(-5000, -5000)] and old.opening == 0
    assert (await statement(c.id, TODAY, 1990)).year == 2026


async def test_finances_view_has_transfer_only_in_debt():
    c = await factories.customer()
    await factories.invoice(c.id, date(2026, 11, 1), gross=7999)
    view = await finances_data(c.id, ISP(), TODAY)
    assert view.debt == 7999 and view.transfer.amount == 7999
    await factories.payment(c.id, 10000, date(2026, 11, 2))
    view = await finances_data(c.id, ISP(), TODAY)
    assert view.balance == 2001 and view.transfer is None
    assert await finances_data(c.id + 1000, ISP(), TODAY) is None


async def test_book_payment_validates_and_dedupes_bank_reference():
    c = await factories.customer()
    with pytest.raises(PaymentError) as err:
        await book_payment(c.id, 0, date(2027, 1, 1), " ", today=TODAY)
    assert set(err.value.errors) == {"amount", "date", "title"}
    with pytest.raises(PaymentError) as err:
        await book_payment(c.id + 1000, 100, TODAY, "x", today=TODAY)
    assert set(err.value.errors) == {"customer_id"}
    first = await book_payment(c.id, 100, TODAY, "Przelew", today=TODAY, source="mt940", reference="R1")
    again = await book_payment(c.id, 100, TODAY, "Przelew", today=TODAY, source="mt940", reference="R1")
    assert first.created and not again.created and again.id == first.id
    other = await book_payment(c.id, 100, TODAY, "Przelew", today=TODAY, source="csv", reference="R1")
    assert other.created
    assert await balance(c.id) == 200


def test_parse_payment_form_reports_every_bad_field():
    with pytest.raises(PaymentError) as err:
        parse_payment_form(PaymentForm("abc", "12,345", "24.11.2026", ""), TODAY)
    assert set(err.value.errors) == {"customer_id", "amount", "date", "title"}
    assert parse_payment_form(PaymentForm("0042", "1 234,5", "2026-11-20", " Wpłata "), TODAY) == (
        42, 123450, date(2026, 11, 20), "Wpłata")
