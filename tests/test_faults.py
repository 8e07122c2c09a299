"""Faults, over real HTTP on a throwaway PostgreSQL cluster of the test's own (stopped and
started at will; the shared server is never touched): the database going away and coming
back, the LISTEN connection dropping, a worker process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from tests.conftest import PARTIAL, free_port, start_server
from tests.pgcluster import Cluster, pg_bin
from tests.routes.test_helpdesk_stream import Listener, customer_session

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(pg_bin() is None, reason="needs PostgreSQL binaries (initdb, pg_ctl)")


@pytest.fixture(scope="module")
def cluster():
    pg = Cluster()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture
def database(cluster):
    """A migrated database on the cluster, with one customer; (url, name, customer)."""
    name = f"wbok_fault_{uuid.uuid4().hex[:8]}"
    url = cluster.create_database(name)
    env = {"WBOK_DATABASE_URL": url}
    out = _wbok(env, "customer", "add", "--name", "Janina Nowak", "--email", "janina@example.pl",
                "--pin", "482916")
    customer_id = int(re.search(r"customer (\d+) PIN", out).group(1))
    yield url, name, type("C", (), {"id": customer_id, "pin": "482916"})


def _wbok(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sql(url: str, statement: str, *args):
    import asyncpg

    async def run():
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _server(url: str) -> tuple[subprocess.Popen, str]:
    return start_server({"WBOK_DATABASE_URL": url, "WBOK_SCHEDULER": "0"})


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _is_503_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("text/html")
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("h1").get_text(strip=True) == "Serwis chwilowo niedostępny"
    assert "Traceback" not in response.text and "asyncpg" not in response.text


def test_database_outage_is_a_polish_503_then_recovers_without_restart(cluster, database):
    url, _, customer = database
    proc, base = _server(url)
    try:
        shopper = customer_session(base, customer)
        assert shopper.get("/info").status_code == 200
        cluster.stop()
        started = time.monotonic()
        health = shopper.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "down"
        assert time.monotonic() - started < 6  # HEALTH_TIMEOUT is 3 s; a loaded machine adds some
        _is_503_page(shopper.get("/info"))
        _is_503_page(shopper.get("/finances", headers=PARTIAL))
        _is_503_page(shopper.post("/helpdesk", data={"subject": "Brak sieci", "body": "Od rana nie działa.",
                                                     "_csrf_token": shopper.cookies["csrftoken"]}))
        cluster.start()
        back_at = time.monotonic()
        while shopper.get("/healthz").status_code != 200:
            assert time.monotonic() - back_at < 10, "no recovery within 10 s"
            time.sleep(0.2)
        # The same process, the same session: nothing was restarted.
        assert proc.poll() is None
        page = shopper.get("/info")
        assert page.status_code == 200 and "Janina Nowak" in page.text
    finally:
        cluster.start() if not _up(cluster) else None
        _stop(proc)


def _up(cluster: Cluster) -> bool:
    try:
        _sql(cluster.url(), "SELECT 1")
        return True
    except Exception:
        return False


def _ticket(url: str, customer_id: int) -> tuple[int, int]:
    row = _sql(url, "INSERT INTO ticket (customer, queue, subject, status, created_at, last_activity_at) "
                    "VALUES ($1, 'technical', 'Wolny Internet', 'new', now(), now()) RETURNING id", customer_id)
    ticket_id = row[0]["id"]
    return ticket_id, _message(url, ticket_id, "customer", "Od wczoraj Internet działa bardzo wolno.")


def _message(url: str, ticket_id: int, author: str, body: str) -> int:
    row = _sql(url, "INSERT INTO ticket_message (ticket, author, body, internal, created_at) "
                    "VALUES ($1, $2, $3, false, now()) RETURNING id", ticket_id, author, body)
    return row[0]["id"]


def _status_first(listener) -> None:
    """A live thread's stream opens with the ticket's current status (an out-of-band swap)."""
    event = listener.next(10.0)
    assert 'id="ticket-status"' in event["data"] and ".msg-body" not in event["data"]


def _body(event: dict) -> str:
    return BeautifulSoup(event["data"], "html.parser").select_one(".msg-body").get_text()


async def _write_while_deaf(url: str, admin: str, name: str, ticket_id: int, body: str) -> int:
    """Shut the database's door (datallowconn), kill the app's LISTEN connection, write an
    answer through a connection opened before, and keep the door shut a moment longer
    than the first reconnect attempts. Returns the new message's id."""
    import asyncpg

    db, root = await asyncpg.connect(url, timeout=5), await asyncpg.connect(admin, timeout=5)
    try:
        await root.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        killed = await root.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = $1 AND application_name = 'wbok-listen'", name)
        assert len(killed) == 1
        message_id = await db.fetchval("INSERT INTO ticket_message (ticket, author, body, internal, created_at) "
                                       "VALUES ($1, 'operator', $2, false, now()) RETURNING id", ticket_id, body)
        await asyncio.sleep(1.5)
        return message_id
    finally:
        await db.close()
        await root.close()


