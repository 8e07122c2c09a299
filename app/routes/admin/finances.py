"""Finanse — admin routes: a customer's statement, invoices, payments (with reversal and
move), one-off charges, and corrective invoices (payments: admin/payments.py)."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import invoices, ksef
from app.i18n import _
from app.routes._render import after_post, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.admin._money import finances_context
from app.routes.responses import pdf_response
from app.sessions import ActiveSession


class AdminFinancesController(Controller):
    path = "/admin"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/customers/{customer_id:int}/finances")
    async def show_customer_finances(self, request: Request, operator: NamedDependency[ActiveSession],
                                     customer_id: FromPath[int], year: FromQuery[int | None] = None) -> Template:
        context = await finances_context(request, operator, customer_id, year)
        return render(request, "admin/finances/customer.html", context, fragment="admin/finances/_customer.html",
                      parts={"admin-finances-statement": "admin/finances/_statement.html"})

    @get("/invoices/{invoice_id:int}")
    async def show_invoice(self, request: Request, operator: NamedDependency[ActiveSession],
                           invoice_id: FromPath[int]) -> Response:
        doc = await invoices.load_invoice_doc(invoice_id)
        if doc is None:
            raise NotFoundException()
        stamp = await ksef.stamp(invoice_id, settings_of(request))
        return pdf_response(await invoices.invoice_pdf(doc, stamp), "faktura-" + doc.number.replace("/", "-") + ".pdf")

    @get("/invoices/{invoice_id:int}/correct")
    async def show_correction(self, request: Request, operator: NamedDependency[ActiveSession],
                              invoice_id: FromPath[int]) -> Template:
        return render(request, "admin/finances/correct.html", await _correction_context(operator, invoice_id),
                      fragment="admin/finances/_correct.html")

    @post("/invoices/{invoice_id:int}/correct")
    async def correct_invoice(self, request: Request, operator: NamedDependency[ActiveSession],
                              invoice_id: FromPath[int]) -> Response:
        from app.invoices import InvoiceError, LineChange
        from app.money import parse_money

        context = await _correction_context(operator, invoice_id)
        data = await request.form()
        form = {k: str(v)[:300] for k, v in data.items() if k != "_csrf"}
        changes, error = [], ""
        for line in context["lines"]:
            qty = form.get(f"quantity_{line.position}", str(line.quantity_after)).strip()
            price = form.get(f"price_{line.position}", "").strip()
            try:
                quantity = int(qty)
                unit = parse_money(price) if price else _unit(line)
            except ValueError:
                error = _("Pozycja %(n)s: podaj ilość (liczba całkowita) i cenę brutto, np. 79,99.", n=line.position)
                break
            changes.append(LineChange(line.position, quantity, unit))
        if not error:
            try:
                fix = await invoices.issue_correction(invoice_id, changes, form.get("reason", ""), date.today(),
                                                      settings_of(request).isp)
            except InvoiceError as exc:
                error = _(str(exc))
            else:
                if fix is None:
                    raise NotFoundException()
                return await after_post(request, f"/admin/customers/{fix.customer_id}/finances?m=corrected")
        return render(request, "admin/finances/correct.html", {**context, "form": form, "error": error},
                      fragment="admin/finances/_correct.html", status_code=422)


def _unit(line) -> int:
    """A line's gross unit price now (its gross ÷ quantity; a cancelled line: 0)."""
    return line.gross_after // line.quantity_after if line.quantity_after else 0


async def _correction_context(operator: ActiveSession, invoice_id: int) -> dict:
    from app.money import format_input
    from app.tables.finances import Invoice

    lines = await invoices.current_lines(invoice_id)
    if lines is None:
        raise NotFoundException()
    head = await Invoice.select(Invoice.id, Invoice.number, Invoice.issue_date, Invoice.customer,
                                Invoice.customer.name, Invoice.total_gross).where(Invoice.id == invoice_id).first()
    return {**await admin_context(operator), "invoice": head, "lines": lines,
            "units": {x.position: _unit(x) for x in lines},
            "unit_inputs": {x.position: format_input(_unit(x)) for x in lines},
            "corrections": await invoices.corrections_of(invoice_id), "form": {}, "error": ""}
