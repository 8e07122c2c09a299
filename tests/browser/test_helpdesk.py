"""Helpdesk in a real browser: a new ticket, an operator's answer arriving live in the open
thread, the customer's reply arriving live on the operator's side; and without JavaScript."""

from __future__ import annotations

import os
import time

from tests import factories
from tests.browser.conftest import log_in, log_in_operator, run

SHOTS = os.environ.get("WBOK_SCREENSHOTS", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})


def test_operator_answer_appears_live(page, browser, live_server):
    customer = run(factories.customer())
    operator = run(factories.operator())
    page.add_init_script("document.addEventListener('htmx:sse:after:connection', () => window.__sse = true)")
    log_in(page, customer)
    page.click("nav.tabs a[href='/helpdesk']")
    page.wait_for_selector("#helpdesk-tickets")
    page.select_option("select[name=queue]", "technical")
    page.fill("input[name=subject]", "Brak Internetu <b>wieczorem</b>")
    page.fill("textarea[name=body]", "Brak Internetu w dniu 23.11.2026\nw godzinach od 18:00 do 20:30.")
    page.click("#helpdesk-tickets button[type=submit]")
    page.wait_for_selector("#helpdesk-tickets .notice")
    row = page.locator("#helpdesk-list tbody tr")
    assert row.count() == 1 and "nowe" in row.inner_text()
    page.click("#helpdesk-list a.subject, #helpdesk-list .subject a")
    page.wait_for_selector("#helpdesk-thread")
    ticket_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert page.inner_text("h1.subject") == f"#{ticket_id} Brak Internetu <b>wieczorem</b>"
    page.evaluate("window.__noReload = true")

    staff_context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    staff = staff_context.new_page()
    staff.set_default_timeout(10_000)
    try:
        log_in_operator(staff, operator)
        staff.goto(f"/admin/helpdesk/{ticket_id}")
        staff.fill("textarea[name=body]", "Notatka: sprawdzić nadajnik")
        staff.check("input[name=internal]")
        staff.click("#helpdesk-ticket button[type=submit]")
        staff.wait_for_selector(".msg-internal")
        staff.fill("textarea[name=body]", "Dzień dobry,\nproszę zrestartować router.")
        staff.select_option("select[name=status]", "todo")
        page.wait_for_function("() => window.__sse === true")  # the thread's stream is open
        started = time.monotonic()
        staff.click("#helpdesk-ticket button[type=submit]")
        page.wait_for_selector(".msg-operator", timeout=2_000)
        assert time.monotonic() - started < 2.0
        assert page.inner_text(".msg-operator .msg-body") == "Dzień dobry,\nproszę zrestartować router."
        assert page.evaluate("window.__noReload") is True
        # The status label follows live, in the same second as the answer.
        page.wait_for_function("() => document.querySelector('#ticket-status').textContent === 'do zrealizowania'",
                               timeout=2_000)
        staff.select_option("select[name=status]", "resolved")
        staff.click("#helpdesk-ticket button[type=submit]")
        page.wait_for_function("() => document.querySelector('#ticket-status').textContent === 'rozwiązane'",
                               timeout=2_000)
        page.wait_for_selector("#helpdesk-thread .reply-form")
        assert "sprawdzić nadajnik" not in page.content()

        page.fill("textarea[name=body]", "Zrestartowałem, dalej nie działa.")
        started = time.monotonic()
        page.click("#helpdesk-thread button[type=submit]")
        staff.wait_for_function(
            "() => [...document.querySelectorAll('.msg-customer .msg-body')]"
            ".some(e => e.textContent === 'Zrestartowałem, dalej nie działa.')", timeout=2_000)
        assert time.monotonic() - started < 2.0
        # Reopened by the reply: the operator's open page says so, the select too.
        staff.wait_for_function("() => document.querySelector('#ticket-status').textContent === 'do zrealizowania'",
                                timeout=2_000)
        assert staff.eval_on_selector("select[name=status]", "s => s.value") == "todo"
        # The customer's own reply shows once: the POST answer re-renders the thread.
        assert page.locator(".msg-customer").count() == 2
        _shot(page, "helpdesk-thread")
        _shot(staff, "admin-ticket")
        page.click("a[href='/helpdesk']")
        page.wait_for_selector("#helpdesk-list")
        assert "do zrealizowania" in page.inner_text("#helpdesk-list tbody tr")
        _shot(page, "helpdesk-list")
        staff.goto("/admin/helpdesk")
        _shot(staff, "admin-queue")
    finally:
        staff_context.close()


def test_ticket_list_updates_live_on_status_change(page, live_server):
    customer = run(factories.customer())
    operator = run(factories.operator())
    ticket_id = run(factories.ticket(customer.id))
    log_in(page, customer)
    page.add_init_script("document.addEventListener('htmx:sse:after:connection', () => window.__sse = true)")
    page.goto("/helpdesk")
    assert page.inner_text("#helpdesk-list .status") == "nowe"
    page.wait_for_function("() => window.__sse === true")  # the stream is open
    started = time.monotonic()
    import httpx

    with httpx.Client(base_url=live_server, follow_redirects=False) as staff:
        staff.get("/admin/login")
        staff.post("/admin/login", data={"username": operator.username, "password": operator.password,
                                         "_csrf_token": staff.cookies["csrftoken"]})
        response = staff.post(f"/admin/helpdesk/{ticket_id}", data={
            "status": "resolved", "_csrf_token": staff.cookies["csrftoken"]})
        assert response.status_code == 303
    page.wait_for_function(
        "() => document.querySelector('#helpdesk-list .status').textContent === 'rozwiązane'", timeout=5_000)
    # The answer is unseen: the tab's badge lights up live, and opening the thread clears it.
    page.wait_for_function("() => document.querySelector('#tabs #answers-badge').textContent === '1'",
                           timeout=2_000)
    page.click(f"#helpdesk-list a[href='/helpdesk/{ticket_id}'] >> nth=0")
    page.wait_for_selector("#helpdesk-thread")
    page.wait_for_function("() => document.querySelector('#tabs #answers-badge').textContent === ''",
                           timeout=2_000)
    print(f"list updated {time.monotonic() - started:.2f} s after the operator's POST started")


def test_thread_without_javascript(nojs_page):
    customer = run(factories.customer())
    ticket_id = run(factories.ticket(customer.id, subject="Bez JS"))
    log_in(nojs_page, customer)
    nojs_page.goto(f"/helpdesk/{ticket_id}")
    nojs_page.fill("textarea[name=body]", "Odpowiedź bez skryptów")
    nojs_page.click("#helpdesk-thread button[type=submit]")
    nojs_page.wait_for_url(f"**/helpdesk/{ticket_id}")
    assert nojs_page.locator(".msg-customer .msg-body").last.inner_text() == "Odpowiedź bez skryptów"
    nojs_page.goto("/helpdesk")
    nojs_page.fill("input[name=subject]", "Nowe bez JS")
    nojs_page.fill("textarea[name=body]", "Treść")
    nojs_page.click("#helpdesk-tickets button[type=submit]")
    nojs_page.wait_for_url("**/helpdesk?created=*")
    assert "Nowe bez JS" in nojs_page.inner_text("#helpdesk-list")
