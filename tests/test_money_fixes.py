"""Money fixes: corrective invoices (faktura korygująca) with their PDF, payment reversal
and move, one-off charges invoiced at once or with the next monthly invoice."""

from __future__ import annotations

import asyncio
import io
from datetime import date

import pytest
from pypdf import PdfReader

from app import billing, finances, invoices
from app.finances import ChargeError, ChargeForm, PaymentFixError, balance
from app.invoices import InvoiceError, InvoiceLine, LineChange
from app.settings import ISP
from app.tables.changes import AuditLog
from app.tables.finances import CorrectionLine, Invoice, OneOffCharge, Payment
from app.tables.tariffs import Assignment
from tests import factories

pytestmark = pytest.mark.anyio


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


async def two_rate_invoice(customer_id: int):
    return await factories.invoice(customer_id, date(2026, 11, 2), lines=[
        InvoiceLine("Abonament Światłowód 300 — listopad 2026", 1, "usł.", 7999, 23),
        InvoiceLine("Telewizja pakiet podstawowy", 2, "usł.", 4000, 8),
    ])


async def test_correction_of_a_two_rate_invoice_with_its_pdf():
    c = await factories.customer()
    original = await two_rate_invoice(c.id)
    assert await balance(c.id) == -11999
    # The TV package: 2 → 1 (price the same); the internet line: price 79,99 → 59,99.
    fix = await invoices.issue_correction(
        original.id, [LineChange(1, 1, 5999), LineChange(2, 1, 2000)], "Reklamacja: przerwa w usłudze",
        date(2026, 12, 3), ISP())
    assert fix.number == "FK/1/12/2026" and fix.total_gross == -2000 - 2000
    assert await balance(c.id) == -11999 + 4000
    head = await Invoice.select().where(Invoice.id == fix.id).first()
    assert (head["kind"], head["corrects"], head["corrected_number"], head["corrected_issue_date"]) == (
        "correction", original.id, original.number, date(2026, 11, 2))
    lines = await CorrectionLine.select().where(CorrectionLine.correction == fix.id).order_by(CorrectionLine.position)
    assert [(x["quantity_before"], x["gross_before"], x["quantity_after"], x["gross_after"]) for x in lines] == [
        (1, 7999, 1, 5999), (2, 4000, 1, 2000)]
    # The original is untouched.
    assert (await Invoice.select(Invoice.total_gross).where(Invoice.id == original.id).first())["total_gross"] == 11999

    doc = await invoices.load_invoice_doc(fix.id, customer_id=c.id)
    text = pdf_text(await invoices.invoice_pdf(doc))
    assert "Faktura korygująca nr FK/1/12/2026" in text
    assert f"Do faktury VAT nr {original.number} z dnia 02.11.2026" in text
    assert "Przyczyna korekty: Reklamacja: przerwa w usłudze" in text
    # Per line: before / after / difference (gross 79,99 → 59,99; net 65,03 → 48,77).
    assert "przed 1 usł. 65,03 zł 23% 14,96 zł 79,99 zł" in text
    assert "po 1 usł. 48,77 zł 23% 11,22 zł 59,99 zł" in text
    assert "różnica 0 usł. -16,26 zł 23% -3,74 zł -20,00 zł" in text
    assert "przed 2 usł. 37,04 zł 8% 2,96 zł 40,00 zł" in text
    assert "różnica -1 usł. -18,52 zł 8% -1,48 zł -20,00 zł" in text
    # Per rate and in total; a decrease is a refund.
    assert "Razem różnica -34,78 zł -5,22 zł -40,00 zł" in text
    assert "Do zwrotu: 40,00 zł" in text and "czterdzieści złotych 00/100" in text

    # A second correction starts from the state after the first; a full cancellation.
    second = await invoices.issue_correction(original.id, [LineChange(1, 0, 0), LineChange(2, 0, 0)],
                                             "Anulowanie umowy", date(2026, 12, 4), ISP())
    assert second.number == "FK/2/12/2026" and second.total_gross == -(5999 + 2000)
    assert await balance(c.id) == 0
    # Printed together with the invoice ("Drukuj zaznaczone").
    docs = await invoices.load_invoice_docs([original.id, fix.id, second.id], customer_id=c.id)
    both = pdf_text(await invoices.invoices_pdf(docs))
    assert f"Faktura VAT nr {original.number}" in both and "Faktura korygująca nr FK/2/12/2026" in both


