"""The panel on a phone: no sideways scrolling at 320 and 360 px (JavaScript on and off), the
title after a tab switch, the copy buttons, and axe-core finding no serious or critical
violation on the customer pages and the main admin pages."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest

from tests import factories
from tests.browser.conftest import log_in, log_in_operator, run

SHOTS = os.environ.get("WBOK_SCREENSHOTS", "")
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def _customer_with_everything():
    """A customer as the manual describes one: long Polish name, two devices with MACs, a year
    of invoices partly paid, an urgent message, and a ticket with an operator's answer."""
    from datetime import datetime, timezone

    from app.settings import ISP
    from app.tickets import operator_answer

    await factories.tariff("Światłowód 600 Żółty Pakiet", price=9999, down=600, up=100)
    who = await factories.customer("Grzegorz Brzęczyszczykiewicz-Żółtowski", tariff_name="Światłowód 600 Żółty Pakiet",
                                   ip="10.20.30.140", street="ul. Chrząszczyżewoszycka 128/64",
                                   city="Szczebrzeszyn", nip="5260250274", phone="+48 600 100 200")
    await factories.device(who.id, "192.168.100.254", "Router w salonie (Łazienkowska)", "AA:BB:CC:DD:EE:FF")
    today = date.today()
    for back in (90, 60, 30):
        await factories.invoice(who.id, today - timedelta(days=back), gross=9999,
                                description="Abonament Światłowód 600 — usługa dostępu do Internetu")
    await factories.payment(who.id, 9999, today - timedelta(days=85), title="Przelew za abonament, ID Klienta")
    operator = await factories.operator()
    message = await factories.message("Przerwa serwisowa w Szczebrzeszynie — ważne", urgent=True,
                                      audience="customer", customer_id=who.id)
    ticket = await factories.ticket(who.id, subject="Brak Internetu wieczorami, źle działa Wi‑Fi",
                                    body="Brak Internetu w dniu 23.11.2026 w godzinach od 18:00 do 20:30.")
    await operator_answer(operator.id, ticket, "Dzień dobry, proszę zrestartować router.", False, "todo", "",
                          datetime.now(timezone.utc), ISP(), "http://wbok.test")
    return who, operator, message, ticket


def _pages(message: int, ticket: int) -> list[str]:
    return ["/info", "/info/edit", "/info/pin", "/finances", "/messages", f"/messages/{message}",
            "/stats", "/stats?period=day", "/helpdesk", f"/helpdesk/{ticket}"]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_no_sideways_scrolling_at_320_and_360(browser, live_server, js):
    who, _, message, ticket = run(_customer_with_everything())
    context = browser.new_context(base_url=live_server, java_script_enabled=js, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login")
        for width in (320, 360):
            page.set_viewport_size({"width": width, "height": 640})
            assert page.evaluate(OVERFLOW) <= 0, f"/login at {width} px"
        log_in(page, who)
        wide = {}
        for path in _pages(message, ticket):
            page.goto(path)
            for width in (320, 360):
                page.set_viewport_size({"width": width, "height": 640})
                if (extra := page.evaluate(OVERFLOW)) > 0:
                    wide[f"{path} at {width} px"] = extra
                if SHOTS and js and width == 360 and path in ("/finances", f"/helpdesk/{ticket}", "/info"):
                    name = path.strip("/").split("/")[0]
                    page.screenshot(path=f"{SHOTS}/phone-{name}-360.png", full_page=True)
        assert wide == {}, f"pixels of sideways scrolling: {wide}"
    finally:
        context.close()


def test_title_follows_every_tab_switch(page, live_server):
    who = run(factories.customer("Łucja Wróbel"))
    log_in(page, who)
    assert page.title() == "Informacje · WBOK"
    for path, title in (("/finances", "Finanse · WBOK"), ("/messages", "Wiadomości · WBOK"),
                        ("/stats", "Statystyki · WBOK"), ("/helpdesk", "Helpdesk · WBOK"),
                        ("/info", "Informacje · WBOK")):
        page.click(f"#tabs a[href='{path}']")
        page.wait_for_url(f"**{path}")
        page.wait_for_function(f"() => document.title === {title!r}", timeout=3_000)
    page.go_back()
    page.wait_for_url("**/helpdesk")
    page.wait_for_function("() => document.title === 'Helpdesk · WBOK'", timeout=3_000)


def test_copy_buttons_put_the_transfer_data_on_the_clipboard(browser, live_server):
    who, _, _, _ = run(_customer_with_everything())
    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, who)
        page.click("#tabs a[href='/finances']")
        page.wait_for_selector("#finances-balance button[data-copy]:not([hidden])")
        got = {}
        for target in ("pay-account", "pay-amount", "pay-title"):
            button = page.locator(f"button[aria-describedby={target}]")
            button.click()
            page.wait_for_function(f"() => document.querySelector('button[aria-describedby={target}]')"
                                   ".textContent === 'Skopiowano'", timeout=2_000)
            got[target] = page.evaluate("() => navigator.clipboard.readText()")
        assert got["pay-amount"] == "199,98"
        assert got["pay-account"] == page.inner_text("#pay-account").replace(" ", "")
        assert len(got["pay-account"]) == 26
        assert got["pay-title"].endswith(f"ID Klienta {who.id:04d}")
        assert page.inner_text("#pay-title") == got["pay-title"]
        assert page.locator(".fin-qr").is_hidden()  # a phone cannot scan its own screen
        page.set_viewport_size({"width": 1280, "height": 800})
        assert page.locator(".fin-qr").is_visible()
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/finances-1280.png", full_page=True)
    finally:
        context.close()


