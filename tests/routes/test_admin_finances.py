"""Admin finances: a customer's statement and invoices, payment entry, tariffs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.finances import balance
from app.tables.finances import Payment
from app.tables.tariffs import Tariff
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio


async def test_menu_has_payments_and_tariffs(admin_client):
    links = [a["href"] for a in soup(await admin_client.get("/admin/payments")).select("nav#tabs a")]
    assert "/admin/payments" in links and "/admin/tariffs" in links


async def test_customer_finances_shows_statement_and_invoices(admin_client):
    who = await factories.customer()
    inv = await factories.invoice(who.id, date(2026, 10, 1), gross=7999)
    await factories.payment(who.id, 5000, date(2026, 10, 5), title="Częściowa wpłata")
    detail = soup(await admin_client.get(f"/admin/customers/{who.id}"))
    assert detail.select_one(f"a[href='/admin/customers/{who.id}/finances']")
    page = soup(await admin_client.get(f"/admin/customers/{who.id}/finances?year=2026"))
    assert "-29,99 zł" in texts(page.select_one("#admin-balance"))
    rows = page.select("#admin-finances-statement tbody tr")
    assert [texts(r.select("td")[4]) for r in rows] == ["-29,99 zł", "-79,99 zł"]
    link = page.select_one(f"#admin-invoices a[href='/admin/invoices/{inv.id}']")
    assert link.get_text() == inv.number
    pdf = await admin_client.get(f"/admin/invoices/{inv.id}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await admin_client.get(f"/admin/customers/{who.id + 999}/finances")).status_code == 404


async def test_book_payment_redirects_and_records_operator(admin_client):
    who = await factories.customer()
    today = date.today().isoformat()
    response = await post_form(admin_client, "/admin/payments",
                               {"customer_id": str(who.id), "amount": "123,45", "date": today,
                                "title": "Wpłata w kasie"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/customers/{who.id}/finances?m=paid"
    assert await balance(who.id) == 12345
    row = await Payment.select(Payment.operator, Payment.source, Payment.title).first()
    assert row == {"operator": admin_client.operator.id, "source": "manual", "title": "Wpłata w kasie"}


async def test_book_payment_htmx_returns_fragment(admin_client):
    who = await factories.customer()
    response = await post_form(admin_client, "/admin/payments",
                               {"customer_id": str(who.id), "amount": "10", "date": date.today().isoformat(),
                                "title": "x"}, headers={"HX-Request": "true"})
    page = soup(response)
    assert response.status_code == 200 and not page.select("html")
    assert page.select_one("section#payments-form .notice")


async def test_book_payment_errors_in_polish_with_form_filled_back(admin_client):
    who = await factories.customer()
    future = (date.today() + timedelta(days=3)).isoformat()
    response = await post_form(admin_client, "/admin/payments",
                               {"customer_id": str(who.id), "amount": "12,345", "date": future, "title": ""})
    assert response.status_code == 422
    form = soup(response).select_one("#payments-form")
    assert form.select_one("#pay-customer_id")["value"] == str(who.id)
    assert form.select_one("#pay-amount")["value"] == "12,345"
    assert "dwie cyfry po przecinku" in texts(form.select_one("#pay-amount-error"))
    assert "z przyszłości" in texts(form.select_one("#pay-date-error"))
    assert "tytuł" in texts(form.select_one("#pay-title-error"))
    assert await Payment.count() == 0
    response = await post_form(admin_client, "/admin/payments",
                               {"customer_id": "999999", "amount": "1", "date": date.today().isoformat(), "title": "t"})
    assert response.status_code == 422
    assert "Nie ma klienta" in texts(soup(response).select_one("#pay-customer_id-error"))


async def test_payment_needs_csrf_and_operator(admin_client, client):
    who = await factories.customer()
    data = {"customer_id": str(who.id), "amount": "1", "date": date.today().isoformat(), "title": "t"}
    assert (await admin_client.post("/admin/payments", data=data)).status_code == 403
    response = await post_form(client, "/admin/payments", data)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
    assert await Payment.count() == 0


async def test_tariff_list_create_and_edit(admin_client):
    response = await post_form(admin_client, "/admin/tariffs",
                               {"name": "Światłowód 1000", "price": "119,99", "down_mbit": "1000",
                                "up_mbit": "300", "vat": "23"})
    assert response.status_code == 303
    row = await Tariff.select().where(Tariff.name == "Światłowód 1000").first()
    assert row["price"] == 11999
    table = soup(await admin_client.get("/admin/tariffs")).select_one("#tariffs")
    assert "Światłowód 1000" in texts(table) and "119,99 zł" in texts(table)
    edit = soup(await admin_client.get(f"/admin/tariffs/{row['id']}"))
    assert edit.select_one("#t-price")["value"] == "119,99"
    response = await post_form(admin_client, f"/admin/tariffs/{row['id']}",
                               {"name": "Światłowód 1000", "price": "99,99", "down_mbit": "1000",
                                "up_mbit": "300", "vat": "23"})
    assert response.status_code == 303
    assert (await Tariff.select(Tariff.price).where(Tariff.id == row["id"]).first())["price"] == 9999
    bad = await post_form(admin_client, f"/admin/tariffs/{row['id']}",
                          {"name": "", "price": "99,99", "down_mbit": "1000", "up_mbit": "300", "vat": "23"})
    assert bad.status_code == 422 and soup(bad).select_one(".error")
    assert soup(bad).select_one("#t-price")["value"] == "99,99"
    assert (await admin_client.get(f"/admin/tariffs/{row['id'] + 99}")).status_code == 404
