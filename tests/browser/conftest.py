"""Browser tests: the app served by uvicorn in a subprocess, driven by Debian's Chromium
through Playwright. Chromium missing: skipped loudly outside CI, an error under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, run_sync

CHROMIUM = os.environ.get("WBOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    # Playwright's sync API keeps an event loop running in the main thread until the
    # session ends; async tests after it fail with "another loop is running". Last, then.
    items[:] = sorted(items, key=lambda item: "tests/browser" in str(item.fspath))


def _wait_up(url: str, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the test server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the test server did not start")


def start_server(env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """uvicorn serving create_app() on a free port, against the test database."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc)
    except Exception:
        proc.kill()
        raise
    return proc, url


@pytest.fixture(scope="session")
def live_server(_smtp_server):
    proc, url = start_server({"WBOK_SMTP_URL": _smtp_server.url})
    yield url
    proc.terminate()
    proc.wait(10)


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
