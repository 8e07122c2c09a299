"""Wiadomości — domain: messages from the operator, their audiences, inbox, read and urgent state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app import db
from app.auth import parse_customer_id
from app.i18n import N_
from app.tables.customers import Customer
from app.tables.finances import Charge, Payment
from app.tables.messages import Message, MessageRecipient
from app.tables.tariffs import Assignment, Tariff
from app.validation import CONTROL, has_control

# Labels are msgids (plural forms, as a filter and a column read them).
CATEGORIES: dict[str, str] = {
    "handlowa": N_("handlowa"),
    "rozliczeniowa": N_("rozliczeniowa"),
    "serwisowa": N_("serwisowa"),
}
AUDIENCES: dict[str, str] = {
    "customer": N_("jeden klient"),
    "all": N_("wszyscy klienci"),
    "tariff": N_("wszyscy na taryfie"),
    "debtors": N_("wszyscy z zadłużeniem"),
}
# Commercial messages go only to customers who agreed to them in Informacje.
MARKETING = "handlowa"
MAX_BODY = 20_000


def _debtor_sql() -> str:
    charges, payments = Charge._meta.tablename, Payment._meta.tablename
    return (f'SELECT ch.customer FROM (SELECT customer, SUM(amount) AS total FROM "{charges}" '
            f'GROUP BY customer) ch LEFT JOIN (SELECT customer, SUM(amount) AS total FROM "{payments}" '
            'GROUP BY customer) pa ON pa.customer = ch.customer WHERE ch.total > COALESCE(pa.total, 0)')


async def debtor_ids() -> list[int]:
    """Customers whose balance (payments − charges, in grosze) is below zero: one grouped
    query over the Finanse tables, whatever the number of customers."""
    return [r["customer"] for r in await Customer.raw(_debtor_sql())]


@dataclass
class Draft:
    subject: str
    body: str
    category: str
    audience: str
    urgent: bool = False
    customer_id: int | None = None
    tariff_id: int | None = None


@dataclass
class Compose:
    draft: Draft | None
    form: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


async def validate(form: dict[str, str]) -> Compose:
    """Check the compose form; every problem is reported next to its field."""
    f = {k: str(form.get(k, "")).strip() for k in ("subject", "body", "category", "audience",
                                                     "customer_id", "tariff_id", "urgent")}
    f["body"] = str(form.get("body", "")).replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    if has_control(f["subject"]):
        errors["subject"] = CONTROL
    elif not f["subject"] or len(f["subject"]) > 200:
        errors["subject"] = N_("Podaj temat (do 200 znaków).")
    if has_control(f["body"], multiline=True):
        errors["body"] = CONTROL
    elif not f["body"] or len(f["body"]) > MAX_BODY:
        errors["body"] = N_("Podaj treść wiadomości (do 20 000 znaków).")
    if f["category"] not in CATEGORIES:
        errors["category"] = N_("Wybierz kategorię.")
    if f["audience"] not in AUDIENCES:
        errors["audience"] = N_("Wybierz odbiorców.")
    customer_id = tariff_id = None
    if f["audience"] == "customer":
        customer_id = parse_customer_id(f["customer_id"])
        if customer_id is None or not await Customer.exists().where(Customer.id == customer_id):
            errors["customer_id"] = N_("Nie ma klienta o takim ID.")
    if f["audience"] == "tariff":
        tariff_id = int(f["tariff_id"]) if f["tariff_id"].isdigit() else None
        if tariff_id is None or not await Tariff.exists().where(Tariff.id == tariff_id):
            errors["tariff_id"] = N_("Wybierz taryfę.")
    if errors:
        return Compose(None, f, errors)
    return Compose(Draft(f["subject"], f["body"], f["category"], f["audience"], f["urgent"] == "on",
                         customer_id, tariff_id), f)


def _audience_where(draft: Draft, today: date) -> tuple[str, list]:
    """SQL condition on the customer table (and its arguments) for the draft's audience."""
    customer = Customer._meta.tablename
    where, args = "1 = 1", []
    if draft.audience == "customer":
        where, args = "id = {}", [draft.customer_id]
    elif draft.audience == "tariff":
        where = (f'id IN (SELECT customer FROM "{Assignment._meta.tablename}" WHERE tariff = {{}} '
                 'AND start <= {} AND ("end" IS NULL OR "end" >= {}))')
        args = [draft.tariff_id, today, today]
    elif draft.audience == "debtors":
        sql = _debtor_sql()
        where = f"id IN ({sql})" if sql else "1 = 0"
    if draft.category == MARKETING:
        where += " AND marketing_consent = {}"
        args.append(True)
    return f'FROM "{customer}" WHERE {where}', args


async def _describe(draft: Draft) -> str:
    """Who it went to, in words, for the operator's list (Polish: stored, not re-translated)."""
    text = {"all": "wszyscy", "debtors": "z zadłużeniem"}.get(draft.audience, "")
    if draft.audience == "customer":
        text = f"klient {draft.customer_id:04d}"
    elif draft.audience == "tariff":
        tariff = await Tariff.select(Tariff.name).where(Tariff.id == draft.tariff_id).first()
        text = f"taryfa {tariff['name'] if tariff else draft.tariff_id}"
    return text + (", ze zgodą marketingową" if draft.category == MARKETING else "")


@dataclass(frozen=True)
class Sent:
    message_id: int | None
    recipients: int


