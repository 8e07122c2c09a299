"""Login — domain: customer ID + PIN with lockout and per-IP throttling; operator login."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app import db, sessions
from app.security import rehash_if_needed, verify_secret_async
from app.tables.auth import LoginAttempt, Operator
from app.tables.customers import Customer

MAX_FAILED_PINS = 3
# A client IP that fails this often within the window is refused outright.
IP_WINDOW = timedelta(minutes=15)
IP_MAX_FAILURES = 20
MAX_ID_DIGITS = 10
# Serial and Integer columns are 32-bit on PostgreSQL: an ID above this names no row.
MAX_ROW_ID = 2**31 - 1
# Operators: this many failures in a row are free, then each try waits for a delay
# that doubles with every further failure, per username (a new IP does not reset it).
OPERATOR_FREE_FAILURES = 5
OPERATOR_BACKOFF = timedelta(seconds=15)
OPERATOR_BACKOFF_MAX = timedelta(minutes=15)
# The journal's reason for an attempt that has won its place and is being checked.
CHECKING = "checking"


class Outcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    BLOCKED = "blocked"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    subject_id: int | None = None
    token: str | None = None  # the new session's cookie value, when OK


def parse_customer_id(text: str) -> int | None:
    """The typed customer ID as a number; leading zeros and spaces are allowed."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def valid_pin_format(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8


async def _lock(*keys: str) -> None:
    """Inside db.transaction(): serialise the transactions that share a key, across
    processes. SQLite's BEGIN IMMEDIATE already holds its one write lock; PostgreSQL
    takes a transaction-scoped advisory lock per key (sorted, so two never deadlock)."""
    if db.is_sqlite():
        return
    for key in sorted(set(keys)):
        await LoginAttempt.raw("SELECT pg_advisory_xact_lock(hashtext({}))", key)


def _failed(ip: str, now: datetime):
    return ((LoginAttempt.ip == ip) & (LoginAttempt.success == False)  # noqa: E712
            & (LoginAttempt.at > now - IP_WINDOW))


async def ip_throttled(ip: str, now: datetime) -> bool:
    return await LoginAttempt.count().where(_failed(ip, now)) >= IP_MAX_FAILURES


async def _journal(kind: str, login: str, subject_id, ip: str, reason: str, now: datetime) -> int:
    rows = await LoginAttempt.insert(
        LoginAttempt(kind=kind, login=login[:50], subject_id=subject_id, ip=ip[:45],
                     success=False, reason=reason, at=now)
    ).returning(LoginAttempt.id)
    return rows[0]["id"]


async def _settle(attempt_id: int, reason: str, success: bool = False) -> None:
    await LoginAttempt.update({LoginAttempt.reason: reason, LoginAttempt.success: success}).where(
        LoginAttempt.id == attempt_id)


async def _claim_ip(kind: str, login: str, subject_id, ip: str, now: datetime) -> int | None:
    """Inside a transaction that holds the IP's lock: the journal row of an attempt that
    has won its place under the per-IP limit (it counts as a failure until settled),
    or None when the IP is throttled (that refusal is journalled and counts too)."""
    if await ip_throttled(ip, now):
        await _journal(kind, login, subject_id, ip, "throttled", now)
        return None
    return await _journal(kind, login, subject_id, ip, CHECKING, now)


async def _unknown_id_blocked(login: str) -> bool:
    # An ID with no account "blocks" after the same number of failures as a real one,
    # so the blocked message does not tell which IDs exist.
    failures = await LoginAttempt.count().where(
        (LoginAttempt.kind == "customer") & (LoginAttempt.login == login)
        & (LoginAttempt.success == False)  # noqa: E712
    )
    return failures >= MAX_FAILED_PINS


async def claim_pin_check(customer_id: int) -> dict | None:
    """Win one of the account's three PIN checks before argon2 runs: one conditional
    UPDATE, atomic across connections and processes. Returns the counter after this
    claim and the PIN hash, or None when the account is blocked or its three checks are
    taken (by requests still in flight). A claim counts as a failure until a right PIN
    resets the counter."""
    rows = await Customer.update({Customer.failed_logins: Customer.failed_logins + 1}).where(
        (Customer.id == customer_id) & (Customer.blocked == False)  # noqa: E712
        & (Customer.failed_logins < MAX_FAILED_PINS)
    ).returning(Customer.failed_logins, Customer.pin_hash)
    return rows[0] if rows else None


