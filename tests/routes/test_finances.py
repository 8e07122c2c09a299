"""Finanse: page and fragment, statement controls, PDFs and foreign invoice IDs."""

from __future__ import annotations

import re

import io
from datetime import date

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from tests import factories
from app.transfer import qr_payload, qr_svg, transfer_title, virtual_account
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio



def pdf_text(response) -> str:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)


async def _three_invoices(customer_id: int):
    return [await factories.invoice(customer_id, date(2026, m, 1), gross=7999,
                                    description=f"Abonament {m:02d}/2026") for m in (8, 9, 10)]


async def test_page_is_whole_and_fragment_is_only_the_section(customer_client):
    page = soup(await customer_client.get("/finances"))
    assert page.select_one("nav#tabs a[aria-current=page]")["href"] == "/finances"
    assert page.select_one("#content section#finances-data")
    for headers in (PARTIAL, {"HX-Request": "true"}):
        frag = soup(await customer_client.get("/finances", headers=headers))
        assert not frag.select("html, nav#tabs, header")
        assert frag.select_one("section#finances-data")


async def test_statement_has_checkbox_and_print_icon_per_invoice(customer_client):
    cid = customer_client.customer.id
    issued = await _three_invoices(cid)
    await factories.payment(cid, 7999, date(2026, 9, 3), title="Przelew wrzesień")
    section = soup(await customer_client.get("/finances?year=2026")).select_one("#finances-data")
    form = section.select_one("form#finances-print")
    assert form["action"] == "/finances/invoices/print" and form["method"] == "get"
    assert form["target"] == "_blank"
    boxes = form.select("input[type=checkbox][name=invoice_id]")
    assert sorted(int(b["value"]) for b in boxes) == sorted(i.id for i in issued)
    icons = form.select("a.fin-icon")
    assert {(a["href"], a["title"], a["target"]) for a in icons} == {
        (f"/finances/invoices/{i.id}", i.number, "_blank") for i in issued}
    rows = form.select("tbody tr")
    assert len(rows) == 4
    # Newest first, with the running balance after each row.
    assert [texts(r.select("td")[4]) for r in rows] == ["-159,98 zł", "-79,99 zł", "-159,98 zł", "-79,99 zł"]
    assert form.select_one("button[type=submit]").get_text(strip=True) == "Drukuj zaznaczone"
    assert form.select_one("[data-select-all]").get_text(strip=True) == "zaznacz wszystkie"
    assert form.select_one("output.fin-count").get_text(strip=True) == "0"
    assert form.select_one(".fin-counter").has_attr("hidden")  # shown by JS, which keeps it right
    # Every invoice row shows its number as text, not only in the icon's tooltip.
    numbers = [a.get_text() for a in form.select("td a.fin-no")]
    assert sorted(numbers) == sorted(i.number for i in issued)


async def test_balance_box_in_debt_links_transfer_and_shows_account_and_qr(customer_client):
    cid = customer_client.customer.id
    await factories.invoice(cid, date(2026, 10, 1), gross=12345)
    box = soup(await customer_client.get("/finances")).select_one("#finances-balance")
    assert "123,45 zł" in texts(box.select_one(".fin-amount"))
    assert box.select_one("a[href='/finances/transfer']")
    assert texts(box.select_one(".fin-account strong")).replace(" ", "").endswith(f"{cid:04d}")
    assert box.select_one(".fin-qr svg path")


async def test_cached_qr_is_each_customers_own_and_follows_the_debt(app, customer_client):
    """The QR code is cached by its content: another customer, or a smaller debt, gets a
    different code, never the one built for the first page."""
    isp = app.state.settings.isp

    def shown(response) -> str:
        return str(soup(response).select_one("#finances-balance .fin-qr svg"))

    def built(cid: int, grosze: int, number: str) -> str:  # what segno builds, bypassing the cache
        payload = qr_payload(isp.nip, virtual_account(isp, cid), grosze, isp.payee_short,
                             transfer_title(cid, (number,)))
        return str(BeautifulSoup(qr_svg.__wrapped__(payload), "html.parser").select_one("svg"))

    cid = customer_client.customer.id
    mine = await factories.invoice(cid, date(2026, 10, 1), gross=12345)
    first = shown(await customer_client.get("/finances"))
    assert first == built(cid, 12345, mine.number)
    assert shown(await customer_client.get("/finances", headers=PARTIAL)) == first
    await factories.payment(cid, 2345, date(2026, 10, 2))
    after = shown(await customer_client.get("/finances"))
    assert after != first and after == built(cid, 10000, mine.number)

    other = await factories.customer(name="Zofia Łęcka", pin="591736")
    theirs_invoice = await factories.invoice(other.id, date(2026, 10, 1), gross=10000)
    customer_client.cookies.delete("wbok_session")
    await post_form(customer_client, "/login", {"customer_id": str(other.id), "pin": "591736"})
    theirs = shown(await customer_client.get("/finances"))
    assert theirs == built(other.id, 10000, theirs_invoice.number) and theirs != after


async def test_balance_box_in_credit_has_no_transfer(customer_client):
    cid = customer_client.customer.id
    await factories.invoice(cid, date(2026, 10, 1), gross=5000)
    await factories.payment(cid, 8000, date(2026, 10, 2))
    box = soup(await customer_client.get("/finances")).select_one("#finances-balance")
    assert "Nadpłata" in texts(box) and "30,00 zł" in texts(box)
    assert not box.select("a[href='/finances/transfer'], .fin-qr")


async def test_tariff_box(client):
    await factories.tariff("Światłowód 600", price=9999, down=600, up=100)
    who = await factories.customer(tariff_name="Światłowód 600")
    from tests.conftest import post_form
    await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    box = soup(await client.get("/finances")).select_one("#finances-tariff")
    assert "Światłowód 600" in texts(box) and "600/100 Mbit/s" in texts(box) and "99,99 zł" in texts(box)


