"""Admin: finances — a customer's statement and invoices, payment entry, tariffs."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from app import customers, finances, invoices, tariffs
from app.finances import PaymentError, PaymentForm
from app.i18n import _
from app.routes._render import render, wants_fragment
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.finances import pdf_response
from app.sessions import ActiveSession
from app.tariffs import TariffError

PAYMENT_FIELDS = ("customer_id", "amount", "date", "title")
TARIFF_FIELDS = ("name", "price", "down_mbit", "up_mbit", "vat")


async def _payments_context(operator: ActiveSession, form: PaymentForm, notice: str = "") -> dict:
    return {**await admin_context(operator), "form": form, "notice": notice,
            "payments": await finances.recent_payments()}


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
                   "notice": _("Wpłata zaksięgowana.") if request.query_params.get("m") == "paid" else ""}
        return render(request, "admin/finances/customer.html", context,
                      fragment="admin/finances/_statement.html")

    @get("/invoices/{invoice_id:int}")
    async def show_invoice(self, operator: NamedDependency[ActiveSession], invoice_id: FromPath[int]) -> Response:
        doc = await invoices.load_invoice_doc(invoice_id)
        if doc is None:
            raise NotFoundException()
        return pdf_response(await invoices.invoice_pdf(doc), "faktura-" + doc.number.replace("/", "-") + ".pdf")

    @get("/payments")
    async def show_payments(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromQuery[str] = "") -> Template:
        form = PaymentForm(customer_id=customer_id[:20], date=date.today().isoformat())
        notice = _("Wpłata zaksięgowana.") if request.query_params.get("m") == "paid" else ""
        return render(request, "admin/finances/payments.html",
                      await _payments_context(operator, form, notice), fragment="admin/finances/_payment_form.html")

    @post("/payments")
    async def book_payment(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        data = await request.form()
        form = PaymentForm(**{k: str(data.get(k, ""))[:250] for k in PAYMENT_FIELDS})
        today = date.today()
        try:
            cid, grosze, day, title = finances.parse_payment_form(form, today)
            await finances.book_payment(cid, grosze, day, title, today=today, operator_id=operator.subject_id)
        except PaymentError as exc:
            form.errors = exc.errors
            return render(request, "admin/finances/payments.html", await _payments_context(operator, form),
                          fragment="admin/finances/_payment_form.html", status_code=422)
        if wants_fragment(request):
            fresh = PaymentForm(date=today.isoformat())
            return render(request, "admin/finances/payments.html",
                          await _payments_context(operator, fresh, _("Wpłata zaksięgowana.")),
                          fragment="admin/finances/_payment_form.html")
        return Redirect(path=f"/admin/customers/{cid}/finances?m=paid", status_code=303)


def _tariff_form(data) -> dict:
    return {k: str(data.get(k, ""))[:120].strip() for k in TARIFF_FIELDS}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


async def _save_tariff(form: dict, tariff_id: int | None = None) -> bool:
    args = (form["name"], form["price"], _int(form["down_mbit"]), _int(form["up_mbit"]), _int(form["vat"] or "23"))
    if tariff_id is None:
        await tariffs.create_tariff(*args)
        return True
    return await tariffs.update_tariff(tariff_id, *args)


class AdminTariffsController(Controller):
    path = "/admin/tariffs"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_tariffs(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        notice = _("Taryfa zapisana.") if request.query_params.get("m") == "saved" else ""
        context = {**await admin_context(operator), "tariffs": await tariffs.list_tariffs(),
                   "form": {"vat": "23"}, "error": "", "notice": notice}
        return render(request, "admin/finances/tariffs.html", context)

    @post("/")
    async def create_tariff(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        form = _tariff_form(await request.form())
        try:
            await _save_tariff(form)
        except TariffError as exc:
            context = {**await admin_context(operator), "tariffs": await tariffs.list_tariffs(),
                       "form": form, "error": _(str(exc)), "notice": ""}
            return render(request, "admin/finances/tariffs.html", context, status_code=422)
        return Redirect(path="/admin/tariffs?m=saved", status_code=303)

    @get("/{tariff_id:int}")
    async def show_tariff(self, request: Request, operator: NamedDependency[ActiveSession],
                          tariff_id: FromPath[int]) -> Template:
        row = await tariffs.get_tariff(tariff_id)
        if row is None:
            raise NotFoundException()
        form = {"name": row["name"], "price": f"{row['price'] // 100},{row['price'] % 100:02d}",
                "down_mbit": row["down_mbit"], "up_mbit": row["up_mbit"], "vat": row["vat"]}
        context = {**await admin_context(operator), "tariff_id": tariff_id, "form": form, "error": ""}
        return render(request, "admin/finances/tariff.html", context)

    @post("/{tariff_id:int}")
    async def update_tariff(self, request: Request, operator: NamedDependency[ActiveSession],
                            tariff_id: FromPath[int]) -> Response:
        form = _tariff_form(await request.form())
        try:
            if not await _save_tariff(form, tariff_id):
                raise NotFoundException()
        except TariffError as exc:
            context = {**await admin_context(operator), "tariff_id": tariff_id, "form": form, "error": _(str(exc))}
            return render(request, "admin/finances/tariff.html", context, status_code=422)
        return Redirect(path="/admin/tariffs?m=saved", status_code=303)
