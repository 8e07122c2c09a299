"""Rejestr faktur: filters, pages and VAT totals; the accountant's CSV exports, parsed back
with the csv module and checked against the register."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest

from app import register
from app.invoices import InvoiceLine
from app.money import parse_money
from app.register import Filters
from app.tables.billing import InvoiceDelivery, Reminder
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio
NOV = date(2026, 11, 1)


async def _month():
    """Three customers billed in November 2026 (one also at 8% VAT) and one in October."""
    a = await factories.customer("Jan Łęcki", nip="5260250274")
    b = await factories.customer("Anna Wójcik")
    c = await factories.customer("Piotr Nowak")
    inv_a = await factories.invoice(a.id, NOV, lines=[InvoiceLine("Abonament", 1, "szt.", 7999, 23),
                                                     InvoiceLine("Usługa 8%", 1, "szt.", 1080, 8)])
    inv_b = await factories.invoice(b.id, date(2026, 11, 2), gross=12345)
    inv_c = await factories.invoice(c.id, date(2026, 11, 3), gross=5000)
    await factories.invoice(c.id, date(2026, 10, 1), gross=5000)
    await factories.payment(a.id, 7999 + 1080, date(2026, 11, 5))  # a: paid
    await factories.payment(c.id, 5000, date(2026, 11, 6))  # c: October paid, November not
    await InvoiceDelivery.insert(InvoiceDelivery(invoice=inv_b.id, customer=b.id, email="b@example.pl",
                                                 sent_at=datetime.now(timezone.utc)))
    return (a, b, c), (inv_a, inv_b, inv_c)


async def _numbers(**filters) -> set[str]:
    page = await register.register(Filters(**filters), per_page=100)
    return {r["number"] for r in page.rows}


async def test_filters_month_number_customer_paid_and_emailed():
    (a, b, c), (inv_a, inv_b, inv_c) = await _month()
    assert await _numbers(month="2026-11") == {inv_a.number, inv_b.number, inv_c.number}
    assert len(await _numbers()) == 4
    assert await _numbers(month="2026-11", paid="paid") == {inv_a.number}
    assert await _numbers(month="2026-11", paid="unpaid") == {inv_b.number, inv_c.number}
    assert await _numbers(month="2026-11", emailed="yes") == {inv_b.number}
    assert await _numbers(month="2026-11", emailed="no") == {inv_a.number, inv_c.number}
    assert await _numbers(q=inv_b.number) == {inv_b.number}
    assert await _numbers(q=str(c.id), month="2026-11") == {inv_c.number}
    assert await _numbers(q="Nowak") == await _numbers(q=str(c.id))
    with pytest.raises(register.RegisterError):
        await register.register(Filters(month="26-11"))


async def test_pages_and_totals_per_rate_for_the_whole_filtered_set():
    await _month()
    page = await register.register(Filters(month="2026-11"), per_page=2)
    assert (page.total, page.pages, len(page.rows)) == (3, 2, 2)
    rates = {t.vat_rate: t for t in page.rates}
    assert rates[23].gross == 7999 + 12345 + 5000 and rates[8].gross == 1080
    assert rates[8].net == 1000 and rates[8].vat == 80
    assert all(t.net + t.vat == t.gross for t in page.rates)
    second = await register.register(Filters(month="2026-11"), page=2, per_page=2)
    assert len(second.rows) == 1 and second.rates == page.rates


async def _parse(lines) -> list[dict]:
    text = "".join([line async for line in lines])
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


async def test_sales_export_parses_back_and_matches_the_register():
    await _month()
    rows = await _parse(register.export("sales", "2026-11", date(2026, 12, 4)))
    page = await register.register(Filters(month="2026-11"))
    assert {r["Numer"] for r in rows} == {r["number"] for r in page.rows}
    for rate in page.rates:
        mine = [r for r in rows if int(r["Stawka VAT (%)"]) == rate.vat_rate]
        assert sum(parse_money(r["Netto"]) for r in mine) == rate.net
        assert sum(parse_money(r["VAT"]) for r in mine) == rate.vat
        assert sum(parse_money(r["Brutto"]) for r in mine) == rate.gross
    lecki = [r for r in rows if r["Nabywca"] == "Jan Łęcki"]
    assert len(lecki) == 2 and {r["Brutto"] for r in lecki} == {"79,99", "10,80"}
    assert lecki[0]["NIP nabywcy"] == "5260250274"


async def test_corrections_are_in_the_register_totals_and_the_sales_export():
    """A faktura korygująca is one more document: listed as such, its lines' difference in the
    totals per rate and in the sales register (negative when it lowers the price)."""
    from app.invoices import LineChange, issue_correction
    from app.settings import ISP

    _, (inv_a, _, _) = await _month()
    before = await register.register(Filters(month="2026-11"))
    fix = await issue_correction(inv_a.id, [LineChange(1, 1, 5000)], "Błędna cena", date(2026, 11, 20), ISP())
    page = await register.register(Filters(month="2026-11"))
    assert {r["kind"] for r in page.rows if r["id"] == fix.id} == {"correction"}
    diff = {r.vat_rate: (r.net, r.vat, r.gross) for r in page.rates}
    old = {r.vat_rate: (r.net, r.vat, r.gross) for r in before.rates}
    assert diff[23][2] - old[23][2] == 5000 - 7999 and diff[8] == old[8]
    rows = [r for r in await _parse(register.export("sales", "2026-11", date(2026, 12, 4)))
            if r["Numer"] == fix.number]
    assert len(rows) == 1 and rows[0]["Rodzaj"] == "faktura korygująca" and rows[0]["Brutto"] == "-29,99"
    signed = lambda text: -parse_money(text[1:]) if text.startswith("-") else parse_money(text)  # noqa: E731
    assert signed(rows[0]["Netto"]) + signed(rows[0]["VAT"]) == -2999


async def test_payments_export():
    (a, b, c), _ = await _month()
    await factories.payment(b.id, 100, date(2026, 10, 31))  # another month
    rows = await _parse(register.export("payments", "2026-11", date(2026, 12, 4)))
    assert [(r["ID Klienta"], r["Kwota"], r["Data"]) for r in rows] == [
        (str(a.id), "90,79", "2026-11-05"), (str(c.id), "50,00", "2026-11-06")]


async def test_debtors_export_as_of_the_month_end():
    (a, b, c), _ = await _month()
    await Reminder.insert(Reminder(key=f"2026-11:{b.id}", period="2026-11", customer=b.id, amount=12345,
                                   channel="paper"))
    rows = await _parse(register.export("debtors", "2026-11", date(2026, 12, 4)))
    by_id = {int(r["ID Klienta"]): r for r in rows}
    assert set(by_id) == {b.id, c.id}
    assert by_id[b.id]["Zaległość"] == "123,45" and by_id[b.id]["Kanał"] == "list"
    assert by_id[c.id]["Zaległość"] == "50,00" and by_id[c.id]["Kanał"] == ""
    assert int(by_id[b.id]["Dni po terminie"]) == (date(2026, 11, 30) - date.fromisoformat(
        by_id[b.id]["Najstarsza nieopłacona od"])).days
    october = await _parse(register.export("debtors", "2026-10", date(2026, 12, 4)))
    assert [int(r["ID Klienta"]) for r in october] == [c.id]


async def test_export_routes_stream_csv_and_refuse_a_bad_month(admin_client):
    await _month()
    response = await admin_client.get("/admin/exports/sales.csv?month=2026-11")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 4
    for name in ("payments", "debtors"):
        assert (await admin_client.get(f"/admin/exports/{name}.csv?month=2026-11")).status_code == 200
    bad = await admin_client.get("/admin/exports/sales.csv?month=26-11")
    assert bad.status_code == 400 and "RRRR-MM" in bad.text
    assert (await admin_client.get("/admin/exports/other.csv?month=2026-11")).status_code == 404


async def test_register_page_filters_and_totals(admin_client):
    _, (inv_a, inv_b, inv_c) = await _month()
    page = soup(await admin_client.get("/admin/invoices?month=2026-11&unpaid=1"))
    assert {tr["data-number"] for tr in page.select("#register tbody tr[data-number]")} == {inv_b.number, inv_c.number}
    assert texts(page.select_one("#rate-totals tr[data-rate='23'] td:last-child")) == "173,45 zł"
    assert page.select_one("a[href='/admin/exports/sales.csv?month=2026-11']") is not None
    bad = await admin_client.get("/admin/invoices?month=listopad")
    assert bad.status_code == 422 and "RRRR-MM" in texts(soup(bad).select_one(".error"))
    # The register's form is a GET: nothing to post, nothing to break with JS off.
    assert soup(await admin_client.get("/admin/invoices")).select_one("form[method=get][action='/admin/invoices']")
    assert (await post_form(admin_client, "/admin/invoices", {})).status_code in (405, 404)
