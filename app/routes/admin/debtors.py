"""Windykacja — admin routes: /admin/debtors (sorted, filtered) and the paper reminder letters as one PDF."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response, Template

from app import billing, debtors, pdf
from app.i18n import _
from app.register import MONTH
from app.routes._render import render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.responses import pdf_response
from app.sessions import ActiveSession


class AdminDebtorsController(Controller):
    path = "/admin/debtors"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_debtors(self, request: Request, operator: NamedDependency[ActiveSession],
                           q: FromQuery[str] = "", channel: FromQuery[str] = "", sort: FromQuery[str] = "debt",
                           min_days: FromQuery[int] = 0) -> Template:
        today = billing.warsaw_today()
        sort = sort if sort in debtors.SORTS else "debt"
        channel = channel if channel in debtors.CHANNELS else ""
        rows = await debtors.debtors(today, q=q.strip()[:100], channel=channel, min_days=max(0, min_days), sort=sort)
        period = today.strftime("%Y-%m")
        context = {**await admin_context(operator), "rows": rows, "q": q, "channel": channel, "sort": sort,
                   "min_days": max(0, min_days), "period": period, "total": sum(d.debt for d in rows),
                   "letters": await debtors.paper_count(period)}
        return render(request, "admin/debtors/page.html", context, fragment="admin/debtors/_overview.html",
                      parts={"debtors-list": "admin/debtors/_list.html"})

    @get("/letters.pdf")
    async def print_letters(self, request: Request, operator: NamedDependency[ActiveSession],
                            period: FromQuery[str] = "") -> Response:
        today = billing.warsaw_today()
        period = period if MONTH.match(period) else today.strftime("%Y-%m")
        isp = settings_of(request).isp
        letters = await debtors.paper_letters(isp, period)
        if not letters:
            return Response(content=_("Brak papierowych przypomnień w tym miesiącu.") + "\n", status_code=404,
                            media_type="text/plain; charset=utf-8")
        content = await pdf.in_thread(debtors.render_letters, isp, letters, today)
        return pdf_response(content, f"przypomnienia-{period}.pdf")
