"""Zmiany danych — domain: customer data change requests, the operator's decisions, PIN change, audit."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from app import db, mail, search, validation
from app.auth import MAX_FAILED_PINS, block_if_exhausted, claim_pin_check, valid_pin_format
from app.i18n import N_
from app.security import TRIVIAL_PINS, hash_secret_async, verify_secret_async
from app.settings import ISP, Settings
from app.tables.auth import Operator
from app.tables.changes import AuditLog, ChangeRequest
from app.tables.customers import Customer

# Fields a customer may ask to change, with their labels (msgids), in form order.
FIELDS: dict[str, str] = {
    "email": N_("E-mail"),
    "phone": N_("Telefon"),
    "mail_street": N_("Adres korespondencyjny: ulica i numer"),
    "mail_postal_code": N_("Adres korespondencyjny: kod pocztowy"),
    "mail_city": N_("Adres korespondencyjny: miejscowość"),
    "nip": N_("NIP"),
    "invoice_by_email": N_("Faktury"),
    "marketing_consent": N_("Zgoda na informacje handlowe"),
}
AUDIT_LABELS = {**FIELDS, "pin": N_("PIN"), "tariff": N_("Taryfa"), "payment": N_("Wpłata"), "charge": N_("Opłata")}
BOOLEANS = frozenset({"invoice_by_email", "marketing_consent"})
MAIL_ADDRESS = ("mail_street", "mail_postal_code", "mail_city")
TRUE_WORDS = frozenset({"on", "1", "true", "tak", "yes"})
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"

# Kept for callers that import them; the checks themselves live in app/validation.py
# (email-validator, phonenumbers, python-stdnum).
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
POSTAL = validation.POSTAL
# Each text field's limit is its column's length, so the database never refuses a value.
LENGTHS = {f: validation.column_length(getattr(Customer, f)) for f in FIELDS if f not in BOOLEANS}


def editable_fields(settings: Settings) -> tuple[str, ...]:
    """The ISP decides whether the correspondence address may be changed in the panel."""
    allow_mail = settings.isp.allow_mail_address_change
    return tuple(f for f in FIELDS if allow_mail or f not in MAIL_ADDRESS)


def as_text(field_name: str, value) -> str:
    """A customer attribute as a change-request value: booleans "1"/"0", text stripped."""
    if field_name in BOOLEANS:
        return "1" if value else "0"
    return str(value or "").strip()


def normalise_phone(text: str) -> str | None:
    """A Polish number as `+48 600 100 200`; spaces, dashes, dots, brackets and a
    +48 / 0048 prefix are allowed. None when it is no valid number (phonenumbers)."""
    return validation.normalise_phone(text)


NORMALISERS = {"email": (validation.normalise_email, validation.EMAIL),
               "phone": (validation.normalise_phone, validation.PHONE),
               "nip": (validation.normalise_nip, validation.NIP),
               "mail_postal_code": (validation.normalise_postal_code, validation.POSTAL_CODE)}


def _clean_one(name: str, text: str) -> tuple[str, str | None]:
    """(clean value, error msgid or None) for one text field; empty is always allowed.
    Control characters are refused before anything else (they never reach the database)."""
    if validation.has_control(text):
        return text, validation.CONTROL
    text = " ".join(text.split())
    if not text:
        return "", None
    if len(text) > LENGTHS.get(name, 200):
        return text, validation.TOO_LONG
    if name in NORMALISERS:
        normalise, message = NORMALISERS[name]
        clean = normalise(text)
        if clean is None or len(clean) > LENGTHS.get(name, 200):
            return text, message
        return clean, None
    return text, None


@dataclass
class Validation:
    values: dict[str, str] = field(default_factory=dict)  # clean, for the fields sent
    form: dict[str, str] = field(default_factory=dict)  # what to show back in the form
    errors: dict[str, str] = field(default_factory=dict)  # field -> msgid


def validate(raw: dict[str, str | bool | None], current: dict, fields: tuple[str, ...]) -> Validation:
    """Check what the form sent; a field that is absent (None) is not being changed.
    Booleans arrive parsed; text is checked and normalised (phone, NIP, postal code)."""
    result = Validation()
    for name in fields:
        value = raw.get(name)
        if value is None:
            continue
        if name in BOOLEANS:
            clean, error = ("1" if value else "0"), None
        else:
            clean, error = _clean_one(name, str(value))
        result.values[name], result.form[name] = clean, (clean if error is None else str(value))
        if error:
            result.errors[name] = error
    effective = {f: result.values.get(f, as_text(f, current.get(f))) for f in FIELDS}
    if effective["invoice_by_email"] == "1" and not effective["email"] and "email" not in result.errors:
        result.errors["email"] = N_("Aby dostawać faktury e-mailem, podaj adres e-mail.")
    if any(effective[f] for f in MAIL_ADDRESS):
        for f in MAIL_ADDRESS:
            if not effective[f] and f in fields and f not in result.errors:
                result.errors[f] = N_("Uzupełnij cały adres korespondencyjny albo zostaw wszystkie jego pola puste.")
    return result


async def record(customer_id: int, actor_kind: str, actor_id: int | None, action: str,
                 field_name: str = "", old: str = "", new: str = "", at: datetime | None = None) -> None:
    """One audit entry. Callers pass no secrets: a PIN change logs only that it happened."""
    entry = AuditLog(customer=customer_id, actor_kind=actor_kind, actor_id=actor_id, action=action,
                     field=field_name, old_value=old, new_value=new)
    if at is not None:
        entry.at = at
    await AuditLog.insert(entry)


async def pending_for(customer_id: int) -> dict[str, dict]:
    rows = await ChangeRequest.select().where(
        (ChangeRequest.customer == customer_id) & (ChangeRequest.status == PENDING))
    return {r["field"]: r for r in rows}


async def submit(customer_id: int, values: dict[str, str], now: datetime) -> list[str]:
    """Turn validated values into change requests; returns the fields now pending anew.
    Unchanged fields make nothing; a newer request replaces the pending one for its field;
    asking for the current value again withdraws the pending request."""
    changed: list[str] = []
    async with db.transaction():
        current = await Customer.select(*[getattr(Customer, f) for f in values]).where(
            Customer.id == customer_id).first() if values else {}
        pending = await pending_for(customer_id)
        for name, new in values.items():
            old, waiting = as_text(name, current[name]), pending.get(name)
            if new == old:
                if waiting:
                    await ChangeRequest.delete().where(ChangeRequest.id == waiting["id"])
                    await record(customer_id, "customer", customer_id, "withdraw", name, old, waiting["new_value"], now)
                continue
            if waiting and waiting["new_value"] == new:
                continue
            if waiting:
                await ChangeRequest.update({ChangeRequest.old_value: old, ChangeRequest.new_value: new,
                                            ChangeRequest.created_at: now}).where(ChangeRequest.id == waiting["id"])
            else:
                await ChangeRequest.insert(ChangeRequest(customer=customer_id, field=name, old_value=old,
                                                         new_value=new, created_at=now))
            await record(customer_id, "customer", customer_id, "request", name, old, new, now)
            changed.append(name)
    return changed


@dataclass(frozen=True)
class Decision:
    change_id: int
    customer_id: int
    field: str
    old_value: str
    new_value: str
    approved: bool
    notice: int | None = None  # the outbox row of the e-mail telling the customer


def _typed(name: str, value: str):
    return value == "1" if name in BOOLEANS else value


async def decide(change_ids: list[int], approve: bool, operator_id: int, now: datetime,
                 isp: ISP | None = None) -> list[Decision]:
    """Approve (apply to the customer record) or reject pending requests, in one transaction.
    Requests already decided are skipped, so a double click decides once. With `isp`, the
    e-mail telling each customer (one per customer) is queued in the same transaction."""
    decisions: list[Decision] = []
    if not change_ids:
        return decisions
    async with db.transaction():
        rows = await ChangeRequest.select().where(
            ChangeRequest.id.is_in(change_ids) & (ChangeRequest.status == PENDING)).order_by(ChangeRequest.id)
        for r in rows:
            name, cid = r["field"], r["customer"]
            old = r["old_value"]
            if approve and name in FIELDS:
                column = getattr(Customer, name)
                current = await Customer.select(column).where(Customer.id == cid).first()
                old = as_text(name, current[name]) if current else old
                await Customer.update({column: _typed(name, r["new_value"])}).where(Customer.id == cid)
            await ChangeRequest.update({ChangeRequest.status: APPROVED if approve else REJECTED,
                                        ChangeRequest.decided_at: now, ChangeRequest.decided_by: operator_id}
                                       ).where(ChangeRequest.id == r["id"])
            await record(cid, "operator", operator_id, "approve" if approve else "reject", name, old, r["new_value"], now)
            decisions.append(Decision(r["id"], cid, name, old, r["new_value"], approve))
        await search.refresh(sorted({d.customer_id for d in decisions if d.approved}))
        if isp is not None:
            decisions = await _queue_notices(isp, decisions, now)
    return decisions


async def queue(limit: int = 500) -> list[dict]:
    """Pending requests, oldest first, with the customer's name."""
    return await ChangeRequest.select(
        ChangeRequest.id, ChangeRequest.customer, ChangeRequest.customer.name, ChangeRequest.field,
        ChangeRequest.old_value, ChangeRequest.new_value, ChangeRequest.created_at,
    ).where(ChangeRequest.status == PENDING).order_by(
        ChangeRequest.created_at, ChangeRequest.id).limit(limit)


