"""Finanse — routes: the customer's balance, tariff, statement, invoice PDFs and transfer form."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import finances, invoices
from app.i18n import _
from app.routes._render import render
from app.routes._session import settings_of
from app.routes.responses import pdf_response
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from app.sessions import ActiveSession
from app.transfer import qr_svg


def _message(title: str, message: str, status_code: int = 200) -> Template:
    return Template("error.html", status_code=status_code,
                    context={"title": title, "message": message, "back": "/finances",
                             "back_label": _("Wróć do finansów")})


class FinancesController(Controller):
    path = "/finances"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_finances(self, request: Request, session: NamedDependency[ActiveSession],
                            year: FromQuery[int | None] = None, select: FromQuery[str] = "") -> Template:
        data = await finances.finances_data(session.subject_id, settings_of(request).isp,
                                            date.today(), year)
        if data is None:
            raise NotFoundException()
        context = {**await panel_context(session), "fin": data, "select_all": select == "all",
                   "qr": qr_svg(data.transfer.qr) if data.transfer else ""}
        return render(request, "finances/page.html", context, fragment="finances/_data.html")

    @get("/transfer")
    async def show_transfer(self, request: Request, session: NamedDependency[ActiveSession]) -> Response:
        form = await finances.transfer_form(session.subject_id, settings_of(request).isp)
        if form is None:
            raise NotFoundException()
        if form.amount == 0:
            return _message(_("Brak zadłużenia"), _("Nie masz zaległości, więc druk przelewu nie jest potrzebny."))
        return pdf_response(await invoices.transfer_pdf(form), "druk-przelewu.pdf")

    @get("/invoices/print")
    async def print_invoices(self, session: NamedDependency[ActiveSession],
                             invoice_id: FromQuery[list[int] | None] = None) -> Response:
        if not invoice_id:
            return _message(_("Nie zaznaczono faktur"),
                            _("Zaznacz co najmniej jedną fakturę na liście, a potem wybierz „Drukuj zaznaczone”."),
                            status_code=422)
        docs = await invoices.load_invoice_docs(invoice_id[:200], session.subject_id)
        if not docs:
            raise NotFoundException()
        return pdf_response(await invoices.invoices_pdf(docs), "faktury.pdf")

    @get("/invoices/{invoice_id:int}")
    async def show_invoice(self, session: NamedDependency[ActiveSession], invoice_id: FromPath[int]) -> Response:
        doc = await invoices.load_invoice_doc(invoice_id, session.subject_id)
        if doc is None:
            raise NotFoundException()
        name = "faktura-" + doc.number.replace("/", "-") + ".pdf"
        return pdf_response(await invoices.invoice_pdf(doc), name)
