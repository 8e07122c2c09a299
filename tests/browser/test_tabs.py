"""Tabs switch by htmx (URL pushed, no full reload), back and forward work, logout ends it."""

from __future__ import annotations

from tests import factories
from tests.browser.conftest import log_in, run


def _open_tab(page, path: str) -> None:
    page.click(f"#tabs a[href='{path}']")
    page.wait_for_url(f"**{path}")
    page.wait_for_selector(f"#content [id^='{path.strip('/')}-']")


def test_tabs_switch_without_reload_and_history_works(page):
    customer = run(factories.customer())
    log_in(page, customer)
    page.evaluate("window.__noReload = 'still here'")
    _open_tab(page, "/finances")
    _open_tab(page, "/helpdesk")
    assert page.evaluate("window.__noReload") == "still here", "tabs must swap, not reload"
    assert page.get_attribute("#tabs a[aria-current=page]", "href") == "/helpdesk"

    page.go_back()
    page.wait_for_url("**/finances")
    page.wait_for_selector("#content [id^='finances-']")
    assert page.get_attribute("#tabs a[aria-current=page]", "href") == "/finances"
    page.go_back()
    page.wait_for_url("**/info")
    page.wait_for_selector("#content #info-data")
    page.go_forward()
    page.wait_for_url("**/finances")
    page.wait_for_selector("#content [id^='finances-']")

    page.click("form.logout button")
    page.wait_for_url("**/login**")
    page.goto("/info")
    page.wait_for_url("**/login**")
