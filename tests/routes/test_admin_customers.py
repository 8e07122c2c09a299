"""Admin customers: list and search, detail with login history, unblock, PIN reset, create,
and the wall between operator and customer sessions."""

from __future__ import annotations

import pytest

from app.security import verify_secret
from app.tables.customers import Customer
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio



async def test_admin_requires_an_operator_login(client):
    response = await client.get("/admin/customers")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"


async def test_list_and_search_by_id_name_and_email(admin_client):
    anna = await factories.customer("Anna Wiśniewska", email="anna@example.pl")
    await factories.customer("Piotr Nowak", email="piotr@example.pl")
    page = soup(await admin_client.get("/admin/customers"))
    assert len(page.select("#customers-list tbody tr")) == 2
    for q in ("wiśniewska", "anna@example", f"000{anna.id}"):
        found = soup(await admin_client.get("/admin/customers", params={"q": q}))
        names = [texts(a) for a in found.select("#customers-list tbody td:nth-of-type(2) a")]
        assert names == ["Anna Wiśniewska"], q


async def test_search_fragment_and_pagination(admin_client):
    for i in range(27):
        await Customer.insert(Customer(name=f"Klient {i:02d}", pin_hash="x"))
    fragment = soup(await admin_client.get("/admin/customers", headers=PARTIAL))
    assert not fragment.select("html") and len(fragment.select("#customers-list tbody tr")) == 25
    second = soup(await admin_client.get("/admin/customers", params={"page": 2}))
    assert len(second.select("#customers-list tbody tr")) == 2
    assert "strona 2 z 2" in texts(second.select_one(".pager"))


async def test_detail_shows_blocked_state_and_history(admin_client, client):
    customer = await factories.customer()
    for _ in range(3):
        await post_form(client, "/login", {"customer_id": str(customer.id), "pin": "000999"})
    page = soup(await admin_client.get(f"/admin/customers/{customer.id}"))
    assert "zablokowane" in texts(page.select_one("#account-state"))
    assert len(page.select("#login-history tbody tr")) == 3
    assert page.select_one(f"form[action='/admin/customers/{customer.id}/unblock']")


async def test_pin_reset_is_shown_once_and_stored_hashed(admin_client, client):
    customer = await factories.customer()
    response = await post_form(admin_client, f"/admin/customers/{customer.id}/pin")
    new_pin = texts(soup(response).select_one("#new-pin strong"))
    assert new_pin.isdigit() and len(new_pin) == 6
    row = await Customer.select(Customer.pin_hash).where(Customer.id == customer.id).first()
    assert verify_secret(row["pin_hash"], new_pin) and new_pin not in row["pin_hash"]
    assert new_pin not in (await admin_client.get(f"/admin/customers/{customer.id}")).text
    login = await post_form(client, "/login", {"customer_id": str(customer.id), "pin": new_pin})
    assert login.status_code == 303


async def test_create_customer_generates_id_and_pin(admin_client, client):
    response = await post_form(admin_client, "/admin/customers",
                               {"name": "Zofia Łęcka", "email": "zofia@example.pl", "city": "Końskie"})
    # Post-redirect-get: the new customer's page shows the PIN once; F5 there shows it no
    # more and creates nobody.
    row = await Customer.select().where(Customer.name == "Zofia Łęcka").first()
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/customers/{row['id']}?m=created"
    assert str(row["id"]) not in response.headers["location"].split("?")[1]
    shown = await admin_client.get(response.headers["location"])
    pin = texts(soup(shown).select_one("#new-pin strong"))
    assert pin.isdigit() and "Klient dodany." in texts(soup(shown).select_one(".notice"))
    again = await admin_client.get(response.headers["location"])
    assert soup(again).select_one("#new-pin") is None and pin not in again.text
    assert await Customer.count().where(Customer.name == "Zofia Łęcka") == 1
    assert row and row["email"] == "zofia@example.pl"
    login = await post_form(client, "/login", {"customer_id": str(row["id"]), "pin": pin})
    assert login.status_code == 303


async def test_create_customer_without_a_name_keeps_the_form(admin_client):
    response = await post_form(admin_client, "/admin/customers", {"name": " ", "email": "x@example.pl"})
    assert response.status_code == 422
    page = soup(response)
    assert "Podaj imię i nazwisko" in texts(page.select_one(".error"))
    assert page.select_one("input[name=email]")["value"] == "x@example.pl"


async def test_unknown_customer_is_404(admin_client):
    assert (await admin_client.get("/admin/customers/999999")).status_code == 404
    assert (await post_form(admin_client, "/admin/customers/999999/unblock")).status_code == 404
    assert (await post_form(admin_client, "/admin/customers/999999/pin")).status_code == 404


async def test_operator_and_customer_sessions_are_separate(admin_client, customer_client):
    # The operator's cookie opens no customer page ...
    assert (await admin_client.get("/info")).status_code == 303
    # ... and the customer's cookie opens no admin page.
    response = await customer_client.get("/admin/customers")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert (await post_form(customer_client, f"/admin/customers/{customer_client.customer.id}/pin")
            ).status_code in (303, 403)


async def test_operator_login_errors(client, operator):
    await client.get("/admin/login")
    wrong = await post_form(client, "/admin/login", {"username": operator.username, "password": "nope"})
    assert wrong.status_code == 401 and "Nieprawidłowy login lub hasło" in texts(soup(wrong))
    empty = await post_form(client, "/admin/login", {"username": "", "password": ""})
    assert empty.status_code == 422
