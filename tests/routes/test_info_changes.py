"""Informacje: the edit form (page and fragment), change requests, validation, PIN change."""

from __future__ import annotations

import pytest

from app.tables.changes import AuditLog, ChangeRequest
from app.tables.customers import Customer
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio

FULL_FORM = {"email": "", "phone": "", "mail_street": "", "mail_postal_code": "", "mail_city": "",
             "nip": "", "invoice_by_email": "off", "marketing_consent": "off"}


async def test_edit_page_and_fragment(customer_client):
    page = soup(await customer_client.get("/info/edit"))
    assert page.select_one("html") and page.select_one("#info-data form#info-edit[action='/info']")
    assert page.select_one("#info-data").select_one("input[name=email]")["value"].startswith("klient")
    fragment = soup(await customer_client.get("/info/edit", headers=PARTIAL))
    assert not fragment.select("html, nav, #info-data")
    form = fragment.select_one("form#info-edit")
    assert form["hx-post"] == "/info" and form.select_one("input[name=_csrf_token]")


async def test_info_has_edit_link_and_annex_sentence(customer_client):
    page = soup(await customer_client.get("/info"))
    link = page.select_one("#info-contact a[href='/info/edit']")
    assert link["hx-get"] == "/info/edit" and link["hx-target"] == "#info-contact"
    assert "pisemny aneks do umowy" in texts(page.select_one("#info-data"))
    # name and service address are not in the form
    form = soup(await customer_client.get("/info/edit", headers=PARTIAL))
    assert not form.select("input[name=name], input[name=street], input[name=city], input[name=postal_code]")


async def test_change_request_is_pending_until_approved(customer_client):
    me = customer_client.customer
    response = await post_form(customer_client, "/info", {**FULL_FORM, "email": "nowy@example.pl",
                                                          "phone": "600-100-200"})
    assert response.status_code == 303 and response.headers["location"] == "/info?m=sent"
    row = await Customer.select(Customer.email, Customer.phone).where(Customer.id == me.id).first()
    assert row["phone"] == "" and row["email"].startswith("klient")  # nothing applied yet
    pending = await ChangeRequest.select().where(ChangeRequest.customer == me.id).order_by(ChangeRequest.field)
    assert [(r["field"], r["new_value"], r["status"]) for r in pending] == [
        ("email", "nowy@example.pl", "pending"), ("phone", "+48 600 100 200", "pending")]
    page = soup(await customer_client.get("/info?m=sent"))
    assert "oczekuje na akceptację: nowy@example.pl" in texts(page.select_one("dd[data-field=email]"))
    assert "+48 600 100 200" in texts(page.select_one("dd[data-field=phone] .pending"))
    assert page.select_one("#info-contact .notice")


async def test_unchanged_fields_create_nothing_and_newer_request_replaces(customer_client):
    me = customer_client.customer
    current = await Customer.select(Customer.email).where(Customer.id == me.id).first()
    await post_form(customer_client, "/info", {**FULL_FORM, "email": current["email"]})
    assert await ChangeRequest.count() == 0
    await post_form(customer_client, "/info", {**FULL_FORM, "email": current["email"], "nip": "526-025-02-74"})
    await post_form(customer_client, "/info", {**FULL_FORM, "email": current["email"], "nip": "1234563218"})
    rows = await ChangeRequest.select().where(ChangeRequest.customer == me.id)
    assert [(r["field"], r["new_value"]) for r in rows] == [("nip", "1234563218")]
    # asking for the current value again withdraws the request
    await post_form(customer_client, "/info", {**FULL_FORM, "email": current["email"]})
    assert await ChangeRequest.count() == 0


async def test_absent_fields_are_not_changed(customer_client):
    response = await post_form(customer_client, "/info", {"phone": "+48 500 600 700"})
    assert response.status_code == 303
    rows = await ChangeRequest.select(ChangeRequest.field)
    assert [r["field"] for r in rows] == ["phone"]


async def test_htmx_post_returns_the_contact_fragment(customer_client):
    response = await post_form(customer_client, "/info", {**FULL_FORM, "phone": "500600700",
                                                          "email": "a@example.pl"}, headers=PARTIAL)
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("div#info-contact") and not fragment.select("html, form#info-edit")
    assert "+48 500 600 700" in texts(fragment.select_one("dd[data-field=phone]"))


@pytest.mark.parametrize("field, value, message", [
    ("email", "nie-mail", "poprawny adres e-mail"),
    ("phone", "12345", "9-cyfrowy"),
    ("nip", "1234567890", "Nieprawidłowy NIP"),
    ("mail_postal_code", "26200x", "NN-NNN"),
])
async def test_validation_errors_next_to_the_field_with_input_kept(customer_client, field, value, message):
    data = {**FULL_FORM, "email": "ok@example.pl", "mail_street": "ul. Polna 1", "mail_postal_code": "26-200",
            "mail_city": "Końskie", field: value}
    for headers in ({}, PARTIAL):
        response = await post_form(customer_client, "/info", data, headers=headers)
        assert response.status_code == 422
        page = soup(response)
        assert bool(page.select_one("html")) is (not headers)
        field_input = page.select_one(f"form#info-edit input[name={field}]")
        assert field_input["value"] == value and field_input["aria-invalid"] == "true"
        assert message in texts(page.select_one(f"#e-{field}"))
    assert await ChangeRequest.count() == 0  # nothing half-saved


