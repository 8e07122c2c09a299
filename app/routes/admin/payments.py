"""Wpłaty — admin routes: /admin/payments, booking a payment by hand, bank statement import
and the queue of unmatched lines."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import finances, payments_import
from app.auth import parse_customer_id
from app.finances import PaymentError, PaymentForm
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.admin._money import PAID, finances_context
from app.sessions import ActiveSession

STATEMENT_MAX_BYTES = 10 * 1024 * 1024

PAYMENT_FIELDS = ("customer_id", "amount", "date", "title")
ASSIGNED = {"assigned": N_("Wpłata przypisana i zaksięgowana."),
            "split": N_("Wpłata podzielona i zaksięgowana."),
            "ignored": N_("Wpłata pominięta; powód zapisano.")}
SPLIT_ROWS = 3


async def _payments_context(operator: ActiveSession, form: PaymentForm, message: str = "") -> dict:
    return {**await admin_context(operator), "form": form, "notice": message,
            "payments": await finances.recent_payments()}


async def _import_context(operator: ActiveSession, statement_id: int | None = None, **extra) -> dict:
    summary = await payments_import.statement_summary(statement_id) if statement_id else None
    return {**await admin_context(operator), "summary": summary, "error": "", "assign_errors": {},
            "split_errors": {}, "ignore_errors": {}, "split_rows": SPLIT_ROWS,
            "queue": await payments_import.unmatched(), "imports": await payments_import.recent_imports(),
            "actions": await payments_import.recent_actions(), "notice": "", **extra}


def _import_page(request: Request, context: dict, status_code: int = 200) -> Template:
    return render(request, "admin/payments/import.html", context, fragment="admin/payments/_import.html",
                  status_code=status_code)


class AdminPaymentsController(Controller):
    path = "/admin/payments"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_payments(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromQuery[str] = "") -> Template:
        form = PaymentForm(customer_id=customer_id[:20], date=date.today().isoformat())
        return render(request, "admin/payments/page.html",
                      await _payments_context(operator, form, notice(request, PAID)),
                      fragment="admin/payments/_overview.html",
                      parts={"payments-form": "admin/finances/_payment_form.html"})

    @post("/")
    async def book_payment(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        data = await request.form()
        form = PaymentForm(**{k: str(data.get(k, ""))[:250] for k in PAYMENT_FIELDS})
        today = date.today()
        try:
            cid, grosze, day, title = finances.parse_payment_form(form, today)
            await finances.book_payment(cid, grosze, day, title, today=today, operator_id=operator.subject_id)
        except PaymentError as exc:
            form.errors = exc.errors
            return render(request, "admin/payments/page.html", await _payments_context(operator, form),
                          fragment="admin/finances/_payment_form.html", status_code=422)
        fresh = PaymentForm(date=today.isoformat())
        return await after_post(request, f"/admin/customers/{cid}/finances?m=paid",
                                fragment="admin/finances/_payment_form.html",
                                context=lambda: _payments_context(operator, fresh, _(PAID["paid"])))

    @get("/import")
    async def show_import(self, request: Request, operator: NamedDependency[ActiveSession],
                          statement: FromQuery[str] = "") -> Template:
        context = await _import_context(operator, int(statement) if statement.isdigit() else None,
                                        notice=notice(request, ASSIGNED))
        return _import_page(request, context)

    # The one route that takes a file: every other keeps the app's small body limit.
    @post("/import", request_max_body_size=STATEMENT_MAX_BYTES)
    async def import_statement(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        upload = (await request.form()).get("statement")
        data = await upload.read() if hasattr(upload, "read") else b""
        try:
            if not data:
                raise payments_import.StatementError(_("Wybierz plik wyciągu (MT940 lub CSV)."))
            summary = await payments_import.import_statement(
                data, settings_of(request).isp, filename=getattr(upload, "filename", "") or "",
                operator_id=operator.subject_id)
        except payments_import.StatementError as exc:
            return _import_page(request, await _import_context(operator, error=str(exc)), 422)
        return await after_post(request, f"/admin/payments/import?statement={summary.statement_id}")

    @post("/unmatched/{line_id:int}/assign")
    async def assign_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                             line_id: FromPath[int]) -> Response:
        raw = str((await request.form()).get("customer_id", ""))[:20]
        try:
            await payments_import.assign(line_id, parse_customer_id(raw), operator.subject_id)
        except payments_import.AssignError as exc:
            context = await _import_context(operator, assign_errors={line_id: (str(exc), raw)})
            return _import_page(request, context, 422)
        return await after_post(request, "/admin/payments/import?m=assigned", fragment="admin/payments/_import.html",
                                context=lambda: _import_context(operator, notice=_(ASSIGNED["assigned"])))

    @post("/{payment_id:int}/reverse")
    async def reverse_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                              payment_id: FromPath[int]) -> Response:
        return await _fix_payment(request, operator, payment_id, move=False)

    @post("/{payment_id:int}/move")
    async def move_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                           payment_id: FromPath[int]) -> Response:
        return await _fix_payment(request, operator, payment_id, move=True)


    @post("/unmatched/{line_id:int}/split")
    async def split_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                            line_id: FromPath[int]) -> Response:
        form = await request.form()
        ids = [str(v)[:20] for v in form.getall("customer_id", [])][:SPLIT_ROWS]
        amounts = [str(v)[:30] for v in form.getall("amount", [])][:SPLIT_ROWS]
        try:
            parts = payments_import.parse_split(ids, amounts)
            await payments_import.split(line_id, parts, operator.subject_id)
        except payments_import.AssignError as exc:
            context = await _import_context(operator, split_errors={line_id: (str(exc), ids, amounts)})
            return _import_page(request, context, 422)
        return await after_post(request, "/admin/payments/import?m=split", fragment="admin/payments/_import.html",
                                context=lambda: _import_context(operator, notice=_(ASSIGNED["split"])))

    @post("/unmatched/{line_id:int}/ignore")
    async def ignore_payment(self, request: Request, operator: NamedDependency[ActiveSession],
                             line_id: FromPath[int]) -> Response:
        reason = str((await request.form()).get("reason", ""))[:500]
        try:
            await payments_import.ignore(line_id, reason, operator.subject_id)
        except payments_import.AssignError as exc:
            context = await _import_context(operator, ignore_errors={line_id: (str(exc), reason)})
            return _import_page(request, context, 422)
        return await after_post(request, "/admin/payments/import?m=ignored", fragment="admin/payments/_import.html",
                                context=lambda: _import_context(operator, notice=_(ASSIGNED["ignored"])))


async def _fix_payment(request: Request, operator: ActiveSession, payment_id: int, move: bool) -> Response:
    """Reverse or move a payment; errors come back on the customer's Finanse page."""
    from app.tables.finances import Payment

    row = await Payment.select(Payment.customer).where(Payment.id == payment_id).first()
    if row is None:
        raise NotFoundException()
    data = await request.form()
    reason = str(data.get("reason", ""))[:300]
    try:
        if move:
            target = parse_customer_id(str(data.get("customer_id", ""))[:20])
            if target is None:
                raise finances.PaymentFixError(N_("Podaj ID Klienta (same cyfry)."))
            await finances.move_payment(payment_id, target, reason, today=date.today(),
                                        operator_id=operator.subject_id)
        else:
            await finances.reverse_payment(payment_id, reason, today=date.today(), operator_id=operator.subject_id)
    except finances.PaymentFixError as exc:
        context = await finances_context(request, operator, row["customer"], fix_error=_(str(exc)),
                                         fix_payment=payment_id)
        return render(request, "admin/finances/customer.html", context, fragment="admin/finances/_customer.html",
                      status_code=422)
    return await after_post(request, f"/admin/customers/{row['customer']}/finances?m={'moved' if move else 'reversed'}")