def _axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['nodes'][0].get('failureSummary', '')}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation(browser, live_server):
    who, operator, message, ticket = run(_customer_with_everything())
    problems: list[str] = []
    for width in (360, 1280):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            page.goto("/login")
            problems += _axe_problems(page)
            log_in(page, who)
            for path in _pages(message, ticket):
                page.goto(path)
                problems += _axe_problems(page)
        finally:
            context.close()
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/admin/login")
        problems += _axe_problems(page)
        log_in_operator(page, operator)
        for path in ("/admin", "/admin/customers", f"/admin/customers/{who.id}", f"/admin/customers/{who.id}/finances",
                     "/admin/changes", "/admin/helpdesk", f"/admin/helpdesk/{ticket}", "/admin/messages",
                     "/admin/payments", "/admin/payments/import", "/admin/tariffs", "/admin/billing", "/admin/traffic"):
            page.goto(path)
            problems += _axe_problems(page)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


TARGETS = """() => [...document.querySelectorAll(
    'button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), #tabs a, a.fin-icon, ' +
    'label.fin-tap, label.choice, label.check, .skip')]
  .filter(e => e.offsetParent !== null && !e.closest('[hidden]'))
  .map(e => { const r = e.getBoundingClientRect();
              return [e.tagName + '.' + e.className + ' ' + (e.textContent || e.name || '').trim().slice(0, 30),
                      Math.round(r.width), Math.round(r.height)] })
  .filter(([, w, h]) => h < 44 || w < 44)"""


def test_tap_targets_and_visible_focus(browser, live_server):
    who, _, message, ticket = run(_customer_with_everything())
    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login")
        small = {"/login": page.evaluate(TARGETS)}
        log_in(page, who)
        for path in _pages(message, ticket):
            page.goto(path)
            small[path] = page.evaluate(TARGETS)
        assert {k: v for k, v in small.items() if v} == {}
        page.goto("/finances")
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e),
            r = e.getBoundingClientRect(); return [e.className, s.outlineStyle, r.top >= 0 && r.bottom > 0] }""")
        assert focused == ["skip", "solid", True]  # "Przejdź do treści", visible when focused
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#content"
        page.keyboard.press("Tab")
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    finally:
        context.close()