async def block_if_exhausted(customer_id: int, now: datetime) -> bool:
    """After a wrong PIN whose claim used the last check: block the account and end its
    sessions, in one transaction. Nothing happens when a right PIN reset the counter
    meanwhile. True when this call blocked it. Open streams notice within seconds, as
    they re-check their session (app/routes/live.py)."""
    async with db.transaction():
        rows = await Customer.update({Customer.blocked: True, Customer.blocked_at: now}).where(
            (Customer.id == customer_id) & (Customer.blocked == False)  # noqa: E712
            & (Customer.failed_logins >= MAX_FAILED_PINS)
        ).returning(Customer.id)
        if rows:
            await sessions.end_all(sessions.CUSTOMER, customer_id)
    return bool(rows)


async def customer_login(raw_id: str, pin: str, ip: str, now: datetime | None = None,
                         old_token: str | None = None) -> LoginResult:
    """Check an ID and PIN. Three wrong PINs in a row block the account until an operator
    unblocks it; a blocked account refuses even the right PIN. Every attempt is recorded.
    The place under the IP limit and one of the account's three checks are won before
    argon2 runs, and a right PIN opens its session (dropping `old_token`'s) in the same
    transaction that sees the account still unblocked, so no burst of parallel
    requests, in one process or several, gets more checks or a session on a blocked account."""
    now = now or datetime.now(timezone.utc)
    customer_id = parse_customer_id(raw_id)
    login = str(customer_id) if customer_id else (raw_id or "").strip()[:50]
    async with db.transaction():
        await _lock("ip:" + ip)
        attempt = await _claim_ip("customer", login, customer_id, ip, now)
        claim = await claim_pin_check(customer_id) if attempt and customer_id else None
    if attempt is None:
        return LoginResult(Outcome.THROTTLED)
    if claim is None:
        return await _refused(attempt, customer_id, login, pin)
    pin_ok = await verify_secret_async(claim["pin_hash"], (pin or "")[:64]) and valid_pin_format(pin)
    if not pin_ok:
        await _settle(attempt, "pin")
        blocked = claim["failed_logins"] >= MAX_FAILED_PINS and await block_if_exhausted(customer_id, now)
        return LoginResult(Outcome.BLOCKED if blocked else Outcome.INVALID, customer_id)
    async with db.transaction():
        fresh = await Customer.update({Customer.failed_logins: 0}).where(
            (Customer.id == customer_id) & (Customer.blocked == False)  # noqa: E712
        ).returning(Customer.id)
        if not fresh:
            await _settle(attempt, "blocked")
            return LoginResult(Outcome.BLOCKED, customer_id)
        await _settle(attempt, "", success=True)
        token = await sessions.start(sessions.CUSTOMER, customer_id, ip, old_token=old_token)
    await _rehash(Customer, Customer.pin_hash, customer_id, claim["pin_hash"], pin)
    return LoginResult(Outcome.OK, customer_id, token)


async def _refused(attempt: int, customer_id: int | None, login: str, pin: str) -> LoginResult:
    """No check was won: the account is blocked, its checks are taken, or there is no
    such account (which still costs one argon2 verify, so timing does not tell)."""
    exists = bool(customer_id) and await Customer.exists().where(Customer.id == customer_id)
    if exists:
        await _settle(attempt, "blocked")
        return LoginResult(Outcome.BLOCKED, customer_id)
    if await _unknown_id_blocked(login):
        await _settle(attempt, "unknown")
        return LoginResult(Outcome.BLOCKED)
    await verify_secret_async(None, (pin or "")[:64])
    await _settle(attempt, "unknown")
    return LoginResult(Outcome.INVALID)


async def _rehash(table, column, subject_id: int, old_hash: str, secret: str) -> None:
    """Replace a hash made with outdated argon2 parameters, now that the secret is known;
    only if it is still the one verified (a PIN changed meanwhile stays changed)."""
    new_hash = await rehash_if_needed(old_hash, secret)
    if new_hash:
        await table.update({column: new_hash}).where((table.id == subject_id) & (column == old_hash))


