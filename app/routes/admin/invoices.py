"""Rejestr faktur — admin routes: /admin/invoices (the register) and /admin/exports (CSV)."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response, Stream, Template

from app import billing, register
from app.i18n import _
from app.register import Filters, RegisterError
from app.routes._render import render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession


def _filters(month: str, q: str, paid: str, emailed: str) -> Filters:
    return Filters(month=month.strip()[:7], q=q.strip()[:100],
                   paid=paid if paid in register.PAID_STATES else "",
                   emailed=emailed if emailed in register.EMAIL_STATES else "")


class AdminInvoicesController(Controller):
    path = "/admin"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/invoices")
    async def show_invoices(self, request: Request, operator: NamedDependency[ActiveSession],
                            month: FromQuery[str] = "", q: FromQuery[str] = "", paid: FromQuery[str] = "",
                            emailed: FromQuery[str] = "", unpaid: FromQuery[str] = "",
                            page: FromQuery[int] = 1) -> Template:
        filters = _filters(month, q, paid or ("unpaid" if unpaid else ""), emailed)
        error = ""
        try:
            result = await register.register(filters, page)
        except RegisterError as exc:
            error, filters = str(exc), Filters(q=filters.q, paid=filters.paid, emailed=filters.emailed)
            result = await register.register(filters, page)
        context = {**await admin_context(operator), "result": result, "error": error,
                   "month": month, "this_month": billing.warsaw_today().strftime("%Y-%m")}
        return render(request, "admin/invoices/page.html", context, fragment="admin/invoices/_register.html",
                      parts={"invoices-list": "admin/invoices/_list.html"},
                      status_code=422 if error else 200)

    @get([f"/exports/{kind}.csv" for kind in register.EXPORTS])
    async def export(self, request: Request, operator: NamedDependency[ActiveSession],
                     month: FromQuery[str] = "") -> Response:
        kind = request.url.path.rsplit("/", 1)[1].removesuffix(".csv")
        month = month or billing.warsaw_today().strftime("%Y-%m")
        try:
            lines = register.export(kind, month, billing.warsaw_today())
        except RegisterError as exc:
            return Response(content=_(str(exc)) + "\n", status_code=400, media_type="text/plain; charset=utf-8")
        filename = f"{register.EXPORTS[kind]}-{month}.csv"
        return Stream(lines, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
