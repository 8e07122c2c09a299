"""Wiadomości: list (page, fragment, filter), reading, ownership, badge, urgent banner."""

from __future__ import annotations

import pytest

from app.tables.messages import MessageRecipient
from tests import factories
from tests.conftest import PARTIAL, post_form, soup, texts

pytestmark = pytest.mark.anyio



async def _three(customer_id: int) -> list[int]:
    return [await factories.message("Nowa oferta światłowodu", category="rozliczeniowa",
                                    audience="customer", customer_id=customer_id),
            await factories.message("Awaria w Końskich", category="serwisowa", audience="customer",
                                    customer_id=customer_id),
            await factories.message("Faktura za listopad", category="rozliczeniowa",
                                    audience="customer", customer_id=customer_id)]


async def test_list_page_newest_first_unread_bold(customer_client):
    await _three(customer_client.customer.id)
    page = soup(await customer_client.get("/messages"))
    assert page.select_one("nav#tabs a[aria-current=page]")["href"] == "/messages"
    rows = page.select("#content #messages-list tbody tr")
    assert [texts(r.select("td")[2]) .split(" (")[0] for r in rows] == [
        "Faktura za listopad", "Awaria w Końskich", "Nowa oferta światłowodu"]
    assert all("unread" in r["class"] for r in rows)
    assert texts(rows[0].select("td")[1]) == "rozliczeniowa" and texts(rows[0].select("td")[0])


async def test_list_fragment_and_category_filter(customer_client):
    await _three(customer_client.customer.id)
    fragment = soup(await customer_client.get("/messages?category=serwisowa", headers=PARTIAL))
    assert not fragment.select("html, nav#tabs") and fragment.select_one("section#messages-list")
    assert [texts(a) for a in fragment.select("tbody a")] == ["Awaria w Końskich"]
    link = fragment.select_one("nav.filter a[aria-current]")
    assert link["href"] == "/messages?category=serwisowa" and link["hx-target"] == "#messages-list"
    page = soup(await customer_client.get("/messages?category=serwisowa"))  # works without JS
    assert page.select_one("html") and len(page.select("#messages-list tbody tr")) == 1
    assert len(soup(await customer_client.get("/messages?category=nonsense")).select("tbody tr")) == 3


async def test_open_marks_read_and_badge_counts_unread(customer_client):
    first, *_ = await _three(customer_client.customer.id)
    badge = soup(await customer_client.get("/info")).select_one("nav#tabs a[href='/messages'] .badge")
    assert texts(badge) == "3"
    page = soup(await customer_client.get(f"/messages/{first}"))
    assert texts(page.select_one("#messages-message h1")) == "Nowa oferta światłowodu"
    assert page.select_one("#messages-message .body").text == "Treść\nw dwóch wierszach"
    assert texts(page.select_one("nav#tabs a[href='/messages'] .badge")) == "2"
    assert not page.select("[hx-swap-oob]")
    fragment = soup(await customer_client.get(f"/messages/{_[0]}", headers=PARTIAL))
    assert fragment.select_one("section#messages-message") and not fragment.select("html")
    badge = fragment.find("span", id="unread-badge", recursive=False)  # top level: out of band
    assert badge["hx-swap-oob"] == "true" and texts(badge) == "1"
    rows = soup(await customer_client.get("/messages")).select("tbody tr")
    assert ["unread" in (r.get("class") or []) for r in rows] == [True, False, False]


async def test_foreign_message_is_404_and_stays_unread(client, customer):
    other = await factories.customer()
    theirs = await factories.message(audience="customer", customer_id=other.id)
    await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    assert (await client.get(f"/messages/{theirs}")).status_code == 404
    assert (await post_form(client, f"/messages/{theirs}/confirm")).status_code == 404
    assert (await client.get("/messages/999999")).status_code == 404
    row = await MessageRecipient.select(MessageRecipient.read_at, MessageRecipient.confirmed_at).first()
    assert row == {"read_at": None, "confirmed_at": None}
    assert not soup(await client.get("/messages")).select("tbody tr")


async def test_urgent_banner_on_every_panel_page_until_confirmed(customer_client):
    urgent = await factories.message("Prace w sieci w nocy", urgent=True, audience="customer",
                                     customer_id=customer_client.customer.id)
    for path in ("/info", "/messages", "/info/pin"):
        banner = soup(await customer_client.get(path)).select_one(".banner.urgent")
        assert "Prace w sieci w nocy" in texts(banner)
        assert banner.select_one("form")["action"] == f"/messages/{urgent}/confirm"
    await customer_client.get(f"/messages/{urgent}")  # reading alone does not confirm
    assert soup(await customer_client.get("/info")).select_one(".banner.urgent")
    response = await post_form(customer_client, f"/messages/{urgent}/confirm", {"next": "/info"})
    assert response.status_code == 303 and response.headers["location"] == "/info"
    assert not soup(await customer_client.get("/info")).select(".banner.urgent")
    response = await post_form(customer_client, f"/messages/{urgent}/confirm", {"next": "//evil.example"})
    assert response.headers["location"] == f"/messages/{urgent}"


async def test_body_is_escaped(customer_client):
    mid = await factories.message('<img src=x onerror="alert(1)">', body="<script>x</script>",
                                  audience="customer", customer_id=customer_client.customer.id)
    response = await customer_client.get(f"/messages/{mid}")
    assert response.status_code == 200
    message = soup(response).select_one("#messages-message")
    # The markup arrives as text: shown to the reader, never parsed into elements.
    assert texts(message.select_one("h1")) == '<img src=x onerror="alert(1)">'
    assert texts(message.select_one(".body")) == "<script>x</script>"
    assert not message.select("img, script") and "<script>x</script>" not in response.text


async def test_confirm_goes_back_to_the_referring_page_on_this_site(customer_client):
    urgent = await factories.message(urgent=True, audience="customer", customer_id=customer_client.customer.id)
    here = "http://testserver.local/messages?category=serwisowa"
    response = await post_form(customer_client, f"/messages/{urgent}/confirm", {"next": "/info"},
                               headers={"Referer": here})
    assert response.headers["location"] == "/messages?category=serwisowa"