async def test_bad_corrections_are_refused_and_leave_no_gap():
    c = await factories.customer()
    original = await two_rate_invoice(c.id)
    for changes, reason in (([LineChange(1, 1, 7999)], "nic"), ([LineChange(3, 1, 1)], "zła pozycja"),
                            ([LineChange(1, -1, 100)], "ujemna"), ([LineChange(1, 1, 100)], "  ")):
        with pytest.raises(InvoiceError):
            await invoices.issue_correction(original.id, changes, reason, date(2026, 12, 3), ISP())
    assert await Invoice.count().where(Invoice.kind == "correction") == 0
    assert await invoices.issue_correction(999999, [LineChange(1, 1, 1)], "x", date(2026, 12, 3), ISP()) is None
    fix = await invoices.issue_correction(original.id, [LineChange(1, 1, 7000)], "rabat", date(2026, 12, 3), ISP())
    assert fix.number == "FK/1/12/2026"  # the refused ones took no number
    # A correction itself is not corrected again.
    assert await invoices.issue_correction(fix.id, [LineChange(1, 1, 1)], "x", date(2026, 12, 3), ISP()) is None


async def test_two_corrections_at_once_are_numbered_without_gaps():
    c = await factories.customer()
    original = await two_rate_invoice(c.id)
    results = await asyncio.gather(*[
        invoices.issue_correction(original.id, [LineChange(2, 1, 4000 - 100 * i)], f"korekta {i}",
                                  date(2026, 12, 3), ISP()) for i in range(1, 4)], return_exceptions=True)
    ok = [r for r in results if not isinstance(r, Exception)]
    assert sorted(r.number for r in ok) == [f"FK/{n}/12/2026" for n in range(1, len(ok) + 1)]
    # Each correction's "before" is the previous one's "after": the chain is consistent.
    chain = await CorrectionLine.select().order_by(CorrectionLine.correction)
    for prev, nxt in zip(chain, chain[1:]):
        assert nxt["gross_before"] == prev["gross_after"]


async def test_reversal_and_move_of_a_payment_with_balances():
    wrong = await factories.customer()
    right = await factories.customer()
    await factories.invoice(wrong.id, date(2026, 11, 1), gross=5000)
    await factories.invoice(right.id, date(2026, 11, 1), gross=5000)
    op = await factories.operator()
    paid = await factories.payment(wrong.id, 5000, date(2026, 11, 10))
    assert (await balance(wrong.id), await balance(right.id)) == (0, -5000)

    moved = await finances.move_payment(paid.id, right.id, "Wpłata od sąsiada z tym samym nazwiskiem",
                                        today=date(2026, 11, 12), operator_id=op.id)
    assert (await balance(wrong.id), await balance(right.id)) == (-5000, 0)
    rows = await Payment.select().order_by(Payment.id)
    assert [(r["customer"], r["amount"], r["reverses"], r["moved_from"]) for r in rows] == [
        (wrong.id, 5000, None, None), (wrong.id, -5000, paid.id, None), (right.id, 5000, None, paid.id)]
    assert rows[2]["id"] == moved and rows[2]["date"] == date(2026, 11, 10)
    with pytest.raises(PaymentFixError):  # once only
        await finances.move_payment(paid.id, right.id, "jeszcze raz", today=date(2026, 11, 12))
    with pytest.raises(PaymentFixError):
        await finances.reverse_payment(paid.id, "i cofnąć", today=date(2026, 11, 12))

    # A reversal of the moved payment (it bounced): the right customer owes again.
    rid = await finances.reverse_payment(moved, "Zwrot przelewu przez bank", today=date(2026, 11, 20),
                                         operator_id=op.id)
    assert await balance(right.id) == -5000
    with pytest.raises(PaymentFixError):  # a reversal is not reversed
        await finances.reverse_payment(rid, "x", today=date(2026, 11, 20))
    with pytest.raises(PaymentFixError):
        await finances.reverse_payment(paid.id, "", today=date(2026, 11, 20))
    assert await finances.reverse_payment(999999, "x", today=date(2026, 11, 20)) is None
    # Both entries stay in the statement, and in the audit log.
    st = await finances.statement(wrong.id, date(2026, 11, 30))
    assert [(r.kind, r.amount) for r in st.rows] == [("payment", -5000), ("payment", 5000), ("charge", -5000)]
    actions = {(r["customer"], r["action"]) for r in await AuditLog.select(AuditLog.customer, AuditLog.action)}
    assert actions == {(wrong.id, "payment_move_out"), (right.id, "payment_move_in"),
                       (right.id, "payment_reverse")}