async def pending_count() -> int:
    return await ChangeRequest.count().where(ChangeRequest.status == PENDING)


async def audit_log(customer_id: int, limit: int = 100) -> list[dict]:
    """The customer's audit trail, newest first; operators named by login."""
    rows = await AuditLog.select().where(AuditLog.customer == customer_id).order_by(
        AuditLog.at, AuditLog.id, ascending=False).limit(limit)
    ids = {r["actor_id"] for r in rows if r["actor_kind"] == "operator" and r["actor_id"]}
    names = {o["id"]: o["username"] for o in await Operator.select(Operator.id, Operator.username).where(
        Operator.id.is_in(list(ids)))} if ids else {}
    for r in rows:
        r["actor"] = names.get(r["actor_id"], "") if r["actor_kind"] == "operator" else ""
        r["label"] = AUDIT_LABELS.get(r["field"], r["field"])
    return rows


# The customer is written to in Polish: the operator's UI language says nothing of theirs.
MAIL_VALUE = {"1": "tak", "0": "nie", "": "(puste)"}


def _mail_value(name: str, value: str) -> str:
    if name == "invoice_by_email":
        return "e-mailem" if value == "1" else "papierowo"
    return MAIL_VALUE.get(value, value) if name in BOOLEANS or not value else value


async def _queue_notices(isp: ISP, decisions: list[Decision], now: datetime) -> list[Decision]:
    """Queue one e-mail per customer with an address about their decided requests; the
    decisions come back carrying their notice's outbox ID."""
    by_customer: dict[int, list[Decision]] = defaultdict(list)
    for d in decisions:
        by_customer[d.customer_id].append(d)
    emails = {r["id"]: r["email"] for r in await Customer.select(Customer.id, Customer.email).where(
        Customer.id.is_in(list(by_customer) or [0]))}
    notices: dict[int, int] = {}
    for cid, items in by_customer.items():
        if not emails.get(cid):
            continue
        lines = ["Dzień dobry,", "", "rozpatrzyliśmy Twoje zmiany danych w Panelu Klienta (WBOK):", ""]
        for d in items:
            verdict = "zaakceptowana" if d.approved else "odrzucona"
            lines.append(f"- {FIELDS.get(d.field, d.field)}: {_mail_value(d.field, d.new_value)} — {verdict}")
        lines += ["", "Jeśli masz pytania, skontaktuj się z biurem:", f"{isp.name}, tel. {isp.phone}, {isp.email}"]
        notices[cid] = await mail.enqueue(emails[cid], "Zmiana danych w WBOK", "\n".join(lines), now)
    return [replace(d, notice=notices.get(d.customer_id)) for d in decisions]


