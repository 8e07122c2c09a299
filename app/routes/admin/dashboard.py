"""Pulpit — admin routes: /admin, the welcome page with what waits for the operators."""

from __future__ import annotations

from typing import Awaitable, Callable

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from app import changes, mail
from app.i18n import N_
from app.routes._render import render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

# (label msgid, link, count function): other sections append theirs.
DASHBOARD: list[tuple[str, str, Callable[[], Awaitable[int]]]] = [
    (N_("Zmiany danych do akceptacji"), "/admin/changes", changes.pending_count),
    (N_("Nieudane e-maile (ponów wszystkie)"), "/admin/billing#failed-mails", mail.failed_count),
]


class AdminDashboardController(Controller):
    path = "/admin"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_dashboard(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        counts = [(label, link, await count()) for label, link, count in DASHBOARD]
        context = {**await admin_context(operator), "counts": counts, "failed_mails": await mail.failed_count()}
        return render(request, "admin/dashboard/page.html", context,
                      fragment="admin/dashboard/_home.html")
