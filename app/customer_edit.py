"""Klienci — domain: the operator edits a customer's data, checked by the same rules as
the customer's own change requests (app/changes.py), audited, the customer told by e-mail."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from app import changes, db, mail, search
from app.changes import BOOLEANS, MAIL_ADDRESS, Validation, as_text
from app.i18n import N_
from app.settings import ISP
from app.tables.customers import Customer

# Every field of a customer an operator may set, with its label (msgid), in form order.
FIELDS: dict[str, str] = {
    "name": N_("Imię i nazwisko / nazwa"),
    "street": N_("Ulica i numer"),
    "postal_code": N_("Kod pocztowy"),
    "city": N_("Miejscowość"),
    **changes.FIELDS,
    "notes": N_("Notatki biura"),
}
SERVICE_ADDRESS = ("street", "postal_code", "city")
# Changes of these are mailed to the customer (to the old address too, when it changes).
CONTACT = ("email", "phone", *SERVICE_ADDRESS, *MAIL_ADDRESS)
NOTES_LENGTH = 2000
NAME_LENGTH = 200


def _control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text)


def _check_name(text: str) -> tuple[str, str | None]:
    name = " ".join(text.split())
    if not name:
        return name, N_("Podaj imię i nazwisko lub nazwę firmy.")
    if len(name) > NAME_LENGTH:
        return name, N_("Za długi tekst.")
    if _control_chars(name):
        return name, N_("Niedozwolone znaki.")
    return name, None


def _check_notes(text: str) -> tuple[str, str | None]:
    notes = text.strip().replace("\r\n", "\n")
    if len(notes) > NOTES_LENGTH:
        return notes, N_("Za długi tekst.")
    if _control_chars(notes):
        return notes, N_("Niedozwolone znaki.")
    return notes, None


def check(raw: dict[str, str | bool | None], current: dict | None = None) -> Validation:
    """Validate an admin form: `raw` maps fields to what was sent (None: not sent, so not
    changed). Contact data, NIP, postal codes and consents go through changes.validate,
    the service address by the rules of the correspondence address, name and notes here. Same result shape as changes.validate."""
    current = current or {}
    result = changes.validate(raw, current, tuple(changes.FIELDS))
    # The service address reuses the correspondence-address rules under their names, one
    # field at a time: it need not be complete (a new customer may have only a town yet).
    for s, m in zip(SERVICE_ADDRESS, MAIL_ADDRESS):
        one = changes.validate({m: raw.get(s)}, {}, (m,))
        if m in one.values:
            result.values[s], result.form[s] = one.values[m], one.form[m]
        if m in one.errors:
            result.errors[s] = one.errors[m]
    for name, checker in (("name", _check_name), ("notes", _check_notes)):
        if raw.get(name) is not None:
            clean, error = checker(str(raw[name]))
            result.values[name], result.form[name] = clean, (clean if error is None else str(raw[name]))
            if error:
                result.errors[name] = error
    return result


def form_values(customer: dict) -> dict[str, str]:
    """A customer row as the edit form shows it (booleans "1"/"0")."""
    return {f: as_text(f, customer.get(f)) for f in FIELDS}


@dataclass
class EditResult:
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    notices: list[int] = field(default_factory=list)  # outbox rows of the e-mails to the customer
    found: bool = True

    @property
    def ok(self) -> bool:
        return self.found and not self.errors


def _typed(name: str, value: str):
    return value == "1" if name in BOOLEANS else value


async def update_customer(customer_id: int, raw: dict[str, str | bool | None], operator_id: int,
                          now: datetime, isp: ISP) -> EditResult:
    """Check and save an operator's edit in one transaction: every changed field audited
    ("edit", old → new, the operator), the search key refreshed, and, when contact data
    changed, an e-mail to the customer queued in the outbox. Nothing is saved on errors."""
    async with db.transaction():
        query = Customer.select(*[getattr(Customer, f) for f in FIELDS]).where(Customer.id == customer_id)
        # Two operators saving at once: the second waits and compares with the first's result
        # (SQLite's BEGIN IMMEDIATE serialises the whole transaction already).
        current = await (query if db.is_sqlite() else query.lock_rows()).first()
        if current is None:
            return EditResult(found=False)
        checked = check(raw, current)
        result = EditResult(errors=checked.errors, form={**form_values(current), **checked.form})
        if checked.errors:
            return result
        old = form_values(current)
        changed = {f: v for f, v in checked.values.items() if v != old[f]}
        if not changed:
            return result
        await Customer.update({getattr(Customer, f): _typed(f, v) for f, v in changed.items()}).where(
            Customer.id == customer_id)
        for f, v in changed.items():
            await changes.record(customer_id, "operator", operator_id, "edit", f, old[f], v, now)
        await search.refresh([customer_id])
        result.changed = list(changed)
        contact = [f for f in changed if f in CONTACT]
        if contact:
            result.notices = await _queue_notice(isp, old, {**old, **changed}, contact, now)
    return result


async def _queue_notice(isp: ISP, old: dict, new: dict, fields: list[str], now: datetime) -> list[int]:
    """One e-mail (Polish: the customer's language, not the operator's) to the new address,
    copied to the old one when the address itself changed; none without any address."""
    recipients = [a for a in dict.fromkeys([new["email"], old["email"]]) if a]
    lines = ["Dzień dobry,", "", "biuro zmieniło Twoje dane kontaktowe w Panelu Klienta (WBOK):", ""]
    for f in fields:
        lines.append(f"- {FIELDS[f]}: {old[f] or '(puste)'} → {new[f] or '(puste)'}")
    lines += ["", "Jeśli to nie Ty o to prosiłeś, skontaktuj się z biurem:",
              f"{isp.name}, tel. {isp.phone}, {isp.email}"]
    return [await mail.enqueue(address, "Zmiana danych w WBOK", "\n".join(lines), now) for address in recipients]