async def notify(settings: Settings, decisions: list[Decision]) -> tuple[int, int]:
    """Send now the notices that decide() queued (the outbox retries any that fail);
    returns (mails not failed: sent now or by another sender, mails queued)."""
    ids = sorted({d.notice for d in decisions if d.notice})
    if not ids:
        return 0, 0
    result = await mail.deliver_outbox(settings, ids=ids)
    return len(ids) - result.failed, len(ids)


@dataclass
class PinChange:
    errors: dict[str, str] = field(default_factory=dict)
    blocked: bool = False  # the wrong current PIN was the third in a row

    @property
    def ok(self) -> bool:
        return not self.errors


async def change_pin(customer_id: int, current: str, new: str, repeat: str, now: datetime) -> PinChange:
    """Check and set a new PIN (4–8 digits, not trivial, not the old one). The caller
    ends the customer's other sessions. Audited without the PIN."""
    result = PinChange()
    if not valid_pin_format(new):
        result.errors["new_pin"] = N_("Nowy PIN musi mieć od 4 do 8 cyfr.")
    elif new in TRIVIAL_PINS:
        result.errors["new_pin"] = N_("Ten PIN jest zbyt prosty do odgadnięcia. Wybierz inny.")
    elif new == current:
        result.errors["new_pin"] = N_("Nowy PIN musi się różnić od obecnego.")
    if new != repeat and "new_pin" not in result.errors:
        result.errors["new_pin2"] = N_("Powtórzony PIN różni się od nowego.")
    # The check of the current PIN wins its place first, as at login: a stolen session
    # gets three guesses, however many requests it sends at once.
    claim = await claim_pin_check(customer_id)
    if claim is None:
        result.blocked = await Customer.exists().where(
            (Customer.id == customer_id) & (Customer.blocked == True))  # noqa: E712
        result.errors["current_pin"] = N_("Zbyt wiele prób naraz. Spróbuj ponownie za chwilę.")
        return result
    if not await verify_secret_async(claim["pin_hash"], current[:8]):
        result.errors["current_pin"] = N_("Obecny PIN jest nieprawidłowy.")
        if claim["failed_logins"] >= MAX_FAILED_PINS and await block_if_exhausted(customer_id, now):
            result.blocked = True
            await record(customer_id, "customer", customer_id, "blocked", "pin", at=now)
        return result
    pin_hash = await hash_secret_async(new) if not result.errors else None
    async with db.transaction():
        # The right PIN resets the counter, in the transaction that sees the account unblocked.
        values = {Customer.failed_logins: 0, **({Customer.pin_hash: pin_hash} if pin_hash else {})}
        fresh = await Customer.update(values).where(
            (Customer.id == customer_id) & (Customer.blocked == False)  # noqa: E712
        ).returning(Customer.id)
        if not fresh:
            result.blocked = True
            result.errors["current_pin"] = N_("Obecny PIN jest nieprawidłowy.")
        elif pin_hash:
            await record(customer_id, "customer", customer_id, "pin_change", "pin", at=now)
    return result
