"""Wiadomości — routes: the customer's messages from the operator."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import messages
from app.routes._render import after_post, render
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from app.sessions import ActiveSession


def _back(request: Request, form_next: str, fallback: str) -> str:
    """Where the banner was confirmed: the Referer (current even after htmx moved the
    address bar), else the form's `next`; only paths on this site."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return form_next if form_next.startswith("/") and not form_next.startswith("//") else fallback


class MessagesController(Controller):
    path = "/messages"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_messages(self, request: Request, session: NamedDependency[ActiveSession],
                            category: FromQuery[str] = "") -> Template:
        category = category if category in messages.CATEGORIES else ""
        rows = await messages.inbox(session.subject_id, category or None)
        context = {**await panel_context(session), "rows": rows, "category": category,
                   "categories": messages.CATEGORIES}
        return render(request, "messages/page.html", context, fragment="messages/_list.html")

    @get("/{message_id:int}")
    async def show_message(self, request: Request, session: NamedDependency[ActiveSession],
                           message_id: FromPath[int]) -> Template:
        message = await messages.open_message(session.subject_id, message_id, datetime.now(timezone.utc))
        if message is None:
            raise NotFoundException()
        # Read before the shell is built, so the badge already counts it as read; a fragment
        # carries the badge out of band (see _message.html), as the tab bar is outside its target.
        context = {**await panel_context(session), "message": message, "categories": messages.CATEGORIES}
        return render(request, "messages/message.html", context, fragment="messages/_message.html")

    @post("/{message_id:int}/confirm")
    async def confirm_message(self, request: Request, session: NamedDependency[ActiveSession],
                              message_id: FromPath[int]) -> Response:
        if not await messages.confirm(session.subject_id, message_id, datetime.now(timezone.utc)):
            raise NotFoundException()
        form_next = str((await request.form()).get("next", ""))
        return await after_post(request, _back(request, form_next, f"/messages/{message_id}"))
