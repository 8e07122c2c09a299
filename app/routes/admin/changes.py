"""Zmiany danych — admin routes: /admin/changes, customers' data changes approved or rejected
one by one or in bulk."""

from __future__ import annotations

from datetime import datetime, timezone

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template

from app import changes
from app.i18n import N_
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"approved": N_("Zmiany zatwierdzone i wprowadzone."),
           "rejected": N_("Zmiany odrzucone."),
           "none": N_("Nic nie zmieniono: zmiana była już rozpatrzona albo nic nie zaznaczono.")}


async def _decide(request: Request, operator: ActiveSession, ids: list[int], approve: bool) -> Response:
    decided = await changes.decide(ids, approve, operator.subject_id, datetime.now(timezone.utc),
                                   settings_of(request).isp)
    sent, attempted = await changes.notify(settings_of(request), decided)
    key = "none" if not decided else "approved" if approve else "rejected"
    return await after_post(request, f"/admin/changes?m={key}" + ("&mail=failed" if sent < attempted else ""))


class AdminChangesController(Controller):
    path = "/admin/changes"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_changes(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        mail_failed = request.query_params.get("mail") == "failed"
        context = {**await admin_context(operator), "rows": await changes.queue(), "labels": changes.FIELDS,
                   "notice": notice(request, NOTICES), "mail_failed": mail_failed}
        return render(request, "admin/changes/page.html", context, fragment="admin/changes/_queue.html")

    @post("/{change_id:int}/approve")
    async def approve_change(self, request: Request, operator: NamedDependency[ActiveSession],
                             change_id: FromPath[int]) -> Response:
        return await _decide(request, operator, [change_id], True)

    @post("/{change_id:int}/reject")
    async def reject_change(self, request: Request, operator: NamedDependency[ActiveSession],
                            change_id: FromPath[int]) -> Response:
        return await _decide(request, operator, [change_id], False)

    @post("/bulk")
    async def decide_changes(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        form = await request.form()
        ids = [int(v) for v in form.getall("change_id", []) if str(v).isdigit()][:1000]
        return await _decide(request, operator, ids, str(form.get("action", "")) == "approve")
