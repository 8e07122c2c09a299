"""The admin menu swaps areas by htmx (URL pushed, no full reload), like the customer tabs;
the back button brings the previous area back and the current entry follows."""

from __future__ import annotations

from tests import factories
from tests.browser.conftest import log_in_operator, run


def _open_area(page, path: str, root: str) -> None:
    page.click(f"#tabs a[href='{path}']")
    page.wait_for_url(f"**{path}")
    page.wait_for_selector(f"#content > #{root}")


def test_admin_menu_swaps_areas_without_reload_and_history_works(page):
    operator = run(factories.operator())
    log_in_operator(page, operator)
    page.wait_for_selector("#content > #customers-search")
    page.evaluate("window.__noReload = 'still here'")
    _open_area(page, "/admin/changes", "changes-queue")
    _open_area(page, "/admin/payments/import", "payments-import")
    assert page.evaluate("window.__noReload") == "still here", "the menu must swap, not reload"
    current = page.eval_on_selector_all("#tabs a[aria-current=page]", "els => els.map(e => e.getAttribute('href'))")
    assert current == ["/admin/payments/import"], "only the longest matching entry is current"

    page.go_back()
    page.wait_for_url("**/admin/changes")
    page.wait_for_selector("#content > #changes-queue")
    assert page.get_attribute("#tabs a[aria-current=page]", "href") == "/admin/changes"
    assert page.locator("#content h1").count() == 1, "the area is not nested in itself"
