"""Customer login: lockout, throttling, sessions, CSRF and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.tables.auth import LoginAttempt, Session
from app.tables.customers import Customer
from tests.conftest import post_form, soup, texts

pytestmark = pytest.mark.anyio


async def login(client, customer_id, pin):
    return await post_form(client, "/login", {"customer_id": str(customer_id), "pin": pin})


async def test_login_page_is_plain_html_without_js(client):
    response = await client.get("/login")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("form[action='/login'][method='post']")
    assert page.select_one("input[name=customer_id]") and page.select_one("input[name=pin]")
    assert page.select_one("input[name=_csrf_token]")["value"]
    assert not page.select("script")


async def test_login_with_leading_zeros_opens_info(client, customer):
    response = await login(client, f"000{customer.id}", customer.pin)
    assert response.status_code == 303 and response.headers["location"] == "/info"
    cookie = response.headers["set-cookie"]
    assert "wbok_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = await client.get("/info")
    assert page.status_code == 200
    assert customer.name in texts(soup(page).select_one("#info-data"))


async def test_wrong_pin_message_does_not_reveal_whether_id_exists(client, customer):
    real = await login(client, customer.id, "000001")
    ghost = await login(client, 987654, "000001")
    assert real.status_code == ghost.status_code == 401
    assert texts(soup(real).select_one("#login-error")) == texts(soup(ghost).select_one("#login-error"))
    assert soup(real).select_one("input[name=customer_id]")["value"] == str(customer.id)


async def test_three_wrong_pins_block_even_the_right_pin_until_unblocked(client, customer, admin_client):
    for _ in range(2):
        assert (await login(client, customer.id, "111222")).status_code == 401
    third = await login(client, customer.id, "111222")
    assert third.status_code == 403
    assert "skontaktuj się z biurem" in texts(soup(third)).lower()
    right = await login(client, customer.id, customer.pin)
    assert right.status_code == 403, "a blocked account refuses the right PIN"
    assert (await Customer.select(Customer.blocked).where(Customer.id == customer.id).first())["blocked"]

    detail = await admin_client.get(f"/admin/customers/{customer.id}")
    assert "zablokowane" in texts(soup(detail).select_one("#account-state"))
    unblock = await post_form(admin_client, f"/admin/customers/{customer.id}/unblock")
    assert unblock.status_code == 303
    assert (await login(client, customer.id, customer.pin)).status_code == 303


async def test_success_resets_the_failure_counter(client, customer):
    await login(client, customer.id, "111222")
    await login(client, customer.id, "111222")
    assert (await login(client, customer.id, customer.pin)).status_code == 303
    row = await Customer.select(Customer.failed_logins).where(Customer.id == customer.id).first()
    assert row["failed_logins"] == 0
    await post_form(client, "/logout")
    await login(client, customer.id, "111222")
    assert (await login(client, customer.id, customer.pin)).status_code == 303


async def test_unknown_id_also_looks_blocked_after_three_failures(client):
    codes = [(await login(client, 55555, "123987")).status_code for _ in range(3)]
    assert codes == [401, 401, 403]


async def test_every_attempt_is_recorded_with_ip(client, customer):
    await login(client, customer.id, "999000")
    await login(client, customer.id, customer.pin)
    rows = await LoginAttempt.select().where(LoginAttempt.subject_id == customer.id).order_by(LoginAttempt.id)
    assert [r["success"] for r in rows] == [False, True]
    assert all(r["ip"] for r in rows) and all(r["at"] for r in rows)


async def test_per_ip_throttling_refuses_a_sweep(client, monkeypatch):
    from app import auth

    monkeypatch.setattr(auth, "IP_MAX_FAILURES", 5)
    codes = [(await login(client, 7000 + i, "123987")).status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert "zbyt wiele" in texts(soup(await login(client, 1, "123987"))).lower()


@pytest.mark.parametrize("customer_id, pin", [
    ("", ""), ("abc", "1234"), ("12", "12ab"), ("1" * 10_000, "1234"), ("12", "9" * 10_000),
    ("-5", "1234"), ("١٢", "1234"),
])
async def test_bad_input_gets_a_polish_message_not_a_trace(client, customer_id, pin):
    response = await post_form(client, "/login", {"customer_id": customer_id, "pin": pin})
    assert response.status_code == 422
    error = texts(soup(response).select_one("#login-error"))
    assert "PIN" in error and "Traceback" not in response.text


async def test_missing_csrf_token_is_refused_in_polish(client, customer):
    await client.get("/login")
    response = await client.post("/login", data={"customer_id": str(customer.id), "pin": customer.pin})
    assert response.status_code == 403
    assert "Formularz wygasł" in response.text
    assert "wbok_session" not in response.headers.get("set-cookie", "")


async def test_csrf_header_works_for_htmx_posts(customer_client):
    response = await customer_client.post("/logout", headers={
        "HX-Request": "true", "x-csrftoken": customer_client.cookies.get("csrftoken")})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/login?m=bye"


async def test_post_to_a_get_route_is_405_in_polish(customer_client):
    response = await post_form(customer_client, "/info/edit")
    assert response.status_code == 405 and "Niedozwolona metoda" in response.text


async def test_logout_ends_the_session(customer_client):
    response = await post_form(customer_client, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login?m=bye"
    assert await Session.count() == 0
    again = await customer_client.get("/info")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_session_id_rotates_at_login(client, customer):
    await login(client, customer.id, customer.pin)
    first = client.cookies.get("wbok_session")
    await login(client, customer.id, customer.pin)
    second = client.cookies.get("wbok_session")
    assert first and second and first != second
    assert await Session.count() == 1, "the old session is gone"


async def test_idle_session_expires_with_a_message(customer_client):
    from datetime import datetime, timezone

    old = datetime.now(timezone.utc) - timedelta(minutes=31)
    await Session.update({Session.last_seen: old}).where(Session.id > 0)
    response = await customer_client.get("/info")
    assert response.status_code == 303 and response.headers["location"] == "/login?m=expired"
    page = await customer_client.get("/login?m=expired")
    assert "Sesja wygasła" in texts(soup(page))


async def test_htmx_request_without_session_gets_hx_redirect(client):
    response = await client.get("/info", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/login"


async def test_root_redirects(client, customer):
    assert (await client.get("/")).headers["location"] == "/login"
    await login(client, customer.id, customer.pin)
    assert (await client.get("/")).headers["location"] == "/info"


async def test_health(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


async def test_pins_are_stored_hashed(customer):
    row = await Customer.select(Customer.pin_hash).where(Customer.id == customer.id).first()
    assert row["pin_hash"].startswith("$argon2") and customer.pin not in row["pin_hash"]


async def test_language_switch(client):
    await client.get("/login")
    response = await post_form(client, "/lang", {"lang": "en", "next": "/login"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    page = soup(await client.get("/login"))
    assert page.html["lang"] == "en"
    assert texts(page.select_one("label[for=customer_id]")) == "Customer ID"
    await post_form(client, "/lang", {"lang": "pl", "next": "https://evil.example/"})
    assert soup(await client.get("/login")).html["lang"] == "pl"


async def test_login_page_keeps_the_manual_wording_and_links_the_phone(client):
    """The manual's login steps: "ID Klienta" [1], "PIN" [2], "Zaloguj się" [3]; the office's
    phone is a tel: link that does not wrap mid-number."""
    page = soup(await client.get("/login"))
    assert [texts(label) for label in page.select("form label")] == ["ID Klienta", "PIN"]
    assert texts(page.select_one("form button[type=submit]")) == "Zaloguj się"
    phone = page.select_one(".contact a[href^='tel:']")
    assert phone["href"] == "tel:+48220000000" and texts(phone) == "+48 22 000 00 00"
    assert page.select_one("a.skip[href='#content']") and page.select_one("main#content")
