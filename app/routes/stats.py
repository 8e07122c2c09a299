"""Statystyki — routes: the customer's published traffic per period."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template

from app import traffic
from app.i18n import N_
from app.routes._render import render
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from app.sessions import ActiveSession

# (period, label) in the manual's order; labels are msgids translated in the template.
PERIODS = [("hour", N_("Ostatnia godzina")), ("day", N_("Ostatni dzień")),
           ("month", N_("Ostatnie 30 dni")), ("year", N_("Ostatni rok")), ("all", N_("Wszystkie"))]


class StatsController(Controller):
    path = "/stats"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_stats(self, request: Request, session: NamedDependency[ActiveSession],
                         period: FromQuery[str] = traffic.DEFAULT_PERIOD) -> Template:
        stats = await traffic.stats_data(session.subject_id, period[:10])
        context = {**await panel_context(session), "stats": stats, "periods": PERIODS}
        return render(request, "stats/page.html", context, fragment="stats/_traffic.html")
