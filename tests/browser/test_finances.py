"""Finanse in a real browser: tick invoices, watch the counter, print them as one PDF."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from tests import factories
from tests.browser.conftest import log_in, run

PRINT = "/finances/invoices/print"


def _customer_with_invoices(n: int = 3):
    customer = run(factories.customer())
    invoices = [run(factories.invoice(customer.id, date(date.today().year, m, 1), gross=7999 + m,
                                      description=f"Abonament miesiąc {m}")) for m in range(1, n + 1)]
    return customer, invoices


def _print_and_read(page, click) -> tuple[str, str]:
    """Press "Drukuj zaznaczone" and return the URL the new window asked for and the PDF's text.
    Headless Chromium may show the PDF or turn it into a download; the response is the same."""
    context = page.context
    with context.expect_event("response", lambda r: PRINT in r.url) as got:
        with context.expect_page() as popup:
            click()
    response = got.value
    assert popup.value  # a new window, as target="_blank" asks
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    # Fetch the same URL again with the session's cookies; the body must be the PDF.
    body = context.request.get(response.url).body()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    return response.url, text


def _log_in_nojs(page, customer) -> None:
    page.goto("/login")
    page.fill("input[name=customer_id]", str(customer.id))
    page.fill("input[name=pin]", customer.pin)
    page.click("button[type=submit]")
    page.wait_for_url("**/info")


def test_tick_two_invoices_count_and_print_selected(page):
    customer, invoices = _customer_with_invoices()
    log_in(page, customer)
    page.click("nav#tabs a[href='/finances']")
    page.wait_for_selector("#finances-data form#finances-print")
    assert page.url.endswith("/finances")
    count = page.locator("output.fin-count")
    assert count.inner_text() == "0"
    page.check(f"input[name=invoice_id][value='{invoices[0].id}']")
    assert count.inner_text() == "1"
    page.check(f"input[name=invoice_id][value='{invoices[2].id}']")
    assert count.inner_text() == "2"
    assert page.locator(f"a.fin-icon[title='{invoices[1].number}']").get_attribute("target") == "_blank"
    url, text = _print_and_read(page, lambda: page.click("text=Drukuj zaznaczone"))
    assert sorted(url.split("?", 1)[1].split("&")) == sorted(
        f"invoice_id={invoices[i].id}" for i in (0, 2))
    assert invoices[0].number in text and invoices[2].number in text
    assert invoices[1].number not in text


def test_select_all_toggles_and_nothing_selected_shows_a_message(page):
    customer, invoices = _customer_with_invoices()
    log_in(page, customer)
    page.goto("/finances")
    page.click("[data-select-all]")
    assert page.locator("output.fin-count").inner_text() == str(len(invoices))
    assert page.locator("input[name=invoice_id]:checked").count() == len(invoices)
    page.click("[data-select-all]")
    assert page.locator("input[name=invoice_id]:checked").count() == 0
    page.click("text=Drukuj zaznaczone")
    assert page.locator(".fin-none").is_visible()
    assert len(page.context.pages) == 1


def test_print_selected_without_javascript(nojs_page):
    customer, invoices = _customer_with_invoices()
    _log_in_nojs(nojs_page, customer)
    nojs_page.goto("/finances")
    nojs_page.check(f"input[name=invoice_id][value='{invoices[0].id}']")
    nojs_page.check(f"input[name=invoice_id][value='{invoices[1].id}']")
    url, text = _print_and_read(nojs_page, lambda: nojs_page.click("text=Drukuj zaznaczone"))
    assert invoices[0].number in text and invoices[1].number in text
    assert invoices[2].number not in text


def test_select_all_link_without_javascript(nojs_page):
    customer, invoices = _customer_with_invoices()
    _log_in_nojs(nojs_page, customer)
    nojs_page.goto("/finances")
    nojs_page.click("text=zaznacz wszystkie")
    nojs_page.wait_for_url("**select=all")
    assert nojs_page.locator("input[name=invoice_id]:checked").count() == len(invoices)
    url, text = _print_and_read(nojs_page, lambda: nojs_page.click("text=Drukuj zaznaczone"))
    assert all(inv.number in text for inv in invoices)
