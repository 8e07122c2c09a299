"""What every customer panel page shares: the guard dependency and the tab bar."""

from __future__ import annotations

from litestar.di import Provide

from app import messages
from app.i18n import N_
from app.routes._session import provide_customer_session
from app.sessions import ActiveSession
from app.tables.customers import Customer

# (path, label) of the tabs in the order of the manual. Labels are msgids,
# translated in _tabs.html.
TABS: list[tuple[str, str]] = [
    ("/info", N_("Informacje")),
    ("/finances", N_("Finanse")),
    ("/messages", N_("Wiadomości")),
    ("/stats", N_("Statystyki")),
    ("/helpdesk", N_("Helpdesk")),
]

CUSTOMER_DEPENDENCIES = {"session": Provide(provide_customer_session)}


async def panel_context(session: ActiveSession) -> dict:
    """Who is logged in, for the header, and the tab bar (with the unread badge and the
    urgent-message banners)."""
    me = await Customer.select(Customer.id, Customer.name).where(
        Customer.id == session.subject_id).first()
    return {"me": me, "tabs": TABS, **await messages.panel_counts(session.subject_id)}
