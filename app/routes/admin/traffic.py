"""Statystyki — admin routes: /admin/traffic, the traffic publication's last runs and "Publikuj teraz"."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Response, Template

from app import traffic
from app.i18n import N_
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"published": N_("Statystyki opublikowane."),
           "nothing": N_("Nie było nic do opublikowania: ostatnia noc jest już opublikowana."),
           "failed": N_("Publikacja nie powiodła się; szczegóły w tabeli poniżej.")}

STATUSES = {"running": N_("w toku"), "done": N_("zakończona"), "failed": N_("błąd")}


class AdminTrafficController(Controller):
    path = "/admin/traffic"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_traffic(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        context = {**await admin_context(operator), "runs": await traffic.recent_runs(), "statuses": STATUSES,
                   "stamp": await traffic.publication(), "notice": notice(request, NOTICES)}
        return render(request, "admin/traffic/page.html", context, fragment="admin/traffic/_publication.html")

    @post("/publish")
    async def publish_traffic(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        try:
            result = await traffic.publish(retention_days=settings_of(request).traffic_retention_days)
        except traffic.TrafficError:
            return await after_post(request, "/admin/traffic?m=failed")
        return await after_post(request, f"/admin/traffic?m={'published' if result.days else 'nothing'}")
