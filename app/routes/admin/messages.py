"""Wiadomości — admin routes: /admin/messages, a message to one customer, everyone, a tariff
or the debtors."""

from __future__ import annotations

from datetime import date, datetime, timezone

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Response, Template

from app import messages, tariffs
from app.i18n import N_, ngettext
from app.routes._render import after_post, render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOBODY = N_("Nikt z wybranych odbiorców nie dostałby tej wiadomości (dla handlowych liczy się zgoda marketingowa).")


async def _page(request: Request, operator: ActiveSession, form: dict | None = None,
                errors: dict | None = None, notice: str = "", status: int = 200) -> Template:
    context = {**await admin_context(operator), "form": form or {"category": "serwisowa", "audience": "all"},
               "errors": errors or {}, "notice": notice, "categories": messages.CATEGORIES,
               "audiences": messages.AUDIENCES, "sent": await messages.sent_messages(),
               "tariffs": await tariffs.list_tariffs()}
    return render(request, "admin/messages/page.html", context, fragment="admin/messages/_compose.html",
                  status_code=status)


class AdminMessagesController(Controller):
    path = "/admin/messages"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_messages(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        count = request.query_params.get("n", "")
        notice = ngettext("Wysłano do %(num)d klienta.", "Wysłano do %(num)d klientów.", int(count)) \
            if count.isdigit() else ""
        return await _page(request, operator, notice=notice)

    @post("/")
    async def send_message(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        compose = await messages.validate(dict(await request.form()))
        if compose.draft is None:
            return await _page(request, operator, compose.form, compose.errors, status=422)
        sent = await messages.send(compose.draft, operator.subject_id, datetime.now(timezone.utc), date.today())
        if sent.message_id is None:
            return await _page(request, operator, compose.form, {"audience": NOBODY}, status=422)
        return await after_post(request, f"/admin/messages?n={sent.recipients}")
