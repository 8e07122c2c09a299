"""Login — domain: customer ID + PIN with lockout and per-IP throttling; operator login."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app import db
from app.security import rehash_if_needed, verify_secret_async
from app.tables.auth import LoginAttempt, Operator
from app.tables.customers import Customer

MAX_FAILED_PINS = 3
# A client IP that fails this often within the window is refused outright.
IP_WINDOW = timedelta(minutes=15)
IP_MAX_FAILURES = 20
MAX_ID_DIGITS = 10


class Outcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    BLOCKED = "blocked"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    subject_id: int | None = None


def parse_customer_id(text: str) -> int | None:
    """The typed customer ID as a number; leading zeros and spaces are allowed."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value or None


def valid_pin_format(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8


async def ip_throttled(ip: str, now: datetime) -> bool:
    failures = await LoginAttempt.count().where(
        (LoginAttempt.ip == ip) & (LoginAttempt.success == False)  # noqa: E712
        & (LoginAttempt.at > now - IP_WINDOW)
    )
    return failures >= IP_MAX_FAILURES


async def _record(kind: str, login: str, subject_id, ip: str, success: bool, reason: str, now):
    await LoginAttempt.insert(
        LoginAttempt(kind=kind, login=login[:50], subject_id=subject_id, ip=ip[:45],
                     success=success, reason=reason, at=now)
    )


async def _unknown_id_blocked(login: str) -> bool:
    # An ID with no account "blocks" after the same number of failures as a real one,
    # so the blocked message does not tell which IDs exist.
    failures = await LoginAttempt.count().where(
        (LoginAttempt.kind == "customer") & (LoginAttempt.login == login)
        & (LoginAttempt.success == False)  # noqa: E712
    )
    return failures >= MAX_FAILED_PINS


async def customer_login(raw_id: str, pin: str, ip: str, now: datetime | None = None) -> LoginResult:
    """Check an ID and PIN. Three wrong PINs in a row block the account until an operator
    unblocks it; a blocked account refuses even the right PIN. Every attempt is recorded."""
    now = now or datetime.now(timezone.utc)
    customer_id = parse_customer_id(raw_id)
    login = str(customer_id) if customer_id else (raw_id or "").strip()[:50]
    if await ip_throttled(ip, now):
        await _record("customer", login, customer_id, ip, False, "throttled", now)
        return LoginResult(Outcome.THROTTLED)
    row = None
    if customer_id:
        row = await Customer.select(Customer.id, Customer.pin_hash, Customer.blocked).where(
            Customer.id == customer_id).first()
    # Always one argon2 verify, so the timing does not tell whether the ID exists.
    pin_ok = await verify_secret_async(row["pin_hash"] if row else None, (pin or "")[:64])
    pin_ok = pin_ok and valid_pin_format(pin)
    if row is None:
        await _record("customer", login, None, ip, False, "unknown", now)
        return LoginResult(Outcome.BLOCKED if await _unknown_id_blocked(login) else Outcome.INVALID)
    if row["blocked"]:
        await _record("customer", login, customer_id, ip, False, "blocked", now)
        return LoginResult(Outcome.BLOCKED, customer_id)
    if pin_ok:
        await Customer.update({Customer.failed_logins: 0}).where(Customer.id == customer_id)
        await _rehash(Customer, Customer.pin_hash, customer_id, row["pin_hash"], pin)
        await _record("customer", login, customer_id, ip, True, "", now)
        return LoginResult(Outcome.OK, customer_id)
    return await _register_failure(customer_id, login, ip, now)


async def _register_failure(customer_id: int, login: str, ip: str, now: datetime) -> LoginResult:
    async with db.transaction():
        # One UPDATE increments atomically, so concurrent wrong PINs cannot skip the block.
        await Customer.update({Customer.failed_logins: Customer.failed_logins + 1}).where(
            Customer.id == customer_id)
        failed = await Customer.select(Customer.failed_logins).where(
            Customer.id == customer_id).first()
        blocked = failed["failed_logins"] >= MAX_FAILED_PINS
        if blocked:
            await Customer.update({Customer.blocked: True, Customer.blocked_at: now}).where(
                Customer.id == customer_id)
        await _record("customer", login, customer_id, ip, False, "pin", now)
    return LoginResult(Outcome.BLOCKED if blocked else Outcome.INVALID, customer_id)


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


async def operator_login(username: str, password: str, ip: str, now: datetime | None = None) -> LoginResult:
    now = now or datetime.now(timezone.utc)
    username = (username or "").strip()[:50]
    if await ip_throttled(ip, now):
        await _record("operator", username, None, ip, False, "throttled", now)
        return LoginResult(Outcome.THROTTLED)
    row = await Operator.select(Operator.id, Operator.password_hash, Operator.active).where(
        Operator.username == username).first()
    ok = await verify_secret_async(row["password_hash"] if row else None, password or "")
    if row and ok and row["active"]:
        await _rehash(Operator, Operator.password_hash, row["id"], row["password_hash"], password)
        await _record("operator", username, row["id"], ip, True, "", now)
        return LoginResult(Outcome.OK, row["id"])
    await _record("operator", username, row["id"] if row else None, ip, False, "password", now)
    return LoginResult(Outcome.INVALID)


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
