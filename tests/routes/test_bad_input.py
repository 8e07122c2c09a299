"""Bad input: IDs beyond the columns' range, control characters, over-long fields, e-mail
syntax, log-safe paths and body limits. A clear answer, never a 500, nothing half-saved."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.tables.changes import ChangeRequest
from app.tables.customers import Customer
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio
HUGE = ["2147483648", "99999999999", "9223372036854775808", "99999999999999999999999999"]


@pytest.mark.parametrize("path", ["/finances/invoices/{}", "/finances/invoices/{}.xml", "/messages/{}",
                                  "/helpdesk/{}", "/helpdesk/{}/events"])
async def test_customer_ids_beyond_the_range_are_404(customer_client, path):
    for number in HUGE:
        response = await customer_client.get(path.format(number))
        assert response.status_code == 404, (path, number)
        assert "Nie znaleziono" in response.text


async def test_posts_with_ids_beyond_the_range_are_404(customer_client, admin_client):
    for number in HUGE:
        assert (await post_form(customer_client, f"/helpdesk/{number}", {"body": "x"})).status_code == 404
        assert (await post_form(admin_client, f"/admin/customers/{number}/unblock")).status_code == 404
        assert (await post_form(admin_client, f"/admin/changes/{number}/approve")).status_code == 404
        assert (await admin_client.get(f"/admin/customers/{number}")).status_code == 404


async def test_last_event_id_beyond_the_range_is_404(customer_client):
    ticket_id = await factories.ticket(customer_client.customer.id)
    for number in HUGE:
        response = await customer_client.get(f"/helpdesk/{ticket_id}/events", headers={"Last-Event-ID": number})
        assert response.status_code == 404
        assert (await customer_client.get(f"/helpdesk/{ticket_id}/events?after={number}")).status_code == 404


@pytest.mark.parametrize("field, value", [
    ("mail_city", "Końskie\x00"), ("mail_street", "ul. \x1b[31mCzerwona 1"), ("email", "jan\x00@example.pl"),
    ("phone", "600\x00100200"), ("mail_postal_code", "26-200" * 25), ("mail_street", "x" * 201),
    ("email", "jan..kowalski@example.pl"), ("email", "jan@example"),
])
async def test_bad_text_in_the_info_form_is_a_field_error_and_saves_nothing(customer_client, field, value):
    form = {"mail_street": "ul. Polna 1", "mail_postal_code": "26-200", "mail_city": "Końskie", field: value}
    response = await post_form(customer_client, "/info", form, headers=PARTIAL)
    assert response.status_code == 422
    error = soup(response).select_one(f"#err-{field}, [id$='{field}-error'], .error")
    assert error is not None and texts(error)
    assert await ChangeRequest.count() == 0


async def test_control_characters_get_their_own_polish_message(customer_client):
    response = await post_form(customer_client, "/info", {"mail_city": "Koń\x00skie", "mail_street": "ul. A 1",
                                                          "mail_postal_code": "26-200"}, headers=PARTIAL)
    assert response.status_code == 422 and "znaki sterujące" in texts(soup(response))


async def test_a_long_postal_code_for_a_new_customer_is_a_polish_error(admin_client):
    before = await Customer.count()
    for field, value in (("postal_code", "1" * 150), ("city", "K" * 150), ("name", "N" * 300),
                         ("email", "a@b"), ("street", "ul.\x00Polna")):
        form = {"name": "Jan Nowak", field: value}
        response = await post_form(admin_client, "/admin/customers", form)
        assert response.status_code == 422, (field, response.status_code)
        assert "Traceback" not in response.text
    assert await Customer.count() == before


async def test_helpdesk_refuses_nul_with_a_field_error(customer_client):
    response = await post_form(customer_client, "/helpdesk", {"subject": "Awaria\x00", "body": "Nie działa",
                                                              "queue": "technical", "token": "t1"})
    assert response.status_code == 422 and "znaki sterujące" in texts(soup(response))


def test_paths_are_quoted_in_the_log(caplog):
    from types import SimpleNamespace

    from app.main import _error_page

    request = SimpleNamespace(method="GET", url=SimpleNamespace(path="/x\n2026-01-01 CRITICAL forged\x1b[2J"))
    with caplog.at_level(logging.ERROR, logger="wbok"):
        _error_page(request, RuntimeError("boom"))
    line = caplog.records[-1].getMessage()
    assert "\n" not in line and "\x1b" not in line and "%0A2026-01-01" in line


async def test_a_large_body_is_refused_outside_the_statement_upload(customer_client, admin_client):
    big = await post_form(customer_client, "/helpdesk", {"subject": "x", "body": "a" * 200_000,
                                                         "queue": "technical", "token": "t"})
    assert big.status_code == 413 and "Za duże dane" in big.text
    statement = b"data;kwota;tytul;nadawca;rachunek\n" + b"2026-11-02;10,00;abc;Jan;x\n" * 20_000
    upload = await admin_client.post("/admin/payments/import", files={"statement": ("w.csv", statement)},
                                     data={"_csrf_token": admin_client.cookies.get("csrftoken")})
    assert upload.status_code != 413 and len(statement) > 500_000


async def test_statement_parsing_runs_off_the_event_loop(admin_client, monkeypatch):
    """The latency while a 10 MB file is parsed is measured in bench/upload_health.py; here,
    that the parsing and the row building run in a worker thread, not the loop's."""
    from app import payments_import

    seen = []
    for name in ("parse_file", "_bank_lines"):
        real = getattr(payments_import, name)

        def spy(*args, _real=real, _name=name):
            try:
                asyncio.get_running_loop()
                in_loop = True
            except RuntimeError:
                in_loop = False
            seen.append((_name, in_loop))
            return _real(*args)

        monkeypatch.setattr(payments_import, name, spy)
    statement = "data;kwota;tytul;rachunek_nadawcy\n2026-11-02;10,00;Abonament;61109010140000071219812874\n"
    response = await admin_client.post("/admin/payments/import", files={"statement": ("w.csv", statement.encode())},
                                       data={"_csrf_token": admin_client.cookies.get("csrftoken")})
    assert response.status_code == 303
    assert [name for name, _ in seen] == ["parse_file", "_bank_lines"]
    assert not any(in_loop for _, in_loop in seen), "parsed in a worker thread, not on the event loop"