async def test_year_pagination(customer_client):
    cid = customer_client.customer.id
    await factories.invoice(cid, date(2025, 6, 1), gross=1000, description="Stary abonament")
    await factories.invoice(cid, date(date.today().year, 1, 2), gross=2000)
    page = soup(await customer_client.get("/finances?year=2025", headers=PARTIAL))
    links = page.select("nav.pager a")
    assert str(date.today().year) in [a.get_text() for a in links]
    assert page.select_one("nav.pager a[aria-current=page]").get_text() == "2025"
    assert ["Stary abonament FV/1/06/2025"] == [texts(r.select("td")[2]) for r in page.select("tbody tr")]


async def test_select_all_without_js_ticks_every_invoice(customer_client):
    issued = await _three_invoices(customer_client.customer.id)
    form = soup(await customer_client.get("/finances?year=2026&select=all")).select_one("#finances-print")
    assert len(form.select("input[name=invoice_id][checked]")) == len(issued)
    assert form.select_one("output.fin-count").get_text(strip=True) == "3"
    assert not form.select_one(".fin-counter").has_attr("hidden")


async def test_invoice_pdf(customer_client):
    issued = await factories.invoice(customer_client.customer.id, date(2026, 10, 1), gross=7999,
                                     description="Abonament październik — Łódź")
    response = await customer_client.get(f"/finances/invoices/{issued.id}")
    text = pdf_text(response)
    assert issued.number in text and "Abonament październik" in text and "79,99" in text
    assert response.headers["content-disposition"].startswith("inline;")
    assert "faktura-FV-1-10-2026.pdf" in response.headers["content-disposition"]
    again = await customer_client.get(f"/finances/invoices/{issued.id}")
    assert again.content == response.content


async def test_print_selected_merges_all(customer_client):
    issued = await _three_invoices(customer_client.customer.id)
    query = "&".join(f"invoice_id={i.id}" for i in issued)
    text = pdf_text(await customer_client.get(f"/finances/invoices/print?{query}"))
    for inv in issued:
        assert inv.number in text
    assert len(PdfReader(io.BytesIO((await customer_client.get(f"/finances/invoices/print?{query}")).content)).pages) >= 3


async def test_print_nothing_selected_is_a_message_not_a_pdf(customer_client):
    response = await customer_client.get("/finances/invoices/print")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "Zaznacz co najmniej jedną fakturę" in texts(soup(response).select_one("main"))


async def test_foreign_and_mixed_invoice_ids_are_404(customer_client):
    mine = await factories.invoice(customer_client.customer.id, date(2026, 10, 1))
    other = await factories.customer()
    theirs = await factories.invoice(other.id, date(2026, 10, 1))
    for url in (f"/finances/invoices/{theirs.id}", f"/finances/invoices/{theirs.id + 1000}",
                f"/finances/invoices/print?invoice_id={mine.id}&invoice_id={theirs.id}",
                f"/finances/invoices/print?invoice_id={theirs.id}"):
        response = await customer_client.get(url)
        assert response.status_code == 404, url
        assert not response.content.startswith(b"%PDF")


async def test_transfer_pdf_for_debt(customer_client):
    cid = customer_client.customer.id
    await factories.invoice(cid, date(2026, 10, 1), gross=12345)
    text = pdf_text(await customer_client.get("/finances/transfer"))
    assert "123,45" in text and "sto dwadzieścia trzy złote 45/100" in text
    assert f"{cid:04d}" in text


async def test_transfer_without_debt_is_a_message(customer_client):
    response = await customer_client.get("/finances/transfer")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "Nie masz zaległości" in texts(soup(response))


async def test_finances_requires_login(client):
    for url in ("/finances", "/finances/transfer", "/finances/invoices/1", "/finances/invoices/print?invoice_id=1"):
        response = await client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_due_box_amount_date_status_and_title_with_invoice_number(customer_client):
    cid = customer_client.customer.id
    old = await factories.invoice(cid, date(2026, 9, 1), gross=7999)
    new = await factories.invoice(cid, date(2026, 10, 1), gross=12345)
    await factories.payment(cid, 7999, date(2026, 9, 10))
    box = soup(await customer_client.get("/finances")).select_one("#finances-balance")
    assert texts(box.select_one("h2")) == "Do zapłaty"
    assert texts(box.select_one(".fin-amount")) == "123,45 zł"
    state = texts(box.select_one(".fin-state"))
    assert state == "po terminie · termin: 15.10.2026", state  # 14 days after the issue
    copies = {b["aria-describedby"]: b["data-copy"] for b in box.select("button[data-copy]")}
    assert copies["pay-amount"] == "123,45"
    assert copies["pay-account"] == re.sub(r"\D", "", texts(box.select_one("#pay-account")))
    assert copies["pay-title"] == f"{new.number}, ID Klienta {cid:04d}" == texts(box.select_one("#pay-title"))
    assert old.number not in copies["pay-title"]
    assert all(b.has_attr("hidden") for b in box.select("button[data-copy]"))  # JS shows them


async def test_due_box_when_paid(customer_client):
    cid = customer_client.customer.id
    await factories.invoice(cid, date(2026, 10, 1), gross=5000)
    await factories.payment(cid, 5000, date(2026, 10, 2))
    box = soup(await customer_client.get("/finances")).select_one("#finances-balance")
    assert texts(box.select_one(".fin-amount")) == "0,00 zł" and texts(box.select_one(".fin-state")) == "opłacone"
    assert not box.select("button[data-copy], .fin-qr")
