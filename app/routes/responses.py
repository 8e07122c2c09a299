"""Shared responses — routes: PDFs and event streams, for the customer and the admin routes alike."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.response import Response

from app.auth import MAX_ROW_ID

# Event streams: never cached, never buffered by a proxy (nginx honours X-Accel-Buffering).
NO_STORE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def pdf_response(content: bytes, filename: str) -> Response:
    """Inline PDF with a download name. Not stored by the browser: on a shared computer
    the next person must not get the last one's invoices from its cache (the server
    keeps rendered invoices instead, see app/invoices.py)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    })


def last_event_id(request: Request, after: int) -> int:
    """Where a stream resumes: the browser's Last-Event-ID on a reconnect, else `after`.
    An ID beyond the column's range names nothing: 404, before the database sees it."""
    value = request.headers.get("last-event-id", "").strip()
    resume = int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else max(after, 0)
    if resume > MAX_ROW_ID or len(value) > 12:
        raise NotFoundException()
    return resume