async def test_two_reversals_at_once_book_one():
    c = await factories.customer()
    paid = await factories.payment(c.id, 3000, date(2026, 11, 10))
    results = await asyncio.gather(*[finances.reverse_payment(paid.id, "duplikat", today=date(2026, 11, 11))
                                     for _ in range(3)], return_exceptions=True)
    assert sum(1 for r in results if isinstance(r, int)) == 1
    assert await balance(c.id) == 0


async def test_one_off_now_is_invoiced_at_once_and_next_with_the_monthly_invoice():
    c = await factories.customer()
    tariff = await factories.tariff(price=7999)
    await Assignment.insert(Assignment(customer=c.id, tariff=tariff, start=date(2026, 1, 1)))
    cid, invoice_id = await finances.add_one_off(c.id, "Instalacja", 9900, 23, date(2026, 11, 5), "now",
                                                 isp=ISP(), today=date(2026, 11, 5))
    assert invoice_id and await balance(c.id) == -9900
    router, none = await finances.add_one_off(c.id, "Router Wi-Fi", 19900, 23, date(2026, 11, 6), "next",
                                              isp=ISP(), today=date(2026, 11, 6))
    assert none is None and await balance(c.id) == -9900  # not invoiced yet
    assert await billing.due_months(date(2026, 11, 6)) == [date(2026, 11, 1)]
    result = await billing.run_billing("2026-11", date(2026, 11, 30), ISP())
    assert (result.invoices, result.total) == (1, 7999 + 19900)
    monthly = await Invoice.select().where(Invoice.id != invoice_id).first()
    assert (await OneOffCharge.select().where(OneOffCharge.id == router).first())["invoice"] == monthly["id"]
    assert await balance(c.id) == -(9900 + 7999 + 19900)
    # Both in the statement like any other charge.
    st = await finances.statement(c.id, date(2026, 11, 30))
    assert {r.invoice_id for r in st.rows if r.kind == "charge"} == {invoice_id, monthly["id"]}
    assert any("Router Wi-Fi" in r.description for r in st.rows)
    again = await billing.run_billing("2026-11", date(2026, 11, 30), ISP())
    assert again.invoices == 0
    # A customer with only a one-off charge (no tariff) gets it on the next run too.
    other = await factories.customer()
    await finances.add_one_off(other.id, "Serwis", 5000, 8, date(2026, 11, 20), "next", isp=ISP(),
                               today=date(2026, 11, 20))
    assert (await billing.run_billing("2026-11", date(2026, 11, 30), ISP())).invoices == 1
    assert await balance(other.id) == -5000


def test_charge_form_reports_every_bad_field():
    with pytest.raises(ChargeError) as err:
        finances.parse_charge_form(ChargeForm(description="", amount="abc", vat_rate="7", date="jutro", mode="x"))
    assert set(err.value.errors) == {"description", "amount", "vat_rate", "date", "mode"}
    assert finances.parse_charge_form(ChargeForm("Router", "199,00", "23", "2026-11-05", "now")) == (
        "Router", 19900, 23, date(2026, 11, 5), "now")
