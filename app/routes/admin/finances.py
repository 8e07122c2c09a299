"""Finanse — admin routes: a customer's statement and invoices (payments: admin/payments.py)."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import customers, finances, invoices, ksef
from app.finances import PaymentForm
from app.routes._render import notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.admin.payments import PAID
from app.routes.responses import pdf_response
from app.sessions import ActiveSession


class AdminFinancesController(Controller):
    path = "/admin"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/customers/{customer_id:int}/finances")
    async def show_customer_finances(self, request: Request, operator: NamedDependency[ActiveSession],
                                     customer_id: FromPath[int], year: FromQuery[int | None] = None) -> Template:
        customer = await customers.get_customer(customer_id)
        if customer is None:
            raise NotFoundException()
        data = await finances.finances_data(customer_id, settings_of(request).isp, date.today(), year)
        context = {**await admin_context(operator), "customer": customer, "fin": data,
                   "invoices": await finances.invoice_numbers(customer_id),
                   "form": PaymentForm(customer_id=str(customer_id), date=date.today().isoformat()),
                   "notice": notice(request, PAID)}
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