async def test_partial_correspondence_address_and_invoice_without_email(customer_client):
    response = await post_form(customer_client, "/info", {**FULL_FORM, "mail_street": "ul. Polna 1",
                                                          "invoice_by_email": "on"})
    page = soup(response)
    assert response.status_code == 422
    assert page.select_one("#e-mail_city") and page.select_one("#e-email")


async def test_mail_address_not_editable_when_isp_forbids(app, customer_client):
    from dataclasses import replace

    settings = app.state.settings
    app.state.settings = replace(settings, isp=replace(settings.isp, allow_mail_address_change=False))
    try:
        form = soup(await customer_client.get("/info/edit", headers=PARTIAL))
        assert not form.select("input[name=mail_street]")
        await post_form(customer_client, "/info", {"mail_street": "ul. Polna 1", "mail_city": "Końskie",
                                                   "mail_postal_code": "26-200"})
        assert await ChangeRequest.count() == 0
    finally:
        app.state.settings = settings


async def test_pin_page_and_fragment(customer_client):
    assert soup(await customer_client.get("/info/pin")).select_one("html #content section#info-pin form")
    fragment = soup(await customer_client.get("/info/pin", headers=PARTIAL))
    assert fragment.select_one("section#info-pin") and not fragment.select("html")


async def test_pin_change_ends_other_sessions(app, customer_client):
    from litestar.testing import AsyncTestClient

    me = customer_client.customer
    async with AsyncTestClient(app=app) as other:
        other.follow_redirects = False
        await post_form(other, "/login", {"customer_id": str(me.id), "pin": me.pin})
        assert (await other.get("/info")).status_code == 200
        response = await post_form(customer_client, "/info/pin", {
            "current_pin": me.pin, "new_pin": "739164", "new_pin2": "739164"})
        assert response.status_code == 303 and response.headers["location"] == "/info?m=pin"
        assert (await other.get("/info")).status_code == 303  # the other session is gone
    assert (await customer_client.get("/info")).status_code == 200  # this one lives on
    await post_form(customer_client, "/logout")
    assert (await post_form(customer_client, "/login", {"customer_id": str(me.id), "pin": "739164"})
            ).status_code == 303
    audit = await AuditLog.select().where(AuditLog.action == "pin_change")
    assert len(audit) == 1 and "739164" not in str(audit) and me.pin not in str(audit)


@pytest.mark.parametrize("current, new, again, field", [
    ("000001", "739164", "739164", "current_pin"),
    (None, "12", "12", "new_pin"),
    (None, "1234", "1234", "new_pin"),
    (None, "SAME", "SAME", "new_pin"),
    (None, "739164", "739165", "new_pin2"),
])
async def test_pin_change_errors(customer_client, current, new, again, field):
    me = customer_client.customer
    new, again = (me.pin if v == "SAME" else v for v in (new, again))
    response = await post_form(customer_client, "/info/pin", {
        "current_pin": current or me.pin, "new_pin": new, "new_pin2": again}, headers=PARTIAL)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one(f"#e-{field}") and page.select_one(f"input[name={field}]")["aria-invalid"] == "true"
    assert not page.select_one("input[name=new_pin]").get("value")  # PINs are never echoed back
    assert await AuditLog.count() == 0


async def test_foreign_data_never_shown(client, customer):
    other = await factories.customer("Obcy Źdźbło")
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    await post_form(client, "/info", {"email": "moj@example.pl"})
    rows = await ChangeRequest.select(ChangeRequest.customer)
    assert rows == [{"customer": customer.id}] and other.id != customer.id


async def test_three_wrong_current_pins_block_the_account_like_login(customer_client):
    me = customer_client.customer
    for attempt in range(3):
        response = await post_form(customer_client, "/info/pin", {
            "current_pin": "000001", "new_pin": "739164", "new_pin2": "739164"})
        assert response.status_code == (422 if attempt < 2 else 303)
    assert response.headers["location"] == "/login"
    row = await Customer.select(Customer.blocked, Customer.failed_logins).where(Customer.id == me.id).first()
    assert row == {"blocked": True, "failed_logins": 3}
    assert (await customer_client.get("/info")).status_code == 303
    login = await post_form(customer_client, "/login", {"customer_id": str(me.id), "pin": me.pin})
    assert login.status_code == 403  # blocked even with the right PIN, until the office unblocks


async def test_successful_pin_change_resets_the_failure_count(customer_client):
    me = customer_client.customer
    await post_form(customer_client, "/info/pin", {"current_pin": "000001", "new_pin": "739164", "new_pin2": "739164"})
    await post_form(customer_client, "/info/pin", {"current_pin": me.pin, "new_pin": "739164", "new_pin2": "739164"})
    assert (await Customer.select(Customer.failed_logins).where(Customer.id == me.id).first())["failed_logins"] == 0
