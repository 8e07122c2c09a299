"""Live helpdesk updates — routes: a Litestar channels backend on PostgreSQL LISTEN/NOTIFY
that survives its connection dropping (a database restart, a killed backend, a network cut).

Litestar's own asyncpg backend connects once at start-up: when that connection dies, the
process hears nothing more until it is restarted, and a failed NOTIFY kills the plugin's
publishing task. This one keeps one connection per process, probes it, and rebuilds it
with backoff. After every (re)connect it delivers RESYNC on each channel: the listeners
read what changed from the database themselves (by Last-Event-ID), so whatever was
notified while the connection was down is caught up, not lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncGenerator, Iterable

import asyncpg
from litestar.channels import ChannelsBackend

log = logging.getLogger("wbok.live")
RESYNC = b'{"resync": true}'
APPLICATION_NAME = "wbok-listen"  # how the connection shows in pg_stat_activity
PROBE_SECONDS = 5.0  # a silent drop (no TCP reset) is noticed within this
BACKOFF_SECONDS = (0.2, 2.0)  # first and longest wait between reconnect attempts
PUBLISH_GIVE_UP_SECONDS = 60.0  # a NOTIFY waits this long for the connection to come back


class ReconnectingPgBackend(ChannelsBackend):
    def __init__(self, dsn: str, connect_timeout: float = 5.0) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the shared connection
        self._connected = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.connects = 0  # how many times the connection was (re)built
        self.closing = False  # set at shutdown: a NOTIFY no longer waits for the database

    async def on_startup(self) -> None:
        self._queue = asyncio.Queue()
        self._lock, self._connected = asyncio.Lock(), asyncio.Event()
        # Never blocks the start-up: a process started during an outage serves 503s and
        # starts listening as soon as the database answers.
        self._task = asyncio.create_task(self._keep_connected())

    async def on_shutdown(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._channels.clear()
        self._queue = None

    async def _keep_connected(self) -> None:
        delay = BACKOFF_SECONDS[0]
        while True:
            try:
                conn = await self._connect()
            except Exception as exc:  # any driver error: keep trying, quietly after the first
                if delay == BACKOFF_SECONDS[0]:
                    log.warning("LISTEN connection cannot be opened (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_SECONDS[1])
                continue
            delay = BACKOFF_SECONDS[0]
            try:
                await self._hold(conn)
            finally:
                self._connected.clear()
                self._conn = None
                conn.terminate()
            log.warning("LISTEN connection lost; reconnecting")

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(dsn=self._dsn, timeout=self._connect_timeout,
                                     server_settings={"application_name": APPLICATION_NAME})
        try:
            for channel in self._channels:
                await conn.add_listener(channel, self._listener)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _hold(self, conn: asyncpg.Connection) -> None:
        """Serve on `conn` until it is lost: the server closed it, or a probe failed."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        self._conn = conn
        self.connects += 1
        self._connected.set()
        for channel in self._channels:
            self._queue.put_nowait((channel, RESYNC))
        while not lost.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
                return
            try:
                async with self._lock:
                    await conn.execute("SELECT 1", timeout=PROBE_SECONDS)
            except Exception:
                return

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """NOTIFY on each channel; while the connection is down, wait for it (bounded).
        Never raises: an exception would end the plugin's publishing task for good."""
        text = data.decode("utf-8")
        loop = asyncio.get_running_loop()
        give_up = loop.time() + PUBLISH_GIVE_UP_SECONDS
        while loop.time() < give_up and not self.closing:
            conn = self._conn
            if conn is not None:
                try:
                    async with self._lock:
                        for channel in channels:
                            await conn.execute("SELECT pg_notify($1, $2)", channel, text)
                    return
                except Exception as exc:
                    log.warning("NOTIFY failed (%s); retrying", exc)
                    await asyncio.sleep(BACKOFF_SECONDS[0])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._connected.wait(), min(1.0, max(0.0, give_up - loop.time())))
        log.error("NOTIFY dropped after %.0f s without a database connection", PUBLISH_GIVE_UP_SECONDS)

    async def subscribe(self, channels: Iterable[str]) -> None:
        for channel in set(channels) - self._channels:
            self._channels.add(channel)
            if self._conn is not None:
                with contextlib.suppress(Exception):  # a dead connection: re-added on reconnect
                    async with self._lock:
                        await self._conn.add_listener(channel, self._listener)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        for channel in set(channels) & self._channels:
            self._channels.discard(channel)
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    async with self._lock:
                        await self._conn.remove_listener(channel, self._listener)

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        while self._queue is not None:
            channel, message = await self._queue.get()
            if channel in self._channels:
                yield channel, message

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError()

    def _listener(self, connection: asyncpg.Connection, pid: int, channel: str, payload: object) -> None:
        if self._queue is not None and isinstance(payload, str):
            self._queue.put_nowait((channel, payload.encode("utf-8")))
