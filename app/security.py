"""Secrets: argon2 hashing of PINs and passwords, random PINs and session tokens."""

from __future__ import annotations

import hashlib
import secrets

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
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


async def hash_secret_async(secret: str) -> str:
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    return await anyio.to_thread.run_sync(hash_secret, secret)


async def verify_secret_async(stored_hash: str | None, secret: str) -> bool:
    return await anyio.to_thread.run_sync(verify_secret, stored_hash, secret)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
