"""Login in a real browser, with JavaScript and without."""

from __future__ import annotations

from tests import factories
from tests.browser.conftest import log_in, run


def test_login_with_javascript_disabled(nojs_page):
    customer = run(factories.customer())
    nojs_page.goto("/login")
    nojs_page.fill("input[name=customer_id]", f"00{customer.id}")
    nojs_page.fill("input[name=pin]", customer.pin)
    nojs_page.click("button[type=submit]")
    nojs_page.wait_for_url("**/info")
    assert customer.name in nojs_page.inner_text("#info-data")
    nojs_page.click("form.logout button")
    nojs_page.wait_for_url("**/login**")
    assert nojs_page.locator("input[name=pin]").count() == 1


def test_wrong_pin_shows_polish_error(page):
    customer = run(factories.customer())
    page.goto("/login")
    page.fill("input[name=customer_id]", str(customer.id))
    page.fill("input[name=pin]", "999111")
    page.click("button[type=submit]")
    assert "Nieprawidłowy ID Klienta lub PIN" in page.inner_text("#login-error")
    log_in(page, customer)
