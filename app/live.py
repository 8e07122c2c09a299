"""Live helpdesk updates: Litestar channels (in memory, or PostgreSQL LISTEN/NOTIFY across
processes) and the Server-Sent Event streams built on them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator, Awaitable, Callable

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.response import ServerSentEventMessage

from app.settings import Settings

OPERATORS = "helpdesk_ops"
# An idle stream sends a comment this often, so proxies keep it open and a dead client
# is noticed; and it ends after LIFETIME so the session behind it is checked again
# (the browser reconnects at once, with Last-Event-ID).
KEEPALIVE_SECONDS = 20.0
LIFETIME_SECONDS = 600.0


def customer_channel(customer_id: int) -> str:
    return f"helpdesk_c{customer_id}"


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    """Channels on PostgreSQL NOTIFY when the database is PostgreSQL (so every process
    sees every event), in process memory otherwise (SQLite runs as one process)."""
    if settings.is_postgres:
        from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

        backend = AsyncPgChannelsBackend(dsn=settings.database_url)
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True,
                          subscriber_max_backlog=100, subscriber_backlog_strategy="dropleft")


def publish(channels: ChannelsPlugin, ticket_id: int, customer_id: int, public: bool) -> None:
    """Tell open streams that a ticket changed. Call after commit. The payload names the
    ticket only: streams read what changed from the database, with their own scoping,
    so nothing private travels through NOTIFY (whose payload is limited to 8 KB anyway)."""
    data = json.dumps({"ticket": ticket_id})
    channels.publish(data, [customer_channel(customer_id), OPERATORS] if public else [OPERATORS])


Fetch = Callable[[int], Awaitable[list[tuple[int, str]]]]


async def stream(channels: ChannelsPlugin, channel: str, fetch: Fetch, last_id: int,
                 keepalive: float = KEEPALIVE_SECONDS, lifetime: float = LIFETIME_SECONDS
                 ) -> AsyncIterator[ServerSentEventMessage]:
    """An SSE stream: `fetch(last_id)` returns new (id, html) items, checked once at the
    start and again whenever the channel reports a change. Subscribing first and reading
    second means no change between page render and connection is lost; `last_id` makes
    a reconnect resume where it left off (the browser sends it as Last-Event-ID)."""
    async with channels.start_subscription([channel]) as subscriber:
        wake = asyncio.Event()

        async def pump() -> None:
            async for _ in subscriber.iter_events():
                wake.set()

        pumping = asyncio.create_task(pump())
        try:
            yield ServerSentEventMessage(comment="ok", data=None, retry=1000)
            deadline = time.monotonic() + lifetime
            while True:
                for item_id, html in await fetch(last_id):
                    last_id = max(last_id, item_id)
                    yield ServerSentEventMessage(data=html, id=last_id)
                try:
                    await asyncio.wait_for(wake.wait(), keepalive)
                    wake.clear()
                except asyncio.TimeoutError:
                    if time.monotonic() > deadline:
                        return
                    yield ServerSentEventMessage(comment="", data=None)
        finally:
            pumping.cancel()
