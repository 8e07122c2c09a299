"""Finanse — routes: the customer's balance, tariff, statement, invoice PDFs and transfer form."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import finances, invoices, ksef
from app.i18n import _
from app.validation import parse_id
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
        ids = [r.invoice_id for r in data.statement.rows if r.invoice_id]
        context = {**await panel_context(session), "fin": data, "select_all": select == "all",
                   "qr": qr_svg(data.transfer.qr) if data.transfer else "",
                   "ksef_numbers": await ksef.ksef_numbers(ids)}
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
    async def print_invoices(self, request: Request, session: NamedDependency[ActiveSession],
                             invoice_id: FromQuery[list[int] | None] = None) -> Response:
        if not invoice_id:
            return _message(_("Nie zaznaczono faktur"),
                            _("Zaznacz co najmniej jedną fakturę na liście, a potem wybierz „Drukuj zaznaczone”."),
                            status_code=422)
        ids = list(dict.fromkeys(invoice_id[:200]))
        docs = await invoices.load_invoice_docs(ids, session.subject_id)
        if not docs:
            raise NotFoundException()
        stamps = await ksef.stamps(ids, settings_of(request))
        return pdf_response(await invoices.invoices_pdf(docs, stamps), "faktury.pdf")

    @get("/invoices/{name:str}")
    async def show_invoice(self, request: Request, session: NamedDependency[ActiveSession],
                           name: FromPath[str]) -> Response:
        """`/finances/invoices/12` is the invoice's PDF, `/finances/invoices/12.xml` its FA(3) XML."""
        stem, xml = (name[:-4], True) if name.endswith(".xml") else (name, False)
        invoice_id = parse_id(stem)  # digits within the column's range, else no such invoice
        if invoice_id is None:
            raise NotFoundException()
        settings = settings_of(request)
        doc = await invoices.load_invoice_doc(invoice_id, session.subject_id)
        if doc is None:
            raise NotFoundException()
        filename = "faktura-" + doc.number.replace("/", "-")
        if xml:
            body = await ksef.invoice_xml(invoice_id, settings, session.subject_id)
            return Response(body, media_type="application/xml; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{filename}.xml"'})
        stamp = await ksef.stamp(invoice_id, settings)
        return pdf_response(await invoices.invoice_pdf(doc, stamp), filename + ".pdf")
