"""Test setup: a fresh database (SQLite, or PostgreSQL with WBOK_TEST_DB=postgres), the app
and clients, a real local SMTP server. The environment is set before `app` is imported."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

# The headers htmx sends for a swap: the fragment, not the whole page (app/routes/_render.py).
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}
PG_ADMIN_URL = os.environ.get("WBOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINE = os.environ.get("WBOK_TEST_DB", "sqlite")
_tmp = Path(tempfile.mkdtemp(prefix="wbok-test-"))


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


if ENGINE == "postgres":
    TEST_DB_NAME = f"wbok_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{TEST_DB_NAME}"')
    os.environ["WBOK_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DB_NAME
else:
    TEST_DB_NAME = ""
    os.environ["WBOK_DATABASE_URL"] = f"sqlite:///{_tmp / 'test.sqlite3'}"
os.environ["WBOK_SECRET_KEY"] = "test-secret-" + uuid.uuid4().hex
os.environ["WBOK_SCHEDULER"] = "0"
# The test client runs the app on its own event loop in another thread; a pool bound to
# that loop must not serve the fixtures' queries, so tests connect per query.
os.environ["WBOK_DB_POOL_SIZE"] = "0"
os.environ.pop("WBOK_CONFIG", None)

from litestar.testing import AsyncTestClient  # noqa: E402

from app import db  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings, settings_from_env  # noqa: E402
from tests import factories  # noqa: E402


def pytest_sessionstart(session):
    asyncio.run(db.migrate())


def pytest_sessionfinish(session, exitstatus):
    if TEST_DB_NAME:
        _pg_admin(f'DROP DATABASE IF EXISTS "{TEST_DB_NAME}" WITH (FORCE)')


def pytest_report_header(config):
    return f"WBOK database engine: {ENGINE} ({os.environ['WBOK_DATABASE_URL']})"


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def _wipe() -> None:
    from app.tables.piccolo_app import APP_CONFIG

    tables = [t._meta.tablename for t in APP_CONFIG.table_classes]
    engine = db.db()
    if db.is_sqlite():
        for name in tables:
            await engine.run_ddl(f'DELETE FROM "{name}"')
    else:
        await engine.run_ddl("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE")


def run_sync(coro):
    """Run a coroutine to its end from sync code, in a thread of its own: Playwright's sync
    API keeps an event loop running in the main thread, where asyncio.run() is refused."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(autouse=True)
def clean_db():
    """Every test starts from empty tables (a sync fixture, so sync tests may use it too)."""
    run_sync(_wipe())


@pytest.fixture
def settings(mailbox) -> Settings:
    env = dict(os.environ, WBOK_SMTP_URL=mailbox.url)
    return settings_from_env(env)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
async def client(app):
    async with AsyncTestClient(app=app) as client:
        client.follow_redirects = False
        yield client


def csrf_token(client) -> str:
    return client.cookies.get("csrftoken") or ""


async def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST a form as a browser would: with the CSRF token from the cookie it got on a GET."""
    if not client.cookies.get("csrftoken"):
        await client.get("/login")
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf_token(client)}, **kwargs)


@pytest.fixture
async def customer():
    return await factories.customer()


@pytest.fixture
async def customer_client(client, customer):
    response = await post_form(client, "/login", {"customer_id": str(customer.id), "pin": customer.pin})
    assert response.status_code in (200, 303), response.text
    client.customer = customer
    return client


@pytest.fixture
async def operator():
    return await factories.operator()


@pytest.fixture
async def admin_client(app, operator):
    async with AsyncTestClient(app=app) as client:
        client.follow_redirects = False
        await client.get("/admin/login")
        response = await post_form(client, "/admin/login",
                                   {"username": operator.username, "password": operator.password})
        assert response.status_code in (200, 303), response.text
        client.operator = operator
        yield client


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        # A server process has one event loop, so it pools connections as in production.
        cwd=Path(__file__).resolve().parents[1], env={**os.environ, "WBOK_DB_POOL_SIZE": "4", **(env or {})},
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


class Mailbox:
    """A real SMTP server on localhost (aiosmtpd) that keeps what arrives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        handler = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                handler.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def _smtp_server():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def mailbox(_smtp_server):
    _smtp_server.messages.clear()
    return _smtp_server


def soup(response):
    from bs4 import BeautifulSoup

    return BeautifulSoup(response.text, "html.parser")


def texts(node) -> str:
    return re.sub(r"\s+", " ", node.get_text(" ")).strip()



def fragment_root(doc):
    """The root element of a fragment: the first one after the <head><title> that a fragment
    carries (htmx sets document.title from it), which holds nothing else."""
    first = doc.find()
    if first is not None and first.name == "head":
        assert [t.name for t in first.find_all()] == ["title"], first
        first = first.find_next_sibling()
    return first
