"""Helpdesk — routes: plumbing shared by the customer tab and the admin section: labels, rendering
fragments for streams, and what follows a committed change (live event, e-mail)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.background_tasks import BackgroundTask
from litestar.channels import ChannelsPlugin
from litestar.response import Response

from app import mail, tickets
from app.i18n import N_, _
from app.routes import live
from app.routes._session import settings_of

ACTORS = {"customer": N_("Klient"), "operator": N_("Operator"), "system": N_("System")}
ACTIONS = {"opened": N_("założenie zgłoszenia"), "reply": N_("odpowiedź"), "note": N_("notatka wewnętrzna"),
           "status": N_("zmiana statusu"), "queue": N_("przeniesienie do działu"),
           "reopen": N_("ponowne otwarcie")}


def event_actor(actor: str) -> str:
    return _(ACTORS.get(actor, actor))


def event_text(event: tickets.Event) -> str:
    """An audit entry in words: "zmiana statusu: nowe → do zrealizowania"."""
    label = _(ACTIONS.get(event.action, event.action))
    if event.action in ("status", "reopen"):
        return f"{label}: " + " → ".join(tickets.status_label(s) for s in event.detail.split("→"))
    if event.action in ("queue", "opened") and event.detail:
        return f"{label}: " + " → ".join(tickets.queue_label(q) for q in event.detail.split("→"))
    return label


LABELS = {"queue_label": tickets.queue_label, "status_label": tickets.status_label,
          "statuses": list(tickets.STATUS_LABELS), "event_actor": event_actor, "event_text": event_text}


def form_token() -> str:
    """A one-time token for the new-ticket form: the same token twice is one ticket."""
    return secrets.token_urlsafe(16)


def render_fragment(request: Request, name: str, context: dict[str, Any]) -> str:
    """A template rendered to a string, for an SSE message."""
    return request.app.template_engine.get_template(name).render(**LABELS, **context)


def after_commit(request: Request, channels: ChannelsPlugin, response: Response, ticket_id: int,
                 customer_id: int, public: bool) -> Response:
    """Tell the open streams, and send the queued e-mail once the answer has gone out."""
    live.publish(channels, ticket_id, customer_id, public)
    response.background = BackgroundTask(mail.deliver_outbox, settings_of(request))
    return response


def live_thread(request: Request, ticket_id: int, customer_id: int | None):
    """The fetch of a live thread's stream (live.stream): new messages, then the status label
    (and, for operators, the status select) as out-of-band swaps whenever the status differs
    from the one last sent; the first fetch of a connection always sends it, so a thread
    opened before a change shows the status after it."""
    staff = customer_id is None
    sent = {"status": None}

    async def fetch(last: int) -> list[tuple[int, str]]:
        update = await tickets.thread_update(ticket_id, last, customer_id)
        if update is None:
            return []
        items = [(m.id, render_fragment(request, "helpdesk/_message.html", {"m": m, "staff": staff}))
                 for m in update.messages]
        if update.status != sent["status"]:
            sent["status"] = update.status
            html = render_fragment(request, "helpdesk/_status.html", {"status": update.status, "oob": True})
            if staff:
                html += render_fragment(request, "admin/helpdesk/_status_select.html",
                                        {"current": update.status, "oob": True})
            items.append((max([last] + [m.id for m in update.messages]), html))
        return items

    return fetch
