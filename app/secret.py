"""Secret key — domain: the key that signs CSRF tokens, made once and kept in the database."""

from __future__ import annotations

import secrets

from app.tables.auth import AppSecret

NAME = "secret_key"
WHERE = "the database, table app_secret"


async def kept_secret_key() -> str:
    """The kept key: made at random by the first call and stored, returned unchanged by
    every later one, in any process (the insert is a no-op once a key exists), so a
    restart or another worker accepts the forms already open."""
    await AppSecret.insert(AppSecret(name=NAME, value=secrets.token_hex(32))).on_conflict(action="DO NOTHING")
    row = await AppSecret.select(AppSecret.value).where(AppSecret.name == NAME).first()
    return row["value"]
