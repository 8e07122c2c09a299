"""Admin money pages: assignments on the customer page, one-off charges, corrective
invoices, payment reversal and move, "Rozlicz teraz"; the customer's Finanse tab."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from app.finances import balance
from app.invoices import InvoiceLine
from app.tables.changes import AuditLog
from app.tables.finances import Invoice, OneOffCharge, Payment
from app.tables.tariffs import Assignment
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio


async def test_assign_change_and_end_on_the_customer_page(admin_client):
    who = await factories.customer()
    net = await factories.tariff(name="Światłowód 300", price=7999)
    fast = await factories.tariff(name="Światłowód 600", price=9999)
    page = soup(await admin_client.get(f"/admin/customers/{who.id}"))
    assert page.select_one("#assignment-form select[name=tariff]")
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments",
                        {"tariff": str(net), "start": "2026-01-01", "discount_percent": "10", "note": "umowa 24 m-ce"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/admin/customers/{who.id}?m=assignment_added")
    [a] = await Assignment.select().where(Assignment.customer == who.id)
    assert (a["start"], a["discount_percent"], a["note"]) == (date(2026, 1, 1), 10, "umowa 24 m-ce")
    later = (date.today() + timedelta(days=40)).replace(day=1)
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments/{a['id']}/change",
                        {"tariff": str(fast), "start": later.isoformat()})
    assert r.status_code == 303
    page = soup(await admin_client.get(f"/admin/customers/{who.id}?m=assignment_changed"))
    rows = [texts(tr) for tr in page.select("#assignment-list tbody tr")]
    assert "Światłowód 300" in rows[0] and "obowiązuje" in rows[0] and "71,99 zł" in rows[0]
    assert "Światłowód 600" in rows[1] and "od przyszłej daty" in rows[1]
    assert "zmiana taryfy" in texts(page.select_one("#audit-log"))
    new = (await Assignment.select().where(Assignment.tariff == fast).first())["id"]
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments/{new}/end",
                        {"on": (later + timedelta(days=364)).isoformat()})
    assert r.status_code == 303
    actions = [x["action"] for x in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert actions == ["assignment_add", "assignment_change", "assignment_end"]
    assert (await AuditLog.select(AuditLog.actor_id).first())["actor_id"] == admin_client.operator.id


async def test_bad_assignment_input_comes_back_in_polish_with_nothing_saved(admin_client):
    who = await factories.customer()
    net = await factories.tariff(price=7999)
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments",
                        {"tariff": str(net), "start": "2026-02-30"})
    assert r.status_code == 422
    assert "podaj datę RRRR-MM-DD" in texts(soup(r).select_one("#contract-error"))
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments",
                        {"tariff": str(net), "start": "2026-05-01", "end": "2026-04-01"})
    assert r.status_code == 422 and await Assignment.count() == 0
    other = await factories.customer()
    await post_form(admin_client, f"/admin/customers/{other.id}/assignments", {"tariff": str(net), "start": "2026-01-01"})
    aid = (await Assignment.select(Assignment.id).first())["id"]
    # Another customer's assignment through this customer's URL: 404.
    r = await post_form(admin_client, f"/admin/customers/{who.id}/assignments/{aid}/end", {"on": "2026-12-31"})
    assert r.status_code == 404
    assert (await post_form(admin_client, f"/admin/customers/{who.id + 999}/assignments",
                            {"tariff": str(net), "start": "2026-01-01"})).status_code == 404
    # Without the CSRF token nothing happens.
    r = await admin_client.post(f"/admin/customers/{who.id}/assignments", data={"tariff": str(net), "start": "2026-01-01"})
    assert r.status_code == 403 and await Assignment.count() == 1


async def test_one_off_charges_from_the_finances_page(admin_client):
    who = await factories.customer()
    today = date.today().isoformat()
    r = await post_form(admin_client, f"/admin/customers/{who.id}/charges",
                        {"description": "Instalacja", "amount": "99,00", "vat_rate": "23", "date": today, "mode": "now"})
    assert r.status_code == 303 and r.headers["location"].endswith("?m=charged_now")
    assert await balance(who.id) == -9900 and await Invoice.count() == 1
    r = await post_form(admin_client, f"/admin/customers/{who.id}/charges",
                        {"description": "Router", "amount": "199", "vat_rate": "23", "date": today, "mode": "next"})
    assert r.status_code == 303
    page = soup(await admin_client.get(f"/admin/customers/{who.id}/finances"))
    assert "Router" in texts(page.select_one("#pending-one-offs"))
    assert "Instalacja" in texts(page.select_one("#admin-finances-statement"))
    r = await post_form(admin_client, f"/admin/customers/{who.id}/charges",
                        {"description": "", "amount": "-5", "vat_rate": "7", "date": "wczoraj", "mode": "now"})
    assert r.status_code == 422 and await OneOffCharge.count() == 2
    form = soup(r).select_one("#charge-form")
    assert "Podaj opis opłaty." in texts(form) and "Stawka VAT musi być" in texts(form)


async def test_correct_an_invoice_and_print_it(admin_client):
    who = await factories.customer()
    inv = await factories.invoice(who.id, date(2026, 11, 2), lines=[
        InvoiceLine("Abonament", 1, "usł.", 7999, 23), InvoiceLine("Telewizja", 2, "usł.", 4000, 8)])
    page = soup(await admin_client.get(f"/admin/customers/{who.id}/finances"))
    assert page.select_one(f"a[href='/admin/invoices/{inv.id}/correct']")
    form = soup(await admin_client.get(f"/admin/invoices/{inv.id}/correct"))
    assert form.select_one("input[name=price_2]")["value"] == "20,00"
    r = await post_form(admin_client, f"/admin/invoices/{inv.id}/correct",
                        {"quantity_1": "1", "price_1": "79,99", "quantity_2": "2", "price_2": "20,00", "reason": "x"})
    assert r.status_code == 422 and "niczego nie zmienia" in texts(soup(r).select_one("#correct-error"))
    r = await post_form(admin_client, f"/admin/invoices/{inv.id}/correct",
                        {"quantity_1": "1", "price_1": "79,99", "quantity_2": "1", "price_2": "20,00",
                         "reason": "Rezygnacja z drugiego dekodera"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/customers/{who.id}/finances?m=corrected"
    fix = await Invoice.select().where(Invoice.kind == "correction").first()
    assert fix["number"] == f"FK/1/{date.today():%m/%Y}" and fix["total_gross"] == -2000
    assert await balance(who.id) == -9999
    pdf = await admin_client.get(f"/admin/invoices/{fix['id']}")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"Faktura korygująca nr {fix['number']}" in text and f"Do faktury VAT nr {inv.number}" in text
    assert (await admin_client.get(f"/admin/invoices/{fix['id']}/correct")).status_code == 404
    assert (await admin_client.get(f"/admin/invoices/{inv.id + 999}/correct")).status_code == 404


async def test_correction_in_the_customers_statement_and_print_selected(customer_client):
    me = customer_client.customer
    inv = await factories.invoice(me.id, date.today() - timedelta(days=3), gross=7999)
    from app import invoices
    from app.settings import ISP

    fix = await invoices.issue_correction(inv.id, [invoices.LineChange(1, 1, 5999)], "Reklamacja", date.today(), ISP())
    page = soup(await customer_client.get("/finances"))
    boxes = [x["value"] for x in page.select("#finances-print input[type=checkbox]")]
    assert str(fix.id) in boxes and str(inv.id) in boxes
    assert fix.number in texts(page)
    r = await customer_client.get(f"/finances/invoices/print?invoice_id={inv.id}&invoice_id={fix.id}")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(r.content)).pages)
    assert f"Faktura VAT nr {inv.number}" in text and f"Faktura korygująca nr {fix.number}" in text


async def test_reverse_and_move_a_payment(admin_client):
    wrong = await factories.customer()
    right = await factories.customer()
    paid = await factories.payment(wrong.id, 5000)
    r = await post_form(admin_client, f"/admin/payments/{paid.id}/move", {"customer_id": str(right.id), "reason": ""})
    assert r.status_code == 422 and "Podaj powód" in texts(soup(r).select_one("#payment-fix-error"))
    r = await post_form(admin_client, f"/admin/payments/{paid.id}/move",
                        {"customer_id": str(right.id + 999), "reason": "pomyłka"})
    assert r.status_code == 422 and await Payment.count() == 1
    r = await post_form(admin_client, f"/admin/payments/{paid.id}/move", {"customer_id": str(right.id), "reason": "pomyłka"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/customers/{wrong.id}/finances?m=moved"
    assert (await balance(wrong.id), await balance(right.id)) == (0, 5000)
    page = soup(await admin_client.get(f"/admin/customers/{right.id}/finances"))
    moved = (await Payment.select(Payment.id).where(Payment.customer == right.id).first())["id"]
    r = await post_form(admin_client, f"/admin/payments/{moved}/reverse", {"reason": "zwrot przez bank"})
    assert r.status_code == 303 and await balance(right.id) == 0
    assert "storno" in texts(soup(await admin_client.get(f"/admin/customers/{right.id}/finances"))
                             .select_one("#admin-payments"))
    assert page.select_one(f"form[action='/admin/payments/{moved}/reverse']")
    assert (await post_form(admin_client, "/admin/payments/999999/reverse", {"reason": "x"})).status_code == 404


async def test_rozlicz_teraz_bills_a_late_customer(admin_client):
    who = await factories.customer()
    tariff = await factories.tariff(price=6000)
    page = soup(await admin_client.get("/admin/billing"))
    assert page.select_one("form#billing-run[action='/admin/billing/run']")
    await Assignment.insert(Assignment(customer=who.id, tariff=tariff, start=date.today().replace(day=1)))
    r = await post_form(admin_client, "/admin/billing/run")
    assert r.status_code == 303 and await Invoice.count().where(Invoice.customer == who.id) == 1
    r = await post_form(admin_client, "/admin/billing/run")
    assert await Invoice.count() == 1  # nothing twice


async def test_finances_tab_shows_current_and_later_assignments(customer_client):
    me = customer_client.customer
    from app import contracts

    await factories.tariff(name="Światłowód 300", price=7999)
    await factories.tariff(name="Światłowód 600", price=9999)
    aid = await contracts.add_assignment(me.id, "Światłowód 300", date.today() - timedelta(days=100))
    later = date.today() + timedelta(days=20)
    await contracts.change_tariff(aid, "Światłowód 600", later)
    box = soup(await customer_client.get("/finances")).select_one("#finances-tariff")
    text = texts(box)
    assert "Światłowód 300" in text and "79,99 zł" in text
    assert f"Od {later:%d.%m.%Y}: Światłowód 600 · 99,99 zł" in text