async def unblock_customer(customer_id: int) -> bool:
    """Lift a lockout and zero the failure counter; False when there is no such customer."""
    updated = await Customer.update(
        {Customer.blocked: False, Customer.blocked_at: None, Customer.failed_logins: 0}
    ).where(Customer.id == customer_id).returning(Customer.id)
    return bool(updated)


def operator_delay(failures: int) -> timedelta:
    """How long after the last failure an operator's next try waits, after `failures`
    failures in a row: nothing for the first few, then doubling, capped."""
    if failures < OPERATOR_FREE_FAILURES:
        return timedelta(0)
    return min(OPERATOR_BACKOFF * 2 ** min(failures - OPERATOR_FREE_FAILURES, 20), OPERATOR_BACKOFF_MAX)


async def _operator_backoff(username: str, now: datetime) -> bool:
    """True when this username is still waiting out its backoff. Failures count since its
    last success, whatever IP they came from; refusals do not count."""
    last_ok = await LoginAttempt.select(LoginAttempt.id).where(
        (LoginAttempt.kind == "operator") & (LoginAttempt.login == username)
        & (LoginAttempt.success == True)  # noqa: E712
    ).order_by(LoginAttempt.id, ascending=False).first()
    failed = ((LoginAttempt.kind == "operator") & (LoginAttempt.login == username)
              & LoginAttempt.reason.is_in(["password", CHECKING])
              & (LoginAttempt.id > (last_ok["id"] if last_ok else 0)))
    failures = await LoginAttempt.count().where(failed)
    if failures < OPERATOR_FREE_FAILURES:
        return False
    latest = await LoginAttempt.select(LoginAttempt.at).where(failed).order_by(
        LoginAttempt.at, ascending=False).first()
    return now < latest["at"] + operator_delay(failures)


async def operator_login(username: str, password: str, ip: str, now: datetime | None = None,
                         old_token: str | None = None) -> LoginResult:
    """Check an operator's password, throttled per IP and backed off per username; on
    success the session opens in the transaction that sees the account still active."""
    now = now or datetime.now(timezone.utc)
    username = (username or "").strip().lower()[:50]
    async with db.transaction():
        await _lock("ip:" + ip, "op:" + username)
        attempt = None
        if await _operator_backoff(username, now):
            await _journal("operator", username, None, ip, "backoff", now)
        else:
            attempt = await _claim_ip("operator", username, None, ip, now)
    if attempt is None:
        return LoginResult(Outcome.THROTTLED)
    row = await Operator.select(Operator.id, Operator.password_hash, Operator.active).where(
        Operator.username == username).first()
    ok = await verify_secret_async(row["password_hash"] if row else None, password or "")
    if not (row and ok):
        await _settle(attempt, "password")
        return LoginResult(Outcome.INVALID)
    async with db.transaction():
        if not await Operator.exists().where((Operator.id == row["id"]) & (Operator.active == True)):  # noqa: E712
            await _settle(attempt, "password")
            return LoginResult(Outcome.INVALID)
        await LoginAttempt.update({LoginAttempt.subject_id: row["id"], LoginAttempt.reason: "",
                                   LoginAttempt.success: True}).where(LoginAttempt.id == attempt)
        token = await sessions.start(sessions.OPERATOR, row["id"], ip, old_token=old_token)
    await _rehash(Operator, Operator.password_hash, row["id"], row["password_hash"], password)
    return LoginResult(Outcome.OK, row["id"], token)


async def login_history(customer_id: int, limit: int = 50) -> list[dict]:
    return await LoginAttempt.select().where(
        (LoginAttempt.kind == "customer") & (LoginAttempt.subject_id == customer_id)
    ).order_by(LoginAttempt.at, ascending=False).limit(limit)


async def last_login(customer_id: int, before: datetime | None = None) -> dict | None:
    """The successful login before the current one: the session of `before` (its start) is
    opened after its own login was recorded, so the latest success up to `before` is this very
    login and the previous one is the next. Without `before`, the latest success."""
    query = LoginAttempt.select(LoginAttempt.at, LoginAttempt.ip).where(
        (LoginAttempt.kind == "customer") & (LoginAttempt.subject_id == customer_id)
        & (LoginAttempt.success == True)  # noqa: E712
    )
    if before is None:
        return await query.order_by(LoginAttempt.at, ascending=False).first()
    query = query.where(LoginAttempt.at <= before)
    return await query.order_by(LoginAttempt.at, ascending=False).offset(1).first()
