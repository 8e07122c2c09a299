"""Sessions, CSRF and headers: absolute lifetime, CSRF rotation and cure, no-store, HSTS,
and live streams that end with their session."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.main import create_app
from app.tables.auth import Session
from tests import factories
from tests.conftest import PARTIAL, post_form, run_sync as run, soup
from tests.routes.test_helpdesk_stream import Listener, customer_session

pytestmark = pytest.mark.anyio


async def test_private_pages_and_fragments_are_never_stored(customer_client, admin_client):
    for response in (await customer_client.get("/info"), await customer_client.get("/info", headers=PARTIAL),
                     await customer_client.get("/finances", headers=PARTIAL),
                     await admin_client.get("/admin/customers"),
                     await admin_client.get(f"/admin/customers/{customer_client.customer.id}", headers=PARTIAL)):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", response.url
    new_pin = await post_form(admin_client, f"/admin/customers/{customer_client.customer.id}/pin")
    assert new_pin.status_code == 200 and soup(new_pin).select_one("#new-pin, .new-pin") or "PIN" in new_pin.text
    assert new_pin.headers["cache-control"] == "no-store"
    static = await customer_client.get("/static/wbok.css")
    assert "immutable" in static.headers["cache-control"]


async def test_hsts_only_with_secure_cookies(settings, client):
    assert "strict-transport-security" not in (await client.get("/login")).headers
    secure = create_app(dataclasses.replace(settings, secure_cookies=True))
    async with AsyncTestClient(app=secure) as https:
        assert (await https.get("/login")).headers["strict-transport-security"].startswith("max-age=31536000")


async def test_a_stale_csrf_cookie_is_replaced_on_the_next_get(client, customer):
    from litestar.middleware.csrf import generate_csrf_token

    for stale in ("garbage", generate_csrf_token("another-installations-key")):
        client.cookies.clear()
        client.cookies.set("csrftoken", stale, domain="testserver.local", path="/")
        form = soup(await client.get("/login")).select_one("input[name=_csrf_token]")["value"]
        assert client.cookies.get("csrftoken") not in (None, stale), "a fresh cookie was set"
        response = await client.post("/login", data={"customer_id": str(customer.id), "pin": customer.pin,
                                                     "_csrf_token": form})
        assert response.status_code == 303, "refreshing the page cured it"
        await post_form(client, "/logout")


async def test_the_csrf_token_rotates_at_login(client, customer):
    await client.get("/login")
    before = client.cookies.get("csrftoken")
    response = await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    after = client.cookies.get("csrftoken")
    assert response.status_code == 303 and after and after != before
    planted = await client.post("/logout", data={"_csrf_token": before})
    assert planted.status_code == 403, "the token from before login is worthless"
    assert (await post_form(client, "/logout")).status_code == 303


async def test_a_session_ends_after_its_absolute_lifetime_however_busy(customer_client):
    now = datetime.now(timezone.utc)
    await Session.update({Session.created_at: now - timedelta(hours=12, minutes=1),
                          Session.last_seen: now}).where(Session.id > 0)
    response = await customer_client.get("/info")
    assert response.status_code == 303 and response.headers["location"] == "/login?m=expired"
    assert await Session.count() == 0


def _ends_within(listener: Listener, seconds: float) -> float:
    started = time.monotonic()
    listener._thread.join(seconds)
    assert not listener._thread.is_alive(), "the stream is still open"
    return time.monotonic() - started


def test_a_stream_ends_within_seconds_of_logout_and_of_a_block(live_server):
    customer = run(factories.customer())
    shopper = customer_session(live_server, customer)
    listener = Listener(shopper, "/helpdesk/events")
    time.sleep(0.5)
    assert listener._thread.is_alive()
    shopper.post("/logout", data={"_csrf_token": shopper.cookies["csrftoken"]})
    assert _ends_within(listener, 8) < 8

    shopper = customer_session(live_server, customer)
    listener = Listener(shopper, "/helpdesk/events")
    with httpx.Client(base_url=live_server, follow_redirects=False) as attacker:
        attacker.get("/login")
        for _ in range(3):
            attacker.post("/login", data={"customer_id": str(customer.id), "pin": "101010",
                                          "_csrf_token": attacker.cookies["csrftoken"]})
    _ends_within(listener, 8)
    assert shopper.get("/info").status_code == 303
