"""Finanse — admin page context shared by the money routes (finances, payments, contracts):
the admin Finanse page of one customer and its notices, built in one place so that every
route rendering it (with a form sent back) shows the same data."""

from __future__ import annotations

from datetime import date

from litestar import Request
from litestar.exceptions import NotFoundException

from app import customers, finances
from app.finances import ChargeForm, PaymentForm
from app.i18n import N_
from app.routes._render import notice
from app.routes._session import settings_of
from app.routes.admin._common import admin_context
from app.sessions import ActiveSession

PAID = {"paid": N_("Wpłata zaksięgowana.")}
NOTICES = {**PAID, "charged_now": N_("Opłata dodana i zafakturowana."),
           "charged_next": N_("Opłata dodana; trafi na najbliższą fakturę miesięczną."),
           "corrected": N_("Faktura korygująca wystawiona."), "reversed": N_("Wpłata wycofana (storno)."),
           "moved": N_("Wpłata przeniesiona do innego klienta.")}


async def finances_context(request: Request, operator: ActiveSession, customer_id: int, year: int | None = None,
                           **extra) -> dict:
    """The admin Finanse page of one customer (404 for an unknown one); `extra` overrides
    (a form sent back with its errors, a message)."""
    customer = await customers.get_customer(customer_id)
    if customer is None:
        raise NotFoundException()
    today = date.today()
    data = await finances.finances_data(customer_id, settings_of(request).isp, today, year)
    return {**await admin_context(operator), "customer": customer, "fin": data,
            "invoices": await finances.invoice_numbers(customer_id),
            "payments": await finances.recent_payments(100, customer_id),
            "one_offs": await finances.pending_one_offs(customer_id),
            "form": PaymentForm(customer_id=str(customer_id), date=today.isoformat()),
            "charge_form": ChargeForm(date=today.isoformat()), "notice": notice(request, NOTICES), **extra}
