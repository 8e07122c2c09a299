"""Admin billing page and statement import: runs, failed e-mails with retry, upload, queue, assign."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from app import delivery
from app.billing import run_billing
from app.finances import balance
from app.tables.billing import BankLine
from app.tables.finances import Payment
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts
from tests.test_billing import billed_customer
from tests.test_payments_import import three_customers

pytestmark = pytest.mark.anyio
DATA = Path(__file__).parent.parent / "data"


async def upload(client, name: str, content: bytes):
    if not client.cookies.get("csrftoken"):
        await client.get("/admin/payments/import")
    return await client.post("/admin/payments/import",
                             data={"_csrf_token": client.cookies.get("csrftoken")},
                             files={"statement": (name, content, "application/octet-stream")})


async def test_billing_page_shows_runs_and_failed_deliveries_with_retry(admin_client, settings, mailbox):
    await billed_customer(invoice_by_email=True, price=10000)
    await billed_customer(price=5000)
    await run_billing("2026-11", date(2026, 11, 1), settings.isp)
    await delivery.deliver_pending(dataclasses.replace(settings, smtp_url="smtp://127.0.0.1:1"))

    page = await admin_client.get("/admin/billing")
    assert page.status_code == 200
    html = soup(page)
    assert html.select_one("nav a[href='/admin/billing']")["aria-current"] == "page"
    [row] = html.select("#billing-runs tbody tr")
    cells = [texts(td) for td in row.select("td")]
    assert cells[:5] == ["2026-11", "zakończony", "2", "150,00 zł", "0"]
    [failed] = html.select("#failed-deliveries tbody tr")
    assert "FV/1/11/2026" in texts(failed) or "FV/2/11/2026" in texts(failed)
    form = failed.select_one("form")

    fragment = await admin_client.get("/admin/billing", headers=PARTIAL)
    assert soup(fragment).select_one("div#billing-overview") and not soup(fragment).select("html")

    response = await post_form(admin_client, form["action"])
    assert response.status_code == 303 and response.headers["location"] == "/admin/billing?m=sent"
    assert len(mailbox.messages) == 1
    after = soup(await admin_client.get("/admin/billing?m=sent"))
    assert texts(after.select_one(".notice")) == "Faktura wysłana."
    assert "Wszystkie faktury wysłane." in texts(after.select_one("#failed-deliveries"))


async def test_retry_unknown_delivery_is_404(admin_client):
    assert (await post_form(admin_client, "/admin/billing/deliveries/999/retry")).status_code == 404


async def test_billing_needs_an_operator(client):
    response = await client.get("/admin/billing")
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["location"]


async def test_upload_mt940_shows_summary_and_queue_then_assign(admin_client):
    await three_customers()
    page = soup(await admin_client.get("/admin/payments/import"))
    form = page.select_one("form#import-form")
    assert form["enctype"] == "multipart/form-data" and form.select_one("input[type=file][name=statement]")

    response = await upload(admin_client, "wyciag.sta", (DATA / "statement-2026-11-24.mt940").read_bytes())
    assert response.status_code == 303
    html = soup(await admin_client.get(response.headers["location"]))
    assert texts(html.select_one("#import-summary")).startswith(
        "Zaimportowano wyciag.sta: dopasowane 2 , niedopasowane 1 , duplikaty 0")
    [line] = html.select("#unmatched tbody tr")
    assert "Za internet listopad" in texts(line)
    action = line.select_one("form")["action"]

    bad = await post_form(admin_client, action, {"customer_id": "abc"})
    assert bad.status_code == 422
    assert texts(soup(bad).select_one("#unmatched .field-error")) == "Podaj ID Klienta (same cyfry)."
    assert soup(bad).select_one("#unmatched input[name=customer_id]")["value"] == "abc"

    ok = await post_form(admin_client, action, {"customer_id": "0003"})
    assert ok.status_code == 303
    assert await balance(3) == 10000
    again = await post_form(admin_client, action, {"customer_id": "3"})
    assert again.status_code == 422 and await balance(3) == 10000

    dup = await upload(admin_client, "wyciag.sta", (DATA / "statement-2026-11-24.mt940").read_bytes())
    html = soup(await admin_client.get(dup.headers["location"]))
    assert "duplikaty 3" in texts(html.select_one("#import-summary"))


async def test_assign_via_htmx_returns_the_fragment(admin_client):
    await three_customers()
    await upload(admin_client, "w.sta", (DATA / "statement-2026-11-24.mt940").read_bytes())
    line = await BankLine.select(BankLine.id).where(BankLine.status == "unmatched").first()
    response = await post_form(admin_client, f"/admin/payments/unmatched/{line['id']}/assign",
                               {"customer_id": "1"}, headers=PARTIAL)
    assert response.status_code == 200
    html = soup(response)
    assert html.select_one("div#payments-import") and not html.select("html")
    assert texts(html.select_one(".notice")) == "Wpłata przypisana i zaksięgowana."


async def test_malformed_upload_is_422_with_line_and_nothing_booked(admin_client):
    await three_customers()
    response = await upload(admin_client, "zly.sta", (DATA / "statement-malformed.mt940").read_bytes())
    assert response.status_code == 422
    error = soup(response).select_one("#statement-error")
    assert texts(error).startswith("Wiersz 7: nieprawidłowa data")
    assert await Payment.count() == 0 and await BankLine.count() == 0


async def test_empty_upload_and_missing_csrf(admin_client):
    await admin_client.get("/admin/payments/import")
    response = await upload(admin_client, "pusty.csv", b"")
    assert response.status_code == 422
    assert "Wybierz plik" in texts(soup(response).select_one("#statement-error"))
    no_token = await admin_client.post("/admin/payments/import",
                                       files={"statement": ("a.csv", b"x", "text/csv")})
    assert no_token.status_code == 403


async def test_import_page_fragment(admin_client):
    response = await admin_client.get("/admin/payments/import", headers=PARTIAL)
    assert soup(response).select_one("div#payments-import") and not soup(response).select("html")
    assert response.headers["vary"].startswith("HX-Request")
    assert factories  # factories module is shared by the helpers above


async def test_failed_reminder_is_listed_and_retried(admin_client, settings, mailbox):
    c = await factories.customer()
    from app.tables.customers import Customer

    await Customer.update({Customer.invoice_by_email: True}).where(Customer.id == c.id)
    await factories.invoice(c.id, date(2026, 10, 1), gross=4200)
    await delivery.send_reminders(dataclasses.replace(settings, smtp_url="smtp://127.0.0.1:1"),
                                  date(2026, 11, 24))
    html = soup(await admin_client.get("/admin/billing"))
    [item] = html.select("#failed-reminders li")
    assert c.name in texts(item)
    response = await post_form(admin_client, item.select_one("form")["action"])
    assert response.status_code == 303 and response.headers["location"] == "/admin/billing?m=reminded"
    [msg] = mailbox.messages
    assert "42,00 zł" in msg.get_body(("plain",)).get_content()
    assert (await post_form(admin_client, "/admin/billing/reminders/999/retry")).status_code == 404
