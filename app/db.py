"""Database: engine construction, migrations and transactions for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


class DatabaseURLError(ValueError):
    """WBOK_DATABASE_URL cannot be understood or reached."""


def engine_for_url(url: str) -> Engine:
    """Build a Piccolo engine from `sqlite:///path` or `postgresql://user@host:port/db`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url.split("://", 1)[1].lstrip("/")) if parts.netloc == "" else ""
        if url.startswith("sqlite:////"):
            path = "/" + path
        if not path:
            raise DatabaseURLError(f"Nieprawidłowy adres bazy SQLite: {url}")
        # A generous busy timeout: writers queue instead of failing at once.
        return SQLiteEngine(path=path, timeout=30, check_same_thread=False)
    if parts.scheme in {"postgres", "postgresql"}:
        return PostgresEngine(
            config={
                "host": parts.hostname or "localhost",
                "port": parts.port or 5432,
                "user": unquote(parts.username or "postgres"),
                "password": unquote(parts.password or "") or None,
                "database": parts.path.lstrip("/") or "postgres",
            }
        )
    raise DatabaseURLError(f"Nieobsługiwany adres bazy danych: {url!r} (sqlite:/// lub postgresql://)")


def db() -> Engine:
    from app.tables.customers import Customer

    return Customer._meta.db


def is_sqlite() -> bool:
    return isinstance(db(), SQLiteEngine)


def transaction():
    """A write transaction. SQLite takes the write lock up front (BEGIN IMMEDIATE):
    read-then-write transactions under deferred locking fail with "database is locked"."""
    engine = db()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def check_connection() -> None:
    """Raise DatabaseURLError with one clear line when the database does not answer."""
    engine = db()
    try:
        if isinstance(engine, SQLiteEngine):
            # WAL lets readers run beside the one writer; the mode is stored in the file.
            conn = sqlite3.connect(engine.path, timeout=5)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
        else:
            await engine._run_in_new_connection("SELECT 1")
    except Exception as exc:  # any driver error: the message is what the operator needs
        raise DatabaseURLError(f"Baza danych nie odpowiada ({type(exc).__name__}: {exc})") from exc


async def migrate() -> None:
    """Apply every pending Piccolo migration (idempotent)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    await check_connection()
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints its progress
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(result.message)


async def start_pool(size: int = 10) -> None:
    engine = db()
    if isinstance(engine, PostgresEngine) and size > 0:
        await engine.start_connection_pool(max_size=size)


async def close_pool() -> None:
    engine = db()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
