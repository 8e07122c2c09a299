"""Admin: the traffic publication — the last runs and "Publikuj teraz"."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app import traffic
from app.i18n import N_, _
from app.routes._render import render
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
        notice = NOTICES.get(request.query_params.get("m", ""), "")
        context = {**await admin_context(operator), "runs": await traffic.recent_runs(), "statuses": STATUSES,
                   "stamp": await traffic.publication(), "notice": _(notice) if notice else ""}
        return render(request, "admin/traffic.html", context)

    @post("/publish")
    async def publish_traffic(self, request: Request, operator: NamedDependency[ActiveSession]) -> Redirect:
        try:
            result = await traffic.publish(retention_days=settings_of(request).traffic_retention_days)
        except traffic.TrafficError:
            return Redirect(path="/admin/traffic?m=failed", status_code=303)
        return Redirect(path=f"/admin/traffic?m={'published' if result.days else 'nothing'}", status_code=303)
