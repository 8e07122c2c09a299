"""Secrets: argon2 hashing of PINs and passwords, random PINs and session tokens."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import weakref

import anyio
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's minimum configuration (19 MiB, 2 passes, 1 lane): about 20 ms of
# CPU a hash, so one core verifies some 40 logins a second. RFC 9106's low-memory option
# (64 MiB, t=3, p=4, argon2-cffi's default) costs about 180 ms of CPU, five logins a second.
# Hashes made with other parameters still verify and are replaced at the next successful
# login (needs_rehash).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                         parallelism=ARGON2_PARALLELISM, type=Type.ID)
# At most this many hashes run at once (in threads); the rest queue. Half the cores this
# process may use, at least one, so that a burst of logins leaves the pages a core's share.
HASH_CONCURRENCY = max(1, len(os.sched_getaffinity(0)) // 2) if hasattr(os, "sched_getaffinity") else 1
_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Verified when a login names no account, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash("wbok-dummy-secret")

PIN_LENGTH = 6
TRIVIAL_PINS = frozenset(
    {"0000", "1111", "1234", "4321", "123456", "654321", "000000", "111111", "12345678"}
    | {d * n for d in "0123456789" for n in range(4, 9)}
)


def generate_pin() -> str:
    """A 6-digit PIN from the OS's cryptographic source, never a trivial one."""
    while True:
        pin = f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"
        if pin not in TRIVIAL_PINS:
            return pin


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Check a secret against its argon2 hash; a missing hash still costs one verify."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str | None) -> bool:
    """True when a hash was made with other parameters than today's (or is not argon2)."""
    if not stored_hash:
        return False
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


def _limiter() -> anyio.CapacityLimiter:
    """The hashing limiter of the running event loop (tests run many loops)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(HASH_CONCURRENCY)
    return limiter


async def hash_secret_async(secret: str) -> str:
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop, a few at a time.
    return await anyio.to_thread.run_sync(hash_secret, secret, limiter=_limiter())


async def verify_secret_async(stored_hash: str | None, secret: str) -> bool:
    return await anyio.to_thread.run_sync(verify_secret, stored_hash, secret, limiter=_limiter())


async def rehash_if_needed(stored_hash: str | None, secret: str) -> str | None:
    """After a successful verify: the secret hashed anew when `stored_hash` has outdated
    parameters, else None. The caller stores it (only if the old hash is still there)."""
    return await hash_secret_async(secret) if needs_rehash(stored_hash) else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
