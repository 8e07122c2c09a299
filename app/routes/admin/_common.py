"""Admin — routes: what every admin page shares, the operator guard and the admin menu."""

from __future__ import annotations

from litestar.di import Provide

from app import operators
from app.i18n import N_
from app.routes._session import provide_operator_session
from app.sessions import ActiveSession

OPERATOR_DEPENDENCIES = {"operator": Provide(provide_operator_session)}

# (path, label) of the admin menu; later sections add theirs.
ADMIN_MENU: list[tuple[str, str]] = [("/admin/customers", N_("Klienci"))]
ADMIN_MENU += [("/admin/payments", N_("Wpłaty")), ("/admin/tariffs", N_("Taryfy"))]
ADMIN_MENU += [("/admin/billing", N_("Rozliczenia")), ("/admin/payments/import", N_("Wyciągi"))]
ADMIN_MENU += [("/admin/invoices", N_("Faktury")), ("/admin/ksef", N_("KSeF")), ("/admin/debtors", N_("Dłużnicy"))]
ADMIN_MENU += [("/admin/changes", N_("Zmiany danych")), ("/admin/messages", N_("Wiadomości"))]
ADMIN_MENU.append(("/admin/helpdesk", N_("Helpdesk")))
ADMIN_MENU.append(("/admin/traffic", N_("Statystyki")))


async def admin_context(operator: ActiveSession) -> dict:
    return {"operator": await operators.header(operator.subject_id), "menu": ADMIN_MENU}