def test_listen_connection_is_rebuilt_and_the_stream_catches_up(cluster, database):
    """The LISTEN connection is killed and cannot reconnect for a while; an answer written
    meanwhile (no NOTIFY reaches anyone) arrives once it is back, and NOTIFY works again."""
    url, name, customer = database
    proc, base = _server(url)
    admin = cluster.url("postgres")
    listener = None
    try:
        shopper = customer_session(base, customer)
        ticket_id, first = _ticket(url, customer.id)
        listener = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={first}")
        _status_first(listener)
        missed = asyncio.run(_write_while_deaf(url, admin, name, ticket_id, "Technik przestawi antenę jutro rano."))
        with pytest.raises(queue.Empty):
            listener.next(0.1)
        _sql(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        event = listener.next(15.0)
        assert event["id"] == str(missed) and _body(event) == "Technik przestawi antenę jutro rano."
        # LISTEN is registered again: a plain NOTIFY now reaches the open stream.
        answer = _message(url, ticket_id, "operator", "Antena przestawiona, proszę sprawdzić.")
        _sql(url, "SELECT pg_notify('wbok_helpdesk', $1)",
             json.dumps({"ticket": ticket_id, "keys": [f"c{customer.id}", "ops"]}))
        event = listener.next(2.0)
        assert event["id"] == str(answer) and _body(event) == "Antena przestawiona, proszę sprawdzić."
    finally:
        _sql(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        if listener:
            listener.close()
        _stop(proc)


def test_an_open_stream_survives_a_database_restart_and_catches_up(cluster, database):
    url, _, customer = database
    proc, base = _server(url)
    listener = None
    try:
        shopper = customer_session(base, customer)
        ticket_id, first = _ticket(url, customer.id)
        listener = Listener(shopper, f"/helpdesk/{ticket_id}/events?after={first}")
        _status_first(listener)
        cluster.stop()
        time.sleep(2.5)  # the stream's own reads fail meanwhile; it stays open
        cluster.start()
        answer = _message(url, ticket_id, "operator", "Sprawdziliśmy łącze po restarcie bazy.")
        event = listener.next(10.0)
        assert event["id"] == str(answer) and _body(event) == "Sprawdziliśmy łącze po restarcie bazy."
    finally:
        cluster.start() if not _up(cluster) else None
        if listener:
            listener.close()
        _stop(proc)


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = {int(x) for x in path.read_text().split()} if path.exists() else set()
    return {p for p in found if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()}


def test_serve_workers_migrates_once_and_replaces_a_killed_worker(cluster):
    name = f"wbok_workers_{uuid.uuid4().hex[:8]}"
    url = cluster.create_database(name)  # empty: `serve` migrates it before the workers start
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)],
                            cwd=ROOT, env={**os.environ, "WBOK_DATABASE_URL": url, "WBOK_SCHEDULER": "0",
                                           "WBOK_DB_POOL_SIZE": "2"},
                            stdout=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout.readline().startswith("secret key: ")
        assert proc.stdout.readline().strip() == "WBOK: 2 worker processes"
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 or not _healthy(base):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) == 2
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            now = _children(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.2)
        assert all(_healthy(base) for _ in range(10))
        tables = _sql(url, "SELECT count(*) AS n FROM migration")
        assert tables[0]["n"] >= 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
