"""Helpdesk — admin routes: /admin/helpdesk, the queue, one ticket with its full thread,
answers, notes, status and queue."""

from __future__ import annotations

from datetime import datetime, timezone

from litestar import Controller, Request, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, ServerSentEvent, Template

from app import sessions, tickets
from app.i18n import _
from app.routes import live
from app.routes._helpdesk import LABELS, after_commit, live_thread, render_fragment
from app.routes._render import after_post, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.responses import NO_STORE, last_event_id
from app.sessions import ActiveSession


def _filters(request: Request, queue: str, status: str) -> dict:
    queues = settings_of(request).isp.queues
    return {"queue": queue if queue in queues else "", "status": status if status in tickets.STATUS_LABELS else ""}


async def _ticket_context(operator: ActiveSession, request: Request, ticket_id: int, form: dict | None = None,
                          errors: dict | None = None) -> dict:
    thread = await tickets.admin_thread(ticket_id)
    if thread is None:
        raise NotFoundException()
    return {**await admin_context(operator), **LABELS, "thread": thread, "t": thread.ticket,
            "queues": settings_of(request).isp.queues, "form": form or {},
            "errors": {k: _(v) for k, v in (errors or {}).items()}}


class AdminHelpdeskController(Controller):
    path = "/admin/helpdesk"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_queue(self, request: Request, operator: NamedDependency[ActiveSession],
                         queue: FromQuery[str] = "", status: FromQuery[str] = "") -> Template:
        filters = _filters(request, queue, status)
        context = {**await admin_context(operator), **LABELS, "filters": filters,
                   "queues": settings_of(request).isp.queues,
                   "tickets": await tickets.queue_view(**filters)}
        return render(request, "admin/helpdesk/page.html", context, fragment="admin/helpdesk/_overview.html",
                      parts={"helpdesk-queue": "admin/helpdesk/_queue.html"})

    @get("/events")
    async def stream_queue(self, request: Request, operator: NamedDependency[ActiveSession],
                           channels: NamedDependency[ChannelsPlugin], queue: FromQuery[str] = "",
                           status: FromQuery[str] = "") -> ServerSentEvent:
        filters = _filters(request, queue, status)

        async def fetch(last: int) -> list[tuple[int, str]]:
            rows = await tickets.queue_view(**filters)
            return [(last + 1, render_fragment(request, "admin/helpdesk/_table.html", {"tickets": rows}))]

        return ServerSentEvent(live.stream(channels, live.OPERATORS, fetch, 0,
                                           alive=lambda: sessions.alive(operator.id)), headers=NO_STORE)

    @get("/{ticket_id:int}")
    async def show_ticket(self, request: Request, operator: NamedDependency[ActiveSession],
                          ticket_id: FromPath[int]) -> Template:
        context = await _ticket_context(operator, request, ticket_id)
        return render(request, "admin/helpdesk/ticket.html", context, fragment="admin/helpdesk/_ticket.html")

    @post("/{ticket_id:int}")
    async def answer_ticket(self, request: Request, operator: NamedDependency[ActiveSession],
                            channels: NamedDependency[ChannelsPlugin], ticket_id: FromPath[int]) -> Response:
        raw = await request.form()
        form = {k: str(raw.get(k, ""))[:20_000] for k in ("body", "status", "queue", "internal")}
        try:
            change = await tickets.operator_answer(
                operator.subject_id, ticket_id, form["body"], form["internal"] == "on", form["status"],
                form["queue"], datetime.now(timezone.utc), settings_of(request).isp, settings_of(request).base_url)
        except tickets.TicketError as exc:
            context = await _ticket_context(operator, request, ticket_id, form, exc.errors)
            return render(request, "admin/helpdesk/ticket.html", context,
                          fragment="admin/helpdesk/_ticket.html", status_code=422)
        if change is None:
            raise NotFoundException()
        response = await after_post(request, f"/admin/helpdesk/{ticket_id}", fragment="admin/helpdesk/_ticket.html",
                                    context=lambda: _ticket_context(operator, request, ticket_id))
        return after_commit(request, channels, response, ticket_id, change.customer_id, change.public)

    @get("/{ticket_id:int}/events")
    async def stream_ticket(self, request: Request, operator: NamedDependency[ActiveSession],
                            channels: NamedDependency[ChannelsPlugin], ticket_id: FromPath[int],
                            after: FromQuery[int] = 0) -> ServerSentEvent:
        if not await tickets.ticket_exists(ticket_id):
            raise NotFoundException()

        fetch = live_thread(request, ticket_id, None)
        return ServerSentEvent(live.stream(channels, live.OPERATORS, fetch, last_event_id(request, after),
                                           alive=lambda: sessions.alive(operator.id)),
                               headers=NO_STORE)
