"""Helpdesk — routes: the customer's tickets, new-ticket form, threads, replies and live updates."""

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
from app.routes._helpdesk import LABELS, after_commit, form_token, live_thread, render_fragment
from app.routes import live
from app.routes._render import after_post, render
from app.routes._session import settings_of
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from app.routes.responses import NO_STORE, last_event_id
from app.sessions import ActiveSession

async def _list_context(request: Request, session: ActiveSession, form: dict | None = None,
                        errors: dict | None = None, created: int = 0) -> dict:
    return {**await panel_context(session), **LABELS,
            "tickets": await tickets.customer_tickets(session.subject_id),
            "queues": settings_of(request).isp.queues, "created": created,
            "form": form or {"token": form_token()},
            "errors": {k: _(v) for k, v in (errors or {}).items()}}


async def _thread_context(session: ActiveSession, ticket_id: int, body: str = "", error: str = "") -> dict:
    thread = await tickets.customer_thread(session.subject_id, ticket_id)
    if thread is None:
        raise NotFoundException()
    return {**await panel_context(session), **LABELS, "thread": thread, "t": thread.ticket,
            "body": body, "error": error}


class HelpdeskController(Controller):
    path = "/helpdesk"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_tickets(self, request: Request, session: NamedDependency[ActiveSession],
                           created: FromQuery[int] = 0) -> Template:
        context = await _list_context(request, session, created=created)
        return render(request, "helpdesk/page.html", context, fragment="helpdesk/_tickets.html")

    @post("/")
    async def create_ticket(self, request: Request, session: NamedDependency[ActiveSession],
                            channels: NamedDependency[ChannelsPlugin]) -> Response:
        raw = await request.form()
        isp = settings_of(request).isp
        form = {k: str(raw.get(k, ""))[:20_000] for k in ("subject", "body", "queue", "token")}
        try:
            ticket_id, _created = await tickets.open_ticket(
                session.subject_id, form["subject"], form["body"], form["queue"], form["token"],
                datetime.now(timezone.utc), isp, settings_of(request).base_url)
        except tickets.TicketError as exc:
            context = await _list_context(request, session, form, exc.errors)
            return render(request, "helpdesk/page.html", context, fragment="helpdesk/_tickets.html",
                          status_code=422)
        response = await after_post(request, f"/helpdesk?created={ticket_id}", fragment="helpdesk/_tickets.html",
                                    context=lambda: _list_context(request, session, created=ticket_id))
        return after_commit(request, channels, response, ticket_id, session.subject_id, True)

    @get("/events")
    async def stream_tickets(self, request: Request, session: NamedDependency[ActiveSession],
                             channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        async def fetch(last: int) -> list[tuple[int, str]]:
            rows = await tickets.customer_tickets(session.subject_id)
            badge = {"answers": sum(t.unseen for t in rows), "oob": True}  # the tab's badge too
            return [(last + 1, render_fragment(request, "helpdesk/_table.html", {"tickets": rows})
                     + render_fragment(request, "helpdesk/_badge.html", badge))]

        return ServerSentEvent(live.stream(channels, live.customer_key(session.subject_id), fetch, 0,
                                           alive=lambda: sessions.alive(session.id)),
                               headers=NO_STORE)

    @get("/{ticket_id:int}")
    async def show_thread(self, request: Request, session: NamedDependency[ActiveSession],
                          ticket_id: FromPath[int]) -> Template:
        context = await _thread_context(session, ticket_id)
        return render(request, "helpdesk/thread.html", context, fragment="helpdesk/_thread.html")

    @post("/{ticket_id:int}")
    async def reply_ticket(self, request: Request, session: NamedDependency[ActiveSession],
                           channels: NamedDependency[ChannelsPlugin], ticket_id: FromPath[int]) -> Response:
        body = str((await request.form()).get("body", ""))[:20_000]
        try:
            found = await tickets.customer_reply(session.subject_id, ticket_id, body,
                                                 datetime.now(timezone.utc))
        except tickets.TicketError as exc:
            message = exc.errors["body"]
            context = await _thread_context(session, ticket_id, body, _(message))
            return render(request, "helpdesk/thread.html", context, fragment="helpdesk/_thread.html",
                          status_code=422)
        if not found:
            raise NotFoundException()
        response = await after_post(request, f"/helpdesk/{ticket_id}", fragment="helpdesk/_thread.html",
                                    context=lambda: _thread_context(session, ticket_id))
        return after_commit(request, channels, response, ticket_id, session.subject_id, True)

    @get("/{ticket_id:int}/events")
    async def stream_thread(self, request: Request, session: NamedDependency[ActiveSession],
                            channels: NamedDependency[ChannelsPlugin], ticket_id: FromPath[int],
                            after: FromQuery[int] = 0) -> ServerSentEvent:
        customer_id = session.subject_id
        if not await tickets.customer_owns(customer_id, ticket_id):
            raise NotFoundException()

        fetch = live_thread(request, ticket_id, customer_id)

        last_id = last_event_id(request, after)
        return ServerSentEvent(live.stream(channels, live.customer_key(customer_id), fetch, last_id,
                                           alive=lambda: sessions.alive(session.id)),
                               headers=NO_STORE)