async def send(draft: Draft, operator_id: int | None, now: datetime, today: date) -> Sent:
    """Store the message and deliver it to its whole audience with one INSERT … SELECT,
    so 50,000 recipients take one statement, not 50,000 round trips. Nobody in the
    audience: nothing is stored and `message_id` is None."""
    source, args = _audience_where(draft, today)
    recipients = MessageRecipient._meta.tablename
    async with db.transaction():
        count = (await Customer.raw(f"SELECT COUNT(*) AS n {source}", *args))[0]["n"]
        if not count:
            return Sent(None, 0)
        rows = await Message.insert(Message(
            subject=draft.subject, body=draft.body, category=draft.category, urgent=draft.urgent,
            audience=await _describe(draft), recipients=count, created_by=operator_id, created_at=now,
        )).returning(Message.id)
        message_id = rows[0]["id"]
        await Customer.raw(f'INSERT INTO "{recipients}" (message, customer) '
                           f"SELECT CAST({{}} AS INTEGER), id {source}", message_id, *args)
    return Sent(message_id, count)


async def sent_messages(limit: int = 30) -> list[dict]:
    return await Message.select(Message.id, Message.subject, Message.category, Message.urgent,
                                Message.audience, Message.recipients, Message.created_at,
                                Message.created_by.username).order_by(Message.id, ascending=False).limit(limit)


_INBOX_COLUMNS = (MessageRecipient.message.as_alias("id"), MessageRecipient.message.subject,
                  MessageRecipient.message.category, MessageRecipient.message.urgent,
                  MessageRecipient.message.created_at, MessageRecipient.read_at, MessageRecipient.confirmed_at)


def _plain(row: dict) -> dict:
    return {k.removeprefix("message."): v for k, v in row.items()}


async def inbox(customer_id: int, category: str | None = None, limit: int = 200) -> list[dict]:
    """The customer's messages, newest first; `category` filters when it is a known one."""
    query = MessageRecipient.select(*_INBOX_COLUMNS).where(MessageRecipient.customer == customer_id)
    if category in CATEGORIES:
        query = query.where(MessageRecipient.message.category == category)
    rows = await query.order_by(MessageRecipient.message.created_at, MessageRecipient.message,
                                ascending=False).limit(limit)
    return [_plain(r) for r in rows]


async def open_message(customer_id: int, message_id: int, now: datetime) -> dict | None:
    """One of the customer's own messages, marked read; None for anyone else's."""
    row = await MessageRecipient.select(MessageRecipient.id.as_alias("rid"), *_INBOX_COLUMNS,
                                        MessageRecipient.message.body).where(
        (MessageRecipient.customer == customer_id) & (MessageRecipient.message == message_id)).first()
    if row is None:
        return None
    if row["read_at"] is None:
        await MessageRecipient.update({MessageRecipient.read_at: now}).where(
            (MessageRecipient.id == row["rid"]) & MessageRecipient.read_at.is_null())
        row["read_at"] = now
    return _plain(row)


async def confirm(customer_id: int, message_id: int, now: datetime) -> bool:
    """Acknowledge an urgent message (also marks it read); False when it is not theirs."""
    rows = await MessageRecipient.select(MessageRecipient.id, MessageRecipient.read_at).where(
        (MessageRecipient.customer == customer_id) & (MessageRecipient.message == message_id))
    if not rows:
        return False
    await MessageRecipient.update({MessageRecipient.confirmed_at: now}).where(
        (MessageRecipient.id == rows[0]["id"]) & MessageRecipient.confirmed_at.is_null())
    if rows[0]["read_at"] is None:
        await MessageRecipient.update({MessageRecipient.read_at: now}).where(MessageRecipient.id == rows[0]["id"])
    return True


async def unread_count(customer_id: int) -> int:
    return await MessageRecipient.count().where(
        (MessageRecipient.customer == customer_id) & MessageRecipient.read_at.is_null())


async def urgent_unconfirmed(customer_id: int) -> list[dict]:
    """Urgent messages the customer has not confirmed yet: a banner on every panel page."""
    rows = await MessageRecipient.select(MessageRecipient.message.as_alias("id"),
                                         MessageRecipient.message.subject).where(
        (MessageRecipient.customer == customer_id) & (MessageRecipient.message.urgent == True)  # noqa: E712
        & MessageRecipient.confirmed_at.is_null()).order_by(MessageRecipient.message, ascending=False)
    return [_plain(r) for r in rows]


# The panel shell in one statement: the customer's name, the unread count and one row per
# urgent message not yet confirmed (or one row with NULLs when there is none).
_SHELL_SQL = """
SELECT c.id AS id, c.name AS name,
       (SELECT COUNT(*) FROM message_recipient u
         WHERE u.customer = c.id AND u.read_at IS NULL) AS unread,
       m.id AS urgent_id, m.subject AS urgent_subject
  FROM customer c
  LEFT JOIN (message_recipient r JOIN message m ON m.id = r.message AND m.urgent = {})
         ON r.customer = c.id AND r.confirmed_at IS NULL
 WHERE c.id = {}
 ORDER BY m.id DESC
"""


async def panel_shell(customer_id: int) -> dict:
    """What every panel page shows around its tab, in one query: `me` (id and name, None
    for no such customer), the `unread` badge and the `urgent` banners (newest first)."""
    rows = await MessageRecipient.raw(_SHELL_SQL, True, customer_id)
    if not rows:
        return {"me": None, "unread": 0, "urgent": []}
    return {"me": {"id": rows[0]["id"], "name": rows[0]["name"]}, "unread": int(rows[0]["unread"]),
            "urgent": [{"id": r["urgent_id"], "subject": r["urgent_subject"]}
                       for r in rows if r["urgent_id"] is not None]}


async def panel_counts(customer_id: int) -> dict:
    """What the panel shell shows on every page: the unread badge and urgent banners."""
    return {"unread": await unread_count(customer_id), "urgent": await urgent_unconfirmed(customer_id)}
