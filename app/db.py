"""Database: engine construction, migrations and transactions for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import weakref
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory


class DatabaseURLError(ValueError):
    """WBOK_DATABASE_URL cannot be understood or reached."""


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine opens a connection, and a thread, for every query outside a
    transaction; in the web app that was most of a page's cost. After `start_pool(n)` this
    one keeps up to n autocommit connections open per event loop and reuses them.
    Transactions still get a connection of their own, as in Piccolo.

    With the pool on, a SELECT outside a transaction runs at once on a read-only connection
    of the event loop's own: a page's read takes tens of microseconds in SQLite, while the
    three hops to aiosqlite's thread (execute, fetch, close) cost far more. In WAL mode
    readers never wait for the writer; should the database still be busy, the read is not
    waited for on the loop (busy timeout 0) but goes to the pooled connections like a write."""

    __slots__ = ("_pool_size", "_pools", "_readers")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pool_size = 0
        self._pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def start_pool(self, size: int) -> None:
        self._pool_size = size

    async def close_pool(self) -> None:
        self._pool_size = 0
        loop = asyncio.get_running_loop()
        idle, _ = self._pools.pop(loop, (asyncio.Queue(), []))
        while not idle.empty():
            await idle.get_nowait().close()
        reader = self._readers.pop(loop, None)
        if reader is not None:
            reader.close()

    def _reader(self) -> sqlite3.Connection:
        loop = asyncio.get_running_loop()
        reader = self._readers.get(loop)
        if reader is None:
            reader = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0, "check_same_thread": False})
            reader.row_factory = dict_factory
            reader.execute("PRAGMA query_only = 1")
            self._readers[loop] = reader
        return reader

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if not self._pool_size:
            return await super()._run_in_new_connection(query, args, query_type, table)
        if query_type != "insert" and query.lstrip()[:6].upper() == "SELECT":
            try:
                return self._reader().execute(query, args or []).fetchall()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
        idle, opened = self._pools.setdefault(asyncio.get_running_loop(), (asyncio.Queue(), []))
        if idle.empty() and len(opened) < self._pool_size:
            opened.append(None)  # reserve the place before awaiting
            idle.put_nowait(await self.get_connection())
        connection = await idle.get()
        try:
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        finally:
            idle.put_nowait(connection)


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
        return PooledSQLiteEngine(path=path, timeout=30, check_same_thread=False)
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


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached right now:
    refused or dropped connections, a server shutting down or starting up, a connect
    timeout. Such a request deserves "try again shortly" (503), not a 500."""
    import asyncpg

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, asyncpg.QueryCanceledError):
            return False
        if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
                            asyncpg.CannotConnectNowError, ConnectionError, TimeoutError)):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
            return True
        if isinstance(exc, asyncpg.InternalClientError) and "another operation" in str(exc):
            return True  # a pooled connection left mid-query by the outage, seen just after it
        if isinstance(exc, OSError) and exc.errno is not None and exc.__class__ is OSError:
            return True  # e.g. "Multiple exceptions: [Errno 111] Connect call failed"
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# A connection attempt gives up after this many seconds, so a request during an outage
# fails fast with a 503 instead of hanging (asyncpg's own default is 60 s).
CONNECT_TIMEOUT = 5


async def start_pool(size: int = 10) -> None:
    """Keep connections open for this process (size 0: a connection per query). A process
    that starts while PostgreSQL is down still starts: its pool connects on first use, and
    requests get 503 until then."""
    import logging

    engine = db()
    if size <= 0:
        return
    if isinstance(engine, PostgresEngine):
        try:
            await engine.start_connection_pool(min_size=min(2, size), max_size=size,
                                               timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            logging.getLogger("wbok").warning("database unreachable at start-up (%s); retrying on use", exc)
            engine.pool = None
            await engine.start_connection_pool(min_size=0, max_size=size, timeout=CONNECT_TIMEOUT)
    elif isinstance(engine, PooledSQLiteEngine):
        engine.start_pool(min(size, 4))  # one writer at a time anyway; reads are short


async def close_pool() -> None:
    engine = db()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()
