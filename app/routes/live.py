"""Live helpdesk updates — routes: Litestar channels (in memory, or PostgreSQL LISTEN/NOTIFY across
processes) and the Server-Sent Event streams built on them."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import AsyncIterator, Awaitable, Callable, Iterator

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.response import ServerSentEventMessage

from app import db
from app.settings import Settings

CHANNEL = "wbok_helpdesk"
OPERATORS = "ops"
# An idle stream sends a comment this often, so proxies keep it open and a dead client
# is noticed; and it ends after LIFETIME so the session behind it is checked again
# (the browser reconnects at once, with Last-Event-ID).
KEEPALIVE_SECONDS = 20.0
LIFETIME_SECONDS = 600.0
# How often a stream asks whether its session still exists.
RECHECK_SECONDS = 3.0
RETRY_SECONDS = 2.0  # a stream whose read failed (database down) tries again this often


def customer_key(customer_id: int) -> str:
    return f"c{customer_id}"


class HelpdeskChannels(ChannelsPlugin):
    """Channels with one subscription per process, held for the process's life, fanned
    out in memory to the open streams. Subscribing per stream would LISTEN/UNLISTEN per
    connection, and an UNLISTEN of a stream that just closed can race the LISTEN of one
    that just opened, leaving the new stream deaf."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._hub: asyncio.Task | None = None
        self._hub_ready: asyncio.Event | None = None

    async def _fan_out(self) -> None:
        async with self.start_subscription([CHANNEL]) as subscriber:
            self._hub_ready.set()
            async for raw in subscriber.iter_events():
                event = json.loads(raw)
                # After the LISTEN connection was rebuilt every stream looks again: events
                # notified while it was down were not heard, but they are in the database.
                keys = list(self._waiters) if event.get("resync") else event.get("keys", [])
                for key in keys:
                    for wake in self._waiters.get(key, ()):
                        wake.set()

    async def ensure_listening(self) -> None:
        if self._hub is None or self._hub.done():
            self._hub_ready = asyncio.Event()
            self._hub = asyncio.create_task(self._fan_out())
        await self._hub_ready.wait()

    @contextmanager
    def waiter(self, key: str) -> Iterator[asyncio.Event]:
        wake = asyncio.Event()
        self._waiters[key].add(wake)
        try:
            yield wake
        finally:
            self._waiters[key].discard(wake)
            if not self._waiters[key]:
                del self._waiters[key]

    async def _on_shutdown(self) -> None:
        if hasattr(self._backend, "closing"):
            self._backend.closing = True  # pending NOTIFYs must not hold the shutdown
        if self._hub:
            self._hub.cancel()
        await super()._on_shutdown()


def channels_plugin(settings: Settings) -> HelpdeskChannels:
    """Channels on PostgreSQL NOTIFY when the database is PostgreSQL (so every process
    sees every event), in process memory otherwise (SQLite runs as one process)."""
    if settings.is_postgres:
        from app.routes.listen import ReconnectingPgBackend

        backend = ReconnectingPgBackend(dsn=settings.database_url)
    else:
        backend = MemoryChannelsBackend()
    return HelpdeskChannels(backend=backend, channels=[CHANNEL], subscriber_max_backlog=1000,
                            subscriber_backlog_strategy="dropleft")


def publish(channels: ChannelsPlugin, ticket_id: int, customer_id: int, public: bool) -> None:
    """Tell open streams that a ticket changed. Call after commit. The payload names the
    ticket and who may look: streams read what changed from the database, with their own
    scoping, so nothing private travels through NOTIFY (whose payload is limited to 8 KB)."""
    keys = [customer_key(customer_id), OPERATORS] if public else [OPERATORS]
    channels.publish(json.dumps({"ticket": ticket_id, "keys": keys}), [CHANNEL])


Fetch = Callable[[int], Awaitable[list[tuple[int, str]]]]


async def _alive(alive: Callable[[], Awaitable[bool]] | None) -> bool:
    """Whether the stream's session still lives; while the database is unreachable it is
    taken to (the stream waits for the database rather than ending)."""
    if alive is None:
        return True
    try:
        return await alive()
    except Exception as exc:
        if db.is_unavailable(exc):
            return True
        raise


async def stream(channels: HelpdeskChannels, key: str, fetch: Fetch, last_id: int,
                 keepalive: float = KEEPALIVE_SECONDS, lifetime: float = LIFETIME_SECONDS,
                 alive: Callable[[], Awaitable[bool]] | None = None,
                 recheck: float = RECHECK_SECONDS) -> AsyncIterator[ServerSentEventMessage]:
    """An SSE stream: `fetch(last_id)` returns new (id, html) items, checked once at the
    start and again whenever an event for `key` arrives. Listening first and reading
    second means no change between page render and connection is lost; `last_id` makes
    a reconnect resume where it left off (the browser sends it as Last-Event-ID).
    `alive()` is asked every `recheck` seconds and before each read: the stream ends
    when the session behind it has (logout, PIN change, block), whichever process ended it.
    While the database is unreachable the stream stays open and asks again every
    RETRY_SECONDS, so it catches up by itself when the database is back."""
    await channels.ensure_listening()
    with channels.waiter(key) as wake:
        yield ServerSentEventMessage(comment="ok", data=None, retry=1000)
        deadline = time.monotonic() + lifetime
        quiet_since = time.monotonic()
        while True:
            if not await _alive(alive):
                return
            try:
                items, wait = await fetch(last_id), keepalive
            except Exception as exc:
                if not db.is_unavailable(exc):
                    raise
                items, wait = [], min(keepalive, RETRY_SECONDS)
            for item_id, html in items:
                last_id = max(last_id, item_id)
                yield ServerSentEventMessage(data=html, id=last_id)
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), min(wait, recheck) if alive else wait)
                    wake.clear()
                    break
                except asyncio.TimeoutError:
                    now = time.monotonic()
                    if now > deadline or not await _alive(alive):
                        return
                    if wait < keepalive:  # the last read failed: read again now
                        break
                    if now - quiet_since >= keepalive or alive is None:
                        quiet_since = now
                        yield ServerSentEventMessage(comment="", data=None)
