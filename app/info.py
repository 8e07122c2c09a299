"""Informacje — domain: the tab's view (data, pending changes, the edit form), change
requests and the PIN change, so that the route only parses and renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app import changes, customers, sessions
from app.changes import PinChange, Validation
from app.customers import CustomerInfo
from app.settings import Settings


@dataclass(frozen=True)
class InfoView:
    info: CustomerInfo
    fields: tuple[str, ...]  # the fields this ISP lets customers edit
    current: dict[str, str]  # every field's value as text
    pending: dict[str, str]  # field -> the value waiting for an operator
    shown: dict[str, str]  # what the edit form starts with: the pending value, else the current

    def context(self) -> dict:
        """The template's names (info/page.html and its fragments)."""
        return {"info": self.info, "current": self.current, "pending": self.pending,
                "fields": self.fields, "labels": changes.FIELDS, "booleans": changes.BOOLEANS}


async def info_view(customer_id: int, settings: Settings, today: date,
                    session_started: datetime | None) -> InfoView | None:
    """Everything the Informacje tab shows; None when there is no such customer."""
    data = await customers.info_data(customer_id, today, session_started)
    if data is None:
        return None
    fields = changes.editable_fields(settings)
    pending = {f: r["new_value"] for f, r in (await changes.pending_for(customer_id)).items()}
    current = {f: changes.as_text(f, data.customer[f]) for f in changes.FIELDS}
    return InfoView(data, fields, current, pending, {f: pending.get(f, current[f]) for f in fields})


async def request_changes(customer_id: int, settings: Settings, raw: dict[str, str | bool | None],
                          now: datetime) -> tuple[Validation, list[str]]:
    """Validate what the form sent against the current data and file change requests.
    Returns the validation and the fields now pending anew (none when it had errors)."""
    fields = changes.editable_fields(settings)
    current = await customers.get_customer(customer_id) or {}
    checked = changes.validate(raw, current, fields)
    if checked.errors:
        return checked, []
    return checked, await changes.submit(customer_id, checked.values, now)


async def change_pin(customer_id: int, current: str, new: str, repeat: str, now: datetime,
                     keep_token: str | None) -> PinChange:
    """Change the PIN and end the customer's other sessions (all of them, this one too,
    when a third wrong current PIN blocked the account)."""
    result = await changes.change_pin(customer_id, current, new, repeat, now=now)
    if result.blocked:
        await sessions.end_all(sessions.CUSTOMER, customer_id)
    elif result.ok:
        await sessions.end_all(sessions.CUSTOMER, customer_id, except_token=keep_token)
    return result
