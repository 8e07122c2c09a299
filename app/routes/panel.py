"""Customer panel — routes: what every panel page shares, the guard dependency and the tab bar."""

from __future__ import annotations

from litestar.di import Provide

from app import messages, tickets
from app.i18n import N_
from app.routes._session import provide_customer_session
from app.sessions import ActiveSession

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
    return {**await messages.panel_shell(session.subject_id), "tabs": TABS,
            "answers": await tickets.unseen_count(session.subject_id)}
