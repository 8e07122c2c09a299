"""Traffic collectors — routes: POST /api/traffic with a bearer token, the same payload as the CLI."""

from __future__ import annotations

import hmac

from litestar import Controller, Request, post
from litestar.response import Response

from app import traffic
from app.routes._session import settings_of

COLLECTOR_PATH = "/api/traffic"


def _authorized(request: Request) -> bool | None:
    """None when collection is off (no token configured); compared in constant time."""
    token = settings_of(request).collector_token
    if not token:
        return None
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class CollectorController(Controller):
    path = COLLECTOR_PATH

    @post("/", status_code=200)
    async def ingest_traffic(self, request: Request) -> Response:
        allowed = _authorized(request)
        if allowed is None:
            return Response("collector endpoint is off\n", status_code=404, media_type="text/plain")
        if not allowed:
            return Response("unauthorized\n", status_code=401, media_type="text/plain",
                            headers={"WWW-Authenticate": "Bearer"})
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            result = await traffic.ingest(body)
        except traffic.TrafficError as exc:
            return Response(f"{exc}\n", status_code=409, media_type="text/plain")
        lines = [result.summary()] + [f"line {b.number}: {b.reason}: {b.text}" for b in result.bad]
        return Response("\n".join(lines) + "\n", media_type="text/plain")
