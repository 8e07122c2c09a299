"""Admin: the change queue end to end — request, pending, approve or reject, e-mail, audit."""

from __future__ import annotations

import pytest

from app.tables.changes import ChangeRequest
from app.tables.customers import Customer
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio


async def _request(client, customer, data: dict) -> None:
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    assert (await post_form(client, "/info", data)).status_code == 303


async def test_approval_flow_end_to_end(client, admin_client, mailbox):
    who = await factories.customer("Józef Łęcki", email="jozef@example.pl")
    await _request(client, who, {"phone": "600 100 200", "invoice_by_email": "on"})
    assert "+48 600 100 200" in texts(soup(await client.get("/info")).select_one("dd[data-field=phone] .pending"))

    dashboard = soup(await admin_client.get("/admin"))
    assert texts(dashboard.select_one("a[href='/admin/changes'] .count")) == "2"
    queue = soup(await admin_client.get("/admin/changes"))
    rows = queue.select("#changes-queue tbody tr")
    assert len(rows) == 2 and "Józef Łęcki" in texts(rows[0])
    phone_row = next(r for r in rows if "+48 600 100 200" in texts(r))
    approve = phone_row.select_one("button[formaction$='/approve']")["formaction"]

    response = await post_form(admin_client, approve)
    assert response.status_code == 303 and response.headers["location"] == "/admin/changes?m=approved"
    row = await Customer.select(Customer.phone, Customer.invoice_by_email).where(Customer.id == who.id).first()
    assert row == {"phone": "+48 600 100 200", "invoice_by_email": False}
    decided = await ChangeRequest.select().where(ChangeRequest.field == "phone").first()
    assert decided["status"] == "approved" and decided["decided_by"] == admin_client.operator.id

    info = soup(await client.get("/info"))
    assert texts(info.select_one("dd[data-field=phone]")) == "+48 600 100 200"  # applied, no longer pending
    assert info.select_one("dd[data-field=invoice_by_email] .pending")

    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert mail["To"] == "jozef@example.pl" and "+48 600 100 200 — zaakceptowana" in mail.get_content()

    audit = soup(await admin_client.get(f"/admin/customers/{who.id}")).select("#audit-log tbody tr")
    assert any("zatwierdzenie" in texts(r) and admin_client.operator.username in texts(r) for r in audit)
    assert any("zgłoszenie" in texts(r) and "+48 600 100 200" in texts(r) for r in audit)
    assert texts(soup(await admin_client.get("/admin")).select_one("a[href='/admin/changes'] .count")) == "1"


async def test_reject(client, admin_client, mailbox):
    who = await factories.customer(email="stary@example.pl")
    await _request(client, who, {"email": "nowy@example.pl"})
    change = await ChangeRequest.select(ChangeRequest.id).first()
    response = await post_form(admin_client, f"/admin/changes/{change['id']}/reject")
    assert response.headers["location"] == "/admin/changes?m=rejected"
    assert (await Customer.select(Customer.email).where(Customer.id == who.id).first())["email"] == "stary@example.pl"
    assert (await ChangeRequest.select(ChangeRequest.status).first())["status"] == "rejected"
    assert not soup(await client.get("/info")).select(".pending")
    assert mailbox.messages[0]["To"] == "stary@example.pl" and "odrzucona" in mailbox.messages[0].get_content()
    # deciding again changes nothing and sends nothing
    again = await post_form(admin_client, f"/admin/changes/{change['id']}/approve")
    assert again.headers["location"] == "/admin/changes?m=none" and len(mailbox.messages) == 1


async def test_bulk_approve_applies_all_in_one_go_and_mails_once_per_customer(client, admin_client, mailbox):
    first = await factories.customer()
    await _request(client, first, {"phone": "500600700", "nip": "1234563218"})
    await post_form(client, "/logout")
    second = await factories.customer()
    await _request(client, second, {"marketing_consent": ["off", "on"]})
    ids = [r["id"] for r in await ChangeRequest.select(ChangeRequest.id)]
    response = await post_form(admin_client, "/admin/changes/bulk", {"change_id": ids, "action": "approve"})
    assert response.status_code == 303
    rows = {r["id"]: r for r in await Customer.select(Customer.id, Customer.phone, Customer.nip,
                                                        Customer.marketing_consent)}
    assert rows[first.id]["nip"] == "1234563218" and rows[first.id]["phone"] == "+48 500 600 700"
    assert rows[second.id]["marketing_consent"] is True
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        [(await Customer.select(Customer.email).where(Customer.id == c.id).first())["email"] for c in (first, second)])
    assert "Brak zmian" in texts(soup(await admin_client.get("/admin/changes")).select_one("#changes-queue"))


async def test_queue_requires_operator(client, customer):
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    assert (await client.get("/admin/changes")).status_code == 303
    assert (await post_form(client, "/admin/changes/1/approve")).status_code == 303


async def test_operator_pin_reset_is_audited(admin_client, customer):
    await post_form(admin_client, f"/admin/customers/{customer.id}/pin")
    audit = soup(await admin_client.get(f"/admin/customers/{customer.id}")).select("#audit-log tbody tr")
    assert len(audit) == 1 and "nowy PIN" in texts(audit[0])


async def test_mail_failure_keeps_the_decision_and_says_so(app, client, admin_client):
    from dataclasses import replace

    from tests.conftest import free_port

    who = await factories.customer()
    await _request(client, who, {"phone": "600100200"})
    change = await ChangeRequest.select(ChangeRequest.id).first()
    settings = app.state.settings
    app.state.settings = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    try:
        response = await post_form(admin_client, f"/admin/changes/{change['id']}/approve")
    finally:
        app.state.settings = settings
    assert response.headers["location"] == "/admin/changes?m=approved&mail=failed"
    assert (await Customer.select(Customer.phone).where(Customer.id == who.id).first())["phone"] == "+48 600 100 200"
    page = soup(await admin_client.get(response.headers["location"]))
    assert "Nie udało się wysłać" in texts(page.select_one("#changes-queue .error"))
