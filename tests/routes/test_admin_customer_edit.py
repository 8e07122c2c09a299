"""Klienci admin: the edit form and the new-customer form validate like the customer's own
requests, field by field; edits are audited and the customer is told of contact changes."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.tables.auth import LoginAttempt
from app.tables.billing import Reminder
from app.tables.changes import AuditLog
from app.tables.customers import Customer
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio

GOOD = {"name": "Jan Łęcki", "street": "ul. Źródlana 5", "postal_code": "26-200", "city": "Końskie",
        "email": "jan@example.pl", "phone": "600 100 200", "nip": "", "mail_street": "", "mail_postal_code": "",
        "mail_city": "", "notes": ""}

BAD = [
    ("email", "not an email", "Podaj poprawny adres e-mail"),
    ("nip", "1234567890", "Nieprawidłowy NIP"),
    ("postal_code", "abc", "Kod pocztowy w formacie NN-NNN"),
    ("mail_postal_code", "abc", "Kod pocztowy w formacie NN-NNN"),
    ("phone", "xyz", "numer telefonu"),
    ("name", "   ", "Podaj imię i nazwisko"),
    ("city", "K" * 300, "Za długi tekst"),
    ("notes", "x" * 2001, "Za długi tekst"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD)
async def test_edit_rejects_each_bad_field_and_saves_nothing(admin_client, field, value, message):
    who = await factories.customer("Jan Łęcki", email="jan@example.pl")
    before = await Customer.select().where(Customer.id == who.id).first()
    sent = {**GOOD, field: value}
    if field == "mail_postal_code":
        sent.update(mail_street="ul. Polna 1", mail_city="Kielce")
    response = await post_form(admin_client, f"/admin/customers/{who.id}/edit", {**sent, "phone": "601 200 300"}
                               if field != "phone" else sent)
    assert response.status_code == 422
    page = soup(response)
    error = page.select_one(f"#{field}-error")
    assert error is not None and message in texts(error), texts(page.select_one("form"))
    assert page.select_one(f"[name={field}]")["aria-invalid"] == "true"
    # What was typed comes back in the form.
    shown = page.select_one(f"[name={field}]")
    assert (shown.get("value") if shown.name == "input" else shown.text) == value
    assert await Customer.select().where(Customer.id == who.id).first() == before
    assert await AuditLog.count().where(AuditLog.customer == who.id) == 0


async def test_edit_saves_normalised_values_audits_and_mails_the_customer(admin_client, operator, mailbox):
    who = await factories.customer("Jan Łęcki", email="stary@example.pl")
    form = await admin_client.get(f"/admin/customers/{who.id}/edit")
    assert soup(form).select_one("input[name=email]")["value"] == "stary@example.pl"
    sent = {**GOOD, "email": "nowy@example.pl", "phone": "0048 601-200-300", "nip": "526-025-02-74",
            "postal_code": "26200", "invoice_by_email": "on", "marketing_consent": "on", "notes": "Dzwonić po 16."}
    response = await post_form(admin_client, f"/admin/customers/{who.id}/edit", sent)
    assert response.status_code == 303 and response.headers["location"] == f"/admin/customers/{who.id}?m=saved"
    row = await Customer.select().where(Customer.id == who.id).first()
    assert (row["email"], row["phone"], row["nip"], row["postal_code"]) == (
        "nowy@example.pl", "+48 601 200 300", "5260250274", "26-200")
    assert row["invoice_by_email"] and row["marketing_consent"] and row["notes"] == "Dzwonić po 16."
    audit = await AuditLog.select().where(AuditLog.customer == who.id)
    assert {a["field"] for a in audit} == {"email", "phone", "nip", "invoice_by_email", "marketing_consent", "notes"}
    assert {(a["actor_kind"], a["actor_id"], a["action"]) for a in audit} == {("operator", operator.id, "edit")}
    email = next(a for a in audit if a["field"] == "email")
    assert (email["old_value"], email["new_value"]) == ("stary@example.pl", "nowy@example.pl")
    # Contact data changed: both the new and the old address hear of it (notes are not mailed).
    assert sorted(m["To"] for m in mailbox.messages) == ["nowy@example.pl", "stary@example.pl"]
    body = mailbox.messages[0].get_content()
    assert "nowy@example.pl" in body and "+48 601 200 300" in body and "Dzwonić" not in body
    page = soup(await admin_client.get(response.headers["location"]))
    assert "Dane klienta zapisane." in texts(page.select_one(".notice"))
    assert "operator " + operator.username in texts(page.select_one("#audit-log"))


async def test_edit_without_a_change_and_notes_only_send_no_mail(admin_client, mailbox):
    who = await factories.customer("Jan Łęcki", email="jan@example.pl", street="ul. Źródlana 5",
                                   postal_code="26-200", city="Końskie", phone="600 100 200")
    same = await post_form(admin_client, f"/admin/customers/{who.id}/edit", GOOD)
    assert same.headers["location"].endswith("?m=unchanged")
    notes = await post_form(admin_client, f"/admin/customers/{who.id}/edit", {**GOOD, "notes": "VIP"})
    assert notes.headers["location"].endswith("?m=saved") and mailbox.messages == []


async def test_edit_fragment_and_unknown_customer(admin_client):
    who = await factories.customer()
    fragment = await admin_client.get(f"/admin/customers/{who.id}/edit", headers=PARTIAL)
    assert soup(fragment).select_one("section#customers-edit") and "<html" not in fragment.text
    assert (await admin_client.get("/admin/customers/999999/edit")).status_code == 404
    assert (await post_form(admin_client, "/admin/customers/999999/edit", GOOD)).status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [b for b in BAD if b[0] not in ("mail_postal_code",)])
async def test_create_validates_like_the_edit(admin_client, field, value, message):
    response = await post_form(admin_client, "/admin/customers", {**GOOD, field: value})
    assert response.status_code == 422
    error = soup(response).select_one(f"#{field}-error")
    assert error is not None and message in texts(error)
    assert await Customer.count() == 0


async def test_customer_page_shows_tariff_balance_reasons_and_reminders(admin_client):
    await factories.tariff("Światłowód 300", price=7999)
    who = await factories.customer("Jan Łęcki", tariff_name="Światłowód 300")
    await factories.invoice(who.id, date.today(), gross=7999)
    now = datetime.now(timezone.utc)
    for reason in ("pin", "blocked"):
        await LoginAttempt.insert(LoginAttempt(kind="customer", login=str(who.id), subject_id=who.id,
                                               ip="192.0.2.1", success=False, reason=reason, at=now))
    await Reminder.insert(Reminder(key=f"2026-11:{who.id}", period="2026-11", customer=who.id, amount=7999,
                                   channel="paper"))
    page = soup(await admin_client.get(f"/admin/customers/{who.id}"))
    assert "Światłowód 300" in texts(page.select_one("#current-tariff"))
    assert texts(page.select_one("#balance")) == "-79,99 zł"
    history = texts(page.select_one("#login-history"))
    assert "zły PIN" in history and "konto zablokowane" in history and "(pin)" not in history
    assert "list papierowy" in texts(page.select_one("#reminder-history"))
    assert page.select_one(f"a[href='/admin/customers/{who.id}/edit']") is not None
