"""The unmatched queue in the admin: sender shown, split and ignore by form (JS off and htmx)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.finances import balance
from app.tables.billing import BankLine, BankLineAction
from tests.conftest import PARTIAL, post_form, soup, texts
from tests.routes.test_admin_billing import upload
from tests.test_bank_formats import three_customers

pytestmark = pytest.mark.anyio
BANKS = Path(__file__).parent.parent / "data" / "banks"


async def test_queue_line_shows_sender_and_split_works_without_js(admin_client):
    await three_customers()
    response = await upload(admin_client, "pekao.sta", (BANKS / "pekao.sta").read_bytes())
    html = soup(await admin_client.get(response.headers["location"]))
    assert "obciążenia pominięte 1" in texts(html.select_one("#import-summary"))
    [line] = html.select("#unmatched tbody tr")
    assert texts(line.select_one(".sender")) == 'FIRMA HANDLOWA "ŻURAW" SP. Z O.O.'
    assert texts(line.select_one(".account")) == "76 1140 2004 0000 3000 0000 0000"
    assert texts(line.select_one(".title")) == "Faktura 12/2026 i 01/2027"
    action = line.select_one("form.split")["action"]

    bad = await post_form(admin_client, action, {"customer_id": ["1", "3", ""], "amount": ["100", "50", ""]})
    assert bad.status_code == 422
    assert "200,00 zł" in texts(soup(bad).select_one("#unmatched form.split .field-error"))
    assert soup(bad).select("#unmatched form.split input[name=amount]")[1]["value"] == "50"

    ok = await post_form(admin_client, action, {"customer_id": ["1", "3", ""], "amount": ["120,00", "80", ""]})
    assert ok.status_code == 303
    assert await balance(1) == 12000 and await balance(3) == 8000
    page = soup(await admin_client.get(ok.headers["location"]))
    assert texts(page.select_one(".notice")) == "Wpłata podzielona i zaksięgowana."
    assert len(page.select("#queue-actions tbody tr")) == 2


async def test_ignore_with_htmx_returns_the_fragment_and_needs_a_reason(admin_client):
    await three_customers()
    await upload(admin_client, "pko.sta", (BANKS / "pko.sta").read_bytes())
    line = await BankLine.select(BankLine.id).where(BankLine.status == "unmatched").first()
    url = f"/admin/payments/unmatched/{line['id']}/ignore"
    bad = await post_form(admin_client, url, {"reason": " "}, headers=PARTIAL)
    assert bad.status_code == 422 and texts(soup(bad).select_one("form.ignore .field-error")) == \
        "Podaj powód pominięcia wpłaty."
    ok = await post_form(admin_client, url, {"reason": "Zwrot nadpłaty"}, headers=PARTIAL)
    assert ok.status_code == 200
    html = soup(ok)
    assert html.select_one("div#payments-import") and not html.select("html")
    assert texts(html.select_one(".notice")) == "Wpłata pominięta; powód zapisano."
    assert "Zwrot nadpłaty" in texts(html.select_one("#queue-actions"))
    assert await BankLineAction.count() == 1


async def test_refused_statement_shows_the_reason(admin_client):
    await three_customers()
    response = await upload(admin_client, "eur.sta", (BANKS / "pekao_eur.sta").read_bytes())
    assert response.status_code == 422
    assert "EUR" in texts(soup(response).select_one("#statement-error"))
    assert await BankLine.count() == 0
