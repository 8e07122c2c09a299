"""Informacje and Wiadomości in a real browser: inline edit with approval, the plain form
without JavaScript, the category filter and the urgent banner."""

from __future__ import annotations

from tests import factories
from tests.browser.conftest import log_in, log_in_operator, run


def test_inline_edit_with_validation_and_approval(page, browser, live_server):
    customer = run(factories.customer("Grażyna Żądło"))
    operator = run(factories.operator())
    log_in(page, customer)
    page.click("#info-contact a[href='/info/edit']")
    page.wait_for_selector("form#info-edit")
    assert page.url.endswith("/info")  # swapped in place, no navigation
    page.click("form#info-edit a[href='/info']")  # cancel
    page.wait_for_selector("#info-contact")
    assert page.locator("form#info-edit").count() == 0
    page.click("#info-contact a[href='/info/edit']")
    page.wait_for_selector("form#info-edit")
    page.fill("input[name=phone]", "12 34")
    page.click("form#info-edit button[type=submit]")
    page.wait_for_selector("#e-phone")
    assert page.input_value("input[name=phone]") == "12 34"
    page.fill("input[name=phone]", "601-202-303")
    page.click("form#info-edit button[type=submit]")
    page.wait_for_selector("#info-contact dd[data-field=phone] .pending")
    assert "+48 601 202 303" in page.inner_text("#info-contact dd[data-field=phone] .pending")
    assert page.locator("form#info-edit").count() == 0

    admin = browser.new_context(base_url=live_server).new_page()
    log_in_operator(admin, operator)
    admin.goto("/admin/changes")
    admin.click("#changes-queue button[formaction$='/approve']")
    admin.wait_for_url("**/admin/changes?m=approved")
    admin.context.close()

    page.reload()
    assert page.inner_text("#info-contact dd[data-field=phone]").strip() == "+48 601 202 303"
    assert page.locator("#info-contact .pending").count() == 0


def test_plain_form_without_javascript(nojs_page):
    customer = run(factories.customer())
    log_in(nojs_page, customer)
    nojs_page.click("#info-contact a[href='/info/edit']")
    nojs_page.wait_for_url("**/info/edit")
    nojs_page.fill("input[name=nip]", "123")
    nojs_page.click("form#info-edit button[type=submit]")
    assert "NIP" in nojs_page.inner_text("#e-nip")
    nojs_page.fill("input[name=nip]", "526-025-02-74")
    nojs_page.check("input[name=marketing_consent][type=checkbox]")
    nojs_page.click("form#info-edit button[type=submit]")
    nojs_page.wait_for_url("**/info?m=sent")
    assert "5260250274" in nojs_page.inner_text("dd[data-field=nip] .pending")
    assert "tak" in nojs_page.inner_text("dd[data-field=marketing_consent] .pending")


def test_message_filter_and_urgent_banner(page):
    customer = run(factories.customer())
    run(factories.message("Faktura za listopad", category="rozliczeniowa", audience="customer",
                          customer_id=customer.id))
    run(factories.message("Awaria w Końskich", urgent=True, audience="customer", customer_id=customer.id))
    log_in(page, customer)
    assert "Awaria w Końskich" in page.inner_text(".banner.urgent")
    assert page.inner_text("nav#tabs a[href='/messages'] .badge") == "2"
    page.click("nav#tabs a[href='/messages']")
    page.wait_for_selector("#messages-list")
    page.click("nav.filter a[href='/messages?category=rozliczeniowa']")
    page.wait_for_url("**/messages?category=rozliczeniowa")
    page.wait_for_function("document.querySelectorAll('#messages-list tbody tr').length === 1")
    assert "Faktura za listopad" in page.inner_text("#messages-list tbody")
    page.click("#messages-list tbody a")
    page.wait_for_selector("#messages-message")
    assert page.inner_text("nav#tabs #unread-badge") == "1"  # updated out of band
    page.go_back()
    page.wait_for_url("**/messages?category=rozliczeniowa")
    assert page.locator(".banner.urgent").count() == 1  # still there on every panel page
    page.click(".banner.urgent button")
    page.wait_for_url("**/messages?category=rozliczeniowa")
    assert page.locator(".banner.urgent").count() == 0
