"""Lockout and throttling under parallel requests: every rule counts its outcome exactly.
The calls run concurrently through asyncio.gather; the tests connect per query, so each
call has its own connections and transactions, as separate requests would."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from app import auth, changes, sessions
from app.auth import Outcome
from app.tables.auth import LoginAttempt, Session
from app.tables.changes import AuditLog
from app.tables.customers import Customer
from tests import factories

pytestmark = pytest.mark.anyio


async def _state(customer_id: int) -> dict:
    return await Customer.select(Customer.failed_logins, Customer.blocked).where(
        Customer.id == customer_id).first()


async def _checked(customer_id: int) -> int:
    """PIN checks that ran argon2 and failed."""
    return await LoginAttempt.count().where(
        (LoginAttempt.subject_id == customer_id) & (LoginAttempt.reason == "pin"))


async def test_twenty_parallel_wrong_pins_count_exactly_three(customer):
    results = await asyncio.gather(*[auth.customer_login(str(customer.id), f"{500000 + i}", "10.0.0.1")
                                     for i in range(20)])
    assert await _state(customer.id) == {"failed_logins": 3, "blocked": True}
    assert await _checked(customer.id) == 3
    assert all(r.outcome in (Outcome.INVALID, Outcome.BLOCKED) for r in results)
    assert sum(r.outcome is Outcome.INVALID for r in results) == 2
    assert await LoginAttempt.count().where(LoginAttempt.subject_id == customer.id) == 20, "all recorded"


async def test_a_right_pin_raced_against_wrong_ones_never_gets_a_session_on_a_blocked_account():
    for round_ in range(4):
        who = await factories.customer(pin="482913")
        calls = [auth.customer_login(str(who.id), f"{600000 + i}", "10.0.1.%d" % round_) for i in range(8)]
        calls.insert(round_ * 2, auth.customer_login(str(who.id), who.pin, "10.0.1.%d" % round_))
        results = await asyncio.gather(*calls)
        ok = [r for r in results if r.outcome is Outcome.OK]
        state = await _state(who.id)
        live = await Session.count().where(Session.subject_id == who.id)
        # Three wrong checks in a row block; a right PIN that wins in between resets the
        # count (three mistakes in a row, not three in a lifetime), so each success opens
        # at most three more checks.
        assert await _checked(who.id) <= 3 * (1 + len(ok))
        if state["blocked"]:
            assert live == 0, "a blocked account has no session"
            for r in ok:
                assert await sessions.load(sessions.CUSTOMER, r.token, timedelta(minutes=30)) is None
        else:
            assert len(ok) == 1 and live == 1


async def test_blocking_ends_the_open_sessions(customer):
    token = (await auth.customer_login(str(customer.id), customer.pin, "10.0.2.1")).token
    assert await sessions.load(sessions.CUSTOMER, token, timedelta(minutes=30))
    for _ in range(3):
        await auth.customer_login(str(customer.id), "101010", "10.0.2.2")
    assert (await _state(customer.id))["blocked"]
    assert await sessions.load(sessions.CUSTOMER, token, timedelta(minutes=30)) is None


async def test_a_blocked_account_runs_no_argon2(customer, monkeypatch):
    for _ in range(3):
        await auth.customer_login(str(customer.id), "101010", "10.0.3.1")
    calls = []

    async def counting(stored, secret):
        calls.append(secret)
        return False

    monkeypatch.setattr(auth, "verify_secret_async", counting)
    assert (await auth.customer_login(str(customer.id), customer.pin, "10.0.3.1")).outcome is Outcome.BLOCKED
    assert calls == []


async def test_the_ip_throttle_lets_exactly_its_limit_through_in_parallel():
    results = await asyncio.gather(*[auth.customer_login(str(800000 + i), "123987", "192.0.2.9")
                                     for i in range(60)])
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.THROTTLED) == 60 - auth.IP_MAX_FAILURES
    assert outcomes.count(Outcome.INVALID) == auth.IP_MAX_FAILURES
    assert await LoginAttempt.count().where(LoginAttempt.reason == "unknown") == auth.IP_MAX_FAILURES


async def test_parallel_pin_changes_get_three_guesses(customer):
    now = datetime.now(timezone.utc)
    results = await asyncio.gather(*[changes.change_pin(customer.id, f"{700000 + i}", "583920", "583920", now)
                                     for i in range(20)])
    assert await _state(customer.id) == {"failed_logins": 3, "blocked": True}
    assert sum(r.blocked for r in results) >= 1 and all(not r.ok for r in results)
    assert await AuditLog.count().where((AuditLog.customer == customer.id) & (AuditLog.action == "blocked")) == 1
    assert await AuditLog.count().where(AuditLog.action == "pin_change") == 0


async def test_a_right_current_pin_resets_the_counter(customer):
    now = datetime.now(timezone.utc)
    await auth.customer_login(str(customer.id), "101010", "10.0.4.1")
    result = await changes.change_pin(customer.id, customer.pin, "583920", "583920", now)
    assert result.ok and await _state(customer.id) == {"failed_logins": 0, "blocked": False}
    assert (await auth.customer_login(str(customer.id), "583920", "10.0.4.1")).outcome is Outcome.OK


async def test_operator_backoff_per_username_whatever_the_ip(operator):
    now = datetime.now(timezone.utc)
    outcomes = [(await auth.operator_login(operator.username, "nope", f"198.51.100.{i}", now=now)).outcome
                for i in range(7)]
    assert outcomes == [Outcome.INVALID] * auth.OPERATOR_FREE_FAILURES + [Outcome.THROTTLED] * 2
    right = await auth.operator_login(operator.username, operator.password, "198.51.100.99", now=now)
    assert right.outcome is Outcome.THROTTLED, "the backoff holds against the right password too"
    later = now + auth.operator_delay(auth.OPERATOR_FREE_FAILURES) + timedelta(seconds=1)
    assert (await auth.operator_login(operator.username, "nope", "198.51.100.7", now=later)).outcome is Outcome.INVALID
    again = later + timedelta(seconds=1)
    assert (await auth.operator_login(operator.username, operator.password, "198.51.100.7", now=again)
            ).outcome is Outcome.THROTTLED, "the delay grew"
    much_later = later + auth.OPERATOR_BACKOFF_MAX
    ok = await auth.operator_login(operator.username.upper(), operator.password, "198.51.100.8", now=much_later)
    assert ok.outcome is Outcome.OK and ok.token
    assert (await auth.operator_login(operator.username, "nope", "198.51.100.9", now=much_later)
            ).outcome is Outcome.INVALID, "a success starts the count afresh"


async def test_parallel_operator_guesses_get_the_free_ones_only(operator):
    results = await asyncio.gather(*[auth.operator_login(operator.username, f"guess-{i}", f"203.0.113.{i}")
                                     for i in range(20)])
    assert [r.outcome for r in results].count(Outcome.INVALID) == auth.OPERATOR_FREE_FAILURES
    assert await LoginAttempt.count().where(LoginAttempt.reason == "password") == auth.OPERATOR_FREE_FAILURES


def test_operator_delay_grows_and_is_capped():
    delays = [auth.operator_delay(n) for n in range(auth.OPERATOR_FREE_FAILURES + 12)]
    assert delays[:auth.OPERATOR_FREE_FAILURES] == [timedelta(0)] * auth.OPERATOR_FREE_FAILURES
    growing = delays[auth.OPERATOR_FREE_FAILURES:]
    assert growing == sorted(growing) and growing[1] == 2 * growing[0]
    assert growing[-1] == auth.OPERATOR_BACKOFF_MAX
