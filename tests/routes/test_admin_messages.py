"""Admin: composing messages — audiences, consent, validation, and what the customer gets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.tables.customers import Customer
from app.tables.messages import Message, MessageRecipient
from app.tables.tariffs import Assignment
from tests import factories
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio

BASE = {"subject": "Nowy cennik", "body": "Od stycznia\nnowe ceny.", "category": "rozliczeniowa"}


async def _recipients(message_id=None) -> set[int]:
    query = MessageRecipient.select(MessageRecipient.customer)
    if message_id:
        query = query.where(MessageRecipient.message == message_id)
    return {r["customer"] for r in await query}


async def test_compose_page(admin_client):
    page = soup(await admin_client.get("/admin/messages"))
    form = page.select_one("form[action='/admin/messages']")
    names = {i["name"] for i in form.select("input[name], textarea[name], select[name]")}
    assert {"subject", "body", "category", "audience", "customer_id", "tariff_id", "urgent"} <= names
    assert {o["value"] for o in form.select("select[name=category] option")} == {"handlowa", "rozliczeniowa", "serwisowa"}
    assert {i["value"] for i in form.select("input[name=audience]")} == {"customer", "all", "tariff", "debtors"}


async def test_send_to_everyone_and_to_one(admin_client):
    a, b = await factories.customer(), await factories.customer()
    response = await post_form(admin_client, "/admin/messages", {**BASE, "audience": "all", "urgent": "on"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/messages?n=2"
    message = await Message.select().first()
    assert message["urgent"] is True and message["created_by"] == admin_client.operator.id
    assert await _recipients() == {a.id, b.id}
    page = soup(await admin_client.get("/admin/messages?n=2"))
    assert "Wysłano do 2 klientów" in texts(page.select_one(".notice"))
    assert "Nowy cennik" in texts(page.select_one("#sent-messages tbody"))
    response = await post_form(admin_client, "/admin/messages", {**BASE, "audience": "customer",
                                                                 "customer_id": f"000{b.id}"})
    assert response.headers["location"] == "/admin/messages?n=1"


async def test_tariff_audience_picks_current_assignments_only(admin_client):
    await factories.tariff("Światłowód 600")
    await factories.tariff("Internet 100")
    on_tariff = await factories.customer(tariff_name="Światłowód 600")
    await factories.customer(tariff_name="Internet 100")
    ended = await factories.customer(tariff_name="Światłowód 600")
    await Assignment.update({Assignment.end: date.today() - timedelta(days=1)}).where(
        Assignment.customer == ended.id)
    tariff_id = (await Assignment.select(Assignment.tariff).where(Assignment.customer == on_tariff.id).first())["tariff"]
    response = await post_form(admin_client, "/admin/messages", {**BASE, "audience": "tariff", "tariff_id": str(tariff_id)})
    assert response.status_code == 303
    assert await _recipients() == {on_tariff.id}


async def test_marketing_goes_only_to_customers_with_consent(admin_client):
    yes, no = await factories.customer(), await factories.customer()
    await Customer.update({Customer.marketing_consent: True}).where(Customer.id == yes.id)
    await post_form(admin_client, "/admin/messages", {**BASE, "category": "handlowa", "audience": "all"})
    assert await _recipients() == {yes.id}
    response = await post_form(admin_client, "/admin/messages", {**BASE, "category": "handlowa",
                                                                 "audience": "customer", "customer_id": str(no.id)})
    assert response.status_code == 422 and soup(response).select_one("#e-audience")
    assert await Message.count() == 1


async def test_validation_errors_keep_the_form(admin_client):
    response = await post_form(admin_client, "/admin/messages", {"subject": "", "body": "Treść <b>",
                                                                 "category": "inna", "audience": "customer",
                                                                 "customer_id": "99999"})
    assert response.status_code == 422
    page = soup(response)
    for name in ("subject", "category", "customer_id"):
        assert page.select_one(f"#e-{name}"), name
    assert page.select_one("textarea[name=body]").text == "Treść <b>"
    assert await Message.count() == 0


async def test_customer_sees_what_operator_sent(client, admin_client, customer):
    await post_form(admin_client, "/admin/messages", {**BASE, "audience": "customer", "customer_id": str(customer.id)})
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    rows = soup(await client.get("/messages")).select("#messages-list tbody tr")
    assert len(rows) == 1 and "Nowy cennik" in texts(rows[0])


async def test_compose_requires_operator(client):
    assert (await client.get("/admin/messages")).status_code == 303
