"""Informacje: page and fragment, scope to the logged-in customer."""

from __future__ import annotations

import pytest

from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio



async def test_info_page_is_whole(customer_client):
    response = await customer_client.get("/info")
    page = soup(response)
    assert page.select_one("html") and page.select_one("nav#tabs a[aria-current=page]")["href"] == "/info"
    assert page.select_one("#content #info-data")
    assert "HX-Request" in response.headers["vary"]


async def test_info_fragment_is_only_the_section(customer_client):
    for headers in (PARTIAL, {"HX-Request": "true"}):
        response = await customer_client.get("/info", headers=headers)
        page = soup(response)
        assert not page.select("html, nav, header")
        assert page.select_one("section#info-data")


async def test_boosted_and_history_restore_get_the_page(customer_client):
    for headers in ({"HX-Request": "true", "HX-Request-Type": "full"},
                    {"HX-Request": "true", "HX-History-Restore-Request": "true"}):
        assert soup(await customer_client.get("/info", headers=headers)).select_one("html")


async def test_info_shows_data_tariff_devices_and_last_login(client):
    tariff = "Światłowód 600"
    await factories.tariff(tariff, price=9999, down=600, up=100)
    who = await factories.customer("Jerzy Żółkiewski", tariff_name=tariff, ip="10.1.0.7",
                                   nip="5260250274", phone="+48 600 100 200")
    for _ in range(2):
        await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    section = soup(await client.get("/info")).select_one("#info-data")
    text = texts(section)
    for expected in ("Jerzy Żółkiewski", "Źródlana", "5260250274", "+48 600 100 200",
                     "Światłowód 600", "600/100 Mbit/s", "99,99 zł", "10.1.0.7", "Poprzednie logowanie"):
        assert expected in text, expected


async def test_info_escapes_customer_data(client):
    who = await factories.customer('<script>alert("x")</script>')
    await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    response = await client.get("/info")
    assert '<script>alert("x")</script>' not in response.text
    assert "&lt;script&gt;" in response.text


async def test_customer_sees_only_own_data(client, customer):
    other = await factories.customer("Inny Klient Ślązak")
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    response = await client.get("/info")
    assert other.name not in response.text and customer.name in response.text
    assert (await client.get(f"/admin/customers/{other.id}")).status_code == 303


async def test_info_requires_login(client):
    response = await client.get("/info")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_previous_login_is_the_one_before_this_session(client):
    """The first login says so; the second one names the first login's time, not its own."""
    from datetime import datetime, timezone

    from app.tables.auth import LoginAttempt

    who = await factories.customer("Łucja Wróbel")
    await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    first = texts(soup(await client.get("/info")).select_one(".last-login"))
    assert first == "To Twoje pierwsze logowanie."
    earlier = datetime(2026, 11, 2, 7, 15, tzinfo=timezone.utc)  # 08:15 in Warsaw
    await LoginAttempt.update({LoginAttempt.at: earlier}).where(LoginAttempt.subject_id == who.id)
    await post_form(client, "/login", {"customer_id": str(who.id), "pin": who.pin})
    second = texts(soup(await client.get("/info")).select_one(".last-login"))
    assert second.startswith("Poprzednie logowanie: 02.11.2026 08:15 z adresu"), second


async def test_fragment_carries_its_page_title(customer_client):
    """htmx sets document.title from a <head><title> in the answer: a tab switch renames the tab."""
    from tests.conftest import fragment_root

    for path, title in (("/info", "Informacje · WBOK"), ("/finances", "Finanse · WBOK"),
                        ("/helpdesk", "Helpdesk · WBOK"), ("/stats", "Statystyki · WBOK"),
                        ("/messages", "Wiadomości · WBOK")):
        doc = soup(await customer_client.get(path, headers=PARTIAL))
        assert doc.select_one("head > title").get_text() == title, path
        assert fragment_root(doc).get("id", "").startswith(path.strip("/") + "-"), path
