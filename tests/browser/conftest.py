"""Browser tests: the app served by uvicorn in a subprocess, driven by Debian's Chromium
through Playwright. Chromium missing: skipped loudly outside CI, an error under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_sync

CHROMIUM = os.environ.get("WBOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    # Browser tests run last: Playwright's sync API keeps an event loop running in the main
    # thread, where the async tests' runner cannot start its own afterwards.
    browser = [item for item in items if "tests/browser" in str(item.fspath)]
    for item in browser:
        item.add_marker(pytest.mark.browser)
    items[:] = [item for item in items if item not in browser] + browser


@pytest.fixture(scope="session")
def _playwright():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"!!! Chromium not found at {CHROMIUM}: browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message.replace("skipped", "required under CI"))
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def nojs_page(browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def run(coro):
    """Run a factory coroutine from a sync browser test."""
    return run_sync(coro)


def log_in(page, customer) -> None:
    page.goto("/login")
    page.fill("input[name=customer_id]", str(customer.id))
    page.fill("input[name=pin]", customer.pin)
    page.click("button[type=submit]")
    page.wait_for_url("**/info")


def log_in_operator(page, operator) -> None:
    page.goto("/admin/login")
    page.fill("input[name=username]", operator.username)
    page.fill("input[name=password]", operator.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")
