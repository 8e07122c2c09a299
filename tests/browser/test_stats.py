"""Statystyki in a real browser: switching periods by htmx (URL pushed, fragment swapped,
back button), and the same links without JavaScript."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app import traffic
from tests import factories
from tests.browser.conftest import log_in, run


def text(page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def _published_customer():
    async def make():
        who = await factories.customer("Żaneta Wróbel", ip="10.20.0.1")
        await factories.device(who.id, "10.20.0.2", "Laptop")
        yesterday = traffic.warsaw_today(datetime.now(timezone.utc)) - timedelta(days=1)
        await traffic.ingest(f"10.20.0.1 {2**29} {3 * 2**30}\n10.20.0.2 {2**20} {2**28}",
                             traffic.warsaw_midnight(yesterday) + timedelta(hours=20))
        await traffic.publish(yesterday)
        return who
    return run(make())


def test_switch_periods_pushes_url_swaps_fragment_and_back_works(page):
    who = _published_customer()
    log_in(page, who)
    page.click("nav#tabs a[href='/stats']")
    page.wait_for_url("**/stats")
    assert page.inner_text(".periods a[aria-current=page]") == "Ostatnie 30 dni"
    page.evaluate("window.__noReload = true")
    page.click(".periods a[href='/stats?period=year']")
    page.wait_for_url("**/stats?period=year")
    page.wait_for_selector(".periods a[href='/stats?period=year'][aria-current=page]")
    assert page.evaluate("window.__noReload") is True  # swapped, not reloaded
    assert page.locator("#stats-traffic").count() == 1
    assert page.locator("#traffic-table tbody th").all_inner_texts() == ["Laptop", "Router"]
    page.click(".periods a[href='/stats?period=hour']")
    page.wait_for_selector(".periods a[href='/stats?period=hour'][aria-current=page]")
    assert text(page, "#traffic-table tfoot td.dl").startswith("0 B")
    page.go_back()
    page.wait_for_url("**/stats?period=year")
    page.wait_for_selector(".periods a[href='/stats?period=year'][aria-current=page]")
    assert text(page, "#traffic-table tfoot td.dl").startswith("3,25 GiB")
    assert page.inner_text("#traffic-stamp").startswith("Dane opublikowane:")


def test_periods_work_without_javascript(nojs_page):
    who = _published_customer()
    log_in(nojs_page, who)
    nojs_page.goto("/stats")
    nojs_page.click(".periods a[href='/stats?period=day']")
    nojs_page.wait_for_url("**/stats?period=day")
    assert nojs_page.inner_text(".periods a[aria-current=page]") == "Ostatni dzień"
    assert text(nojs_page, "#traffic-table tbody tr:nth-child(2) td.dl").startswith("3,00 GiB")
