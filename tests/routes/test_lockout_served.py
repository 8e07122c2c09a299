"""Lockout, throttle and client IP over real HTTP: bursts of parallel requests against served
apps, split across two server processes (which share the test database, PostgreSQL or SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.tables.auth import LoginAttempt, Session
from app.tables.customers import Customer
from tests import factories
from tests.conftest import _wait_up, free_port, run_sync

def run(query):
    async def go():
        return await query
    return run_sync(go())


ROOT = Path(__file__).resolve().parents[2]


def _serve(env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """uvicorn as `wbok serve` runs it: X-Forwarded-For left to the app (no proxy headers)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--no-proxy-headers",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "WBOK_DB_POOL_SIZE": "4", **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc)
    except Exception:
        proc.kill()
        raise
    return proc, url


@pytest.fixture(scope="module")
def servers():
    started = [_serve(), _serve()]
    yield [url for _, url in started]
    for proc, _ in started:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def behind_proxy():
    proc, url = _serve({"WBOK_TRUSTED_PROXIES": "127.0.0.1, 10.9.0.0/16"})
    yield url
    proc.terminate()
    proc.wait(10)


def _csrf(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        client.get("/login")
        return client.cookies["csrftoken"]


def _burst(bases: list[str], forms: list[dict], headers: list[dict] | None = None) -> list[httpx.Response]:
    """POST every form to /login at once, spread over the servers, each with its own client."""
    tokens = {base: _csrf(base) for base in bases}

    def post(i: int) -> httpx.Response:
        base = bases[i % len(bases)]
        with httpx.Client(base_url=base, timeout=30, follow_redirects=False,
                          cookies={"csrftoken": tokens[base]}) as client:
            return client.post("/login", data={**forms[i], "_csrf_token": tokens[base]},
                               headers=(headers or [{}] * len(forms))[i])

    with ThreadPoolExecutor(len(forms)) as pool:
        return list(pool.map(post, range(len(forms))))


def _state(customer_id: int) -> dict:
    return run(Customer.select(Customer.failed_logins, Customer.blocked).where(
        Customer.id == customer_id).first())


def test_twenty_parallel_wrong_pins_over_two_processes_count_three(servers):
    who = run(factories.customer())
    responses = _burst(servers, [{"customer_id": str(who.id), "pin": f"{300000 + i}"} for i in range(20)])
    codes = [r.status_code for r in responses]
    assert codes.count(401) == 2 and codes.count(403) == 18, codes
    assert _state(who.id) == {"failed_logins": 3, "blocked": True}
    assert run(LoginAttempt.count().where((LoginAttempt.subject_id == who.id) & (LoginAttempt.reason == "pin"))) == 3


def test_a_right_pin_in_a_burst_over_two_processes_never_outlives_the_block(servers):
    for round_ in range(3):
        run(LoginAttempt.delete(force=True))  # every round within the IP's limit
        who = run(factories.customer())
        forms = [{"customer_id": str(who.id), "pin": f"{310000 + i}"} for i in range(10)]
        forms.insert(round_ * 3, {"customer_id": str(who.id), "pin": who.pin})
        responses = _burst(servers, forms)
        winners = [r for r in responses if r.status_code == 303]
        if _state(who.id)["blocked"]:
            assert run(Session.count().where(Session.subject_id == who.id)) == 0
            for r in winners:
                with httpx.Client(base_url=servers[0], cookies=r.cookies, follow_redirects=False) as c:
                    assert c.get("/info").status_code == 303, "a session granted in the burst is dead"
        else:
            assert len(winners) == 1
        assert all(r.status_code in (303, 401, 403) for r in responses)


def test_the_ip_throttle_holds_across_two_processes(servers):
    responses = _burst(servers, [{"customer_id": str(900000 + i), "pin": "123987"} for i in range(60)])
    codes = [r.status_code for r in responses]
    assert codes.count(401) == 20 and codes.count(429) == 40, codes


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(servers):
    forms = [{"customer_id": str(910000 + i), "pin": "123987"} for i in range(24)]
    spoof = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(24)]
    codes = [r.status_code for r in _burst(servers[:1], forms, spoof)]
    assert codes.count(401) == 20 and codes.count(429) == 4
    ips = run(LoginAttempt.select(LoginAttempt.ip).where(LoginAttempt.login.like("91%")))
    assert {r["ip"] for r in ips} == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_real_client_is_counted(behind_proxy):
    forms = [{"customer_id": str(920000 + i), "pin": "123987"} for i in range(22)]
    # The client wrote the left hop itself; the trusted proxies (127.0.0.1, 10.9.x.x) appended theirs.
    via = [{"X-Forwarded-For": "6.6.6.6, 198.51.100.23, 10.9.0.5"}] * 21 + [{"X-Forwarded-For": "198.51.100.24"}]
    codes = [r.status_code for r in _burst([behind_proxy], forms, via)]
    assert codes[-1] == 401, "another client behind the same proxy is not throttled"
    assert sorted(codes[:21]).count(429) == 1 and codes[:21].count(401) == 20
    ips = run(LoginAttempt.select(LoginAttempt.ip).where(LoginAttempt.login.like("92%")))
    assert {r["ip"] for r in ips} == {"198.51.100.23", "198.51.100.24"}
