"""Admin: billing runs, failed e-mails and paper reminders; bank statement import and the unmatched queue."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from app import billing, delivery, payments_import
from app.auth import parse_customer_id
from app.i18n import N_, _
from app.routes._render import render, wants_fragment
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession
from app.tables.billing import InvoiceDelivery, Reminder, StatementImport

NOTICES = {"sent": N_("Faktura wysłana."), "reminded": N_("Upomnienie wysłane."), "failed": N_("Wysyłka znów się nie udała; błąd poniżej."),
           "assigned": N_("Wpłata przypisana i zaksięgowana.")}


def _notice(request: Request) -> str:
    key = request.query_params.get("m", "")
    return _(NOTICES[key]) if key in NOTICES else ""


async def billing_context(operator: ActiveSession) -> dict:
    return {**await admin_context(operator), "runs": await billing.billing_runs(),
            "deliveries": await delivery.failed_deliveries(),
            "failed_reminders": await delivery.failed_reminders(),
            "paper": await delivery.paper_reminders()}


class AdminBillingController(Controller):
    path = "/admin/billing"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_billing(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        context = {**await billing_context(operator), "notice": _notice(request)}
        return render(request, "admin/billing/page.html", context,
                      fragment="admin/billing/_overview.html")

    @post("/deliveries/{delivery_id:int}/retry")
    async def retry_delivery(self, request: Request, operator: NamedDependency[ActiveSession],
                             delivery_id: FromPath[int]) -> Response:
        if not await InvoiceDelivery.exists().where(InvoiceDelivery.id == delivery_id):
            raise NotFoundException()
        sent = await delivery.deliver_invoice(request.app.state.settings, delivery_id)
        if wants_fragment(request):
            key = "sent" if sent else "failed"
            context = {**await billing_context(operator), "notice": _(NOTICES[key])}
            return render(request, "admin/billing/page.html", context,
                          fragment="admin/billing/_overview.html")
        return Redirect(path=f"/admin/billing?m={'sent' if sent else 'failed'}", status_code=303)

    @post("/reminders/{reminder_id:int}/retry")
    async def retry_reminder(self, request: Request, operator: NamedDependency[ActiveSession],
                             reminder_id: FromPath[int]) -> Redirect:
        if not await Reminder.exists().where((Reminder.id == reminder_id) & (Reminder.channel == "email")):
            raise NotFoundException()
        sent = await delivery.deliver_reminder(request.app.state.settings, reminder_id)
        return Redirect(path=f"/admin/billing?m={'reminded' if sent else 'failed'}", status_code=303)


async def import_context(operator: ActiveSession, statement_id: int | None = None, **extra) -> dict:
    summary = None
    if statement_id:
        summary = await StatementImport.select().where(StatementImport.id == statement_id).first()
    return {**await admin_context(operator), "summary": summary, "error": "", "assign_errors": {},
            "queue": await payments_import.unmatched(), "imports": await payments_import.recent_imports(),
            "notice": "", **extra}


class AdminPaymentsImportController(Controller):
    path = "/admin/payments"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/import")
    async def show_import(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        sid = request.query_params.get("statement", "")
        context = await import_context(operator, int(sid) if sid.isdigit() else None,
                                       notice=_notice(request))
        return render(request, "admin/payments/import.html", context,
                      fragment="admin/payments/_import.html")

    @post("/import")
    async def import_statement(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        upload = (await request.form()).get("statement")
        data = await upload.read() if hasattr(upload, "read") else b""
        try:
            if not data:
                raise payments_import.StatementError(_("Wybierz plik wyciągu (MT940 lub CSV)."))
            summary = await payments_import.import_statement(
                data, request.app.state.settings.isp, filename=getattr(upload, "filename", "") or "",
                operator_id=operator.subject_id)
        except payments_import.StatementError as exc:
            context = await import_context(operator, error=str(exc))
            return render(request, "admin/payments/import.html", context,
                          fragment="admin/payments/_import.html", status_code=422)
        return Redirect(path=f"/admin/payments/import?statement={summary.statement_id}", status_code=303)

    @post("/unmatched/{line_id:int}/assign")
    async def assign_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                             line_id: FromPath[int]) -> Response:
        raw = str((await request.form()).get("customer_id", ""))[:20]
        try:
            await payments_import.assign(line_id, parse_customer_id(raw), operator.subject_id)
        except payments_import.AssignError as exc:
            context = await import_context(operator, assign_errors={line_id: (str(exc), raw)})
            return render(request, "admin/payments/import.html", context,
                          fragment="admin/payments/_import.html", status_code=422)
        if wants_fragment(request):
            key = "assigned"
            context = await import_context(operator, notice=_(NOTICES[key]))
            return render(request, "admin/payments/import.html", context,
                          fragment="admin/payments/_import.html")
        return Redirect(path="/admin/payments/import?m=assigned", status_code=303)
