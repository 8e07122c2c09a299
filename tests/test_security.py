"""Secrets: argon2id parameters, rehash of old hashes at login, bounded hashing concurrency."""

from __future__ import annotations

import threading
import time

import anyio
import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from app import auth, security
from app.tables.auth import Operator
from app.tables.customers import Customer
from tests import factories

pytestmark = pytest.mark.anyio

OLD = PasswordHasher()  # argon2-cffi's defaults: 64 MiB, t=3, p=4, as hashes were made before


def test_new_hashes_are_argon2id_at_no_less_than_owasp_minimum():
    params = extract_parameters(security.hash_secret("482913"))
    assert params.type is Type.ID
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)


def test_old_hashes_still_verify_and_need_a_rehash():
    old = OLD.hash("482913")
    assert security.verify_secret(old, "482913")
    assert security.needs_rehash(old)
    assert not security.needs_rehash(security.hash_secret("482913"))
    assert security.needs_rehash("not-an-argon2-hash")
    assert not security.needs_rehash(None)


async def _stored_pin_hash(customer_id: int) -> str:
    return (await Customer.select(Customer.pin_hash).where(Customer.id == customer_id).first())["pin_hash"]


async def test_successful_login_rehashes_an_old_pin_hash_once():
    customer = await factories.customer(pin="482913")
    old = OLD.hash("482913")
    await Customer.update({Customer.pin_hash: old}).where(Customer.id == customer.id)

    wrong = await auth.customer_login(str(customer.id), "111222", "10.0.0.1")
    assert wrong.outcome is auth.Outcome.INVALID
    assert await _stored_pin_hash(customer.id) == old  # a wrong PIN changes nothing

    ok = await auth.customer_login(str(customer.id), "482913", "10.0.0.1")
    assert ok.outcome is auth.Outcome.OK
    new = await _stored_pin_hash(customer.id)
    assert new != old and not security.needs_rehash(new) and security.verify_secret(new, "482913")

    assert (await auth.customer_login(str(customer.id), "482913", "10.0.0.1")).outcome is auth.Outcome.OK
    assert await _stored_pin_hash(customer.id) == new  # up to date: left alone


async def test_rehash_does_not_undo_a_pin_changed_meanwhile():
    customer = await factories.customer(pin="482913")
    old = OLD.hash("482913")
    changed = security.hash_secret("739154")
    await Customer.update({Customer.pin_hash: changed}).where(Customer.id == customer.id)
    await auth._rehash(Customer, Customer.pin_hash, customer.id, old, "482913")
    assert await _stored_pin_hash(customer.id) == changed


async def test_operator_login_rehashes_an_old_password_hash():
    operator = await factories.operator(password="tajne-haslo-1")
    old = OLD.hash("tajne-haslo-1")
    await Operator.update({Operator.password_hash: old}).where(Operator.id == operator.id)
    assert (await auth.operator_login(operator.username, "tajne-haslo-1", "10.0.0.2")).outcome is auth.Outcome.OK
    row = await Operator.select(Operator.password_hash).where(Operator.id == operator.id).first()
    assert row["password_hash"] != old and not security.needs_rehash(row["password_hash"])


async def test_hashes_beyond_the_limit_queue_instead_of_running_at_once(monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()
    real = security.hash_secret

    def slow_hash(secret: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            return real(secret)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(security, "hash_secret", slow_hash)
    results: list[str] = []

    async def one(i: int) -> None:
        results.append(await security.hash_secret_async(f"pin{i}"))

    async with anyio.create_task_group() as tg:
        for i in range(3 * security.HASH_CONCURRENCY + 2):
            tg.start_soon(one, i)
    assert len(results) == 3 * security.HASH_CONCURRENCY + 2  # all done, queued not refused
    assert peak == security.HASH_CONCURRENCY
