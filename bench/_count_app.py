"""WBOK with a hook on the database engine that counts the queries of each request and
answers them in an `X-Bench-Queries` header. Used only by bench/fragment_latency.py's
query count pass, never for the timed runs."""

from __future__ import annotations

import contextvars

from piccolo.engine.base import Engine

from app.main import create_app as create_wbok

_count: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("bench_queries", default=None)


def _hook(cls: type) -> None:
    original = cls.run_querystring

    async def run_querystring(self, querystring, *args, **kwargs):
        box = _count.get()
        if box is not None:
            box[0] += 1
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = run_querystring


def _hook_all() -> None:
    seen = set()
    stack = [Engine]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "run_querystring" in vars(cls) and cls not in seen:
            seen.add(cls)
            _hook(cls)


class CountQueries:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        box = [0]
        _count.set(box)

        async def counted(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-bench-queries", str(box[0]).encode())]
            await send(message)

        await self.app(scope, receive, counted)


def create_app():
    from piccolo.engine import postgres, sqlite  # noqa: F401 - the engine classes to hook

    import app.db  # noqa: F401 - PooledSQLiteEngine

    _hook_all()
    return CountQueries(create_wbok())
