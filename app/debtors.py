"""Windykacja — domain: debtors with their days overdue and last reminder, the reminder
history of a customer, and the paper reminder letters (one PDF, a letter per customer)."""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from piccolo.query.functions.aggregate import Sum

from app import pdf, search
from app.settings import ISP
from app.tables.billing import Reminder
from app.tables.customers import Customer
from app.tables.finances import Charge, Payment
from app.transfer import TransferForm, build_transfer, qr_png

SORTS = ("debt", "days", "name", "reminder", "id")
CHANNELS = ("email", "paper", "none")


@dataclass(frozen=True)
class Debtor:
    id: int
    name: str
    address: str
    email: str
    phone: str
    debt: int  # grosze owed, positive
    oldest_unpaid: date | None  # due date (or charge date) of the oldest charge not covered
    days_overdue: int
    last_reminder: datetime | None
    last_channel: str  # "email", "paper" or "" (never reminded)


async def _sums(table, as_of: date) -> dict[int, int]:
    rows = await table.select(table.customer, Sum(table.amount).as_alias("s")).where(
        table.date <= as_of).group_by(table.customer)
    return {r["customer"]: int(r["s"] or 0) for r in rows}


def _oldest_unpaid(charges: list[dict], paid: int) -> date | None:
    """Payments settle the oldest charges first: the due date of the first charge they do
    not cover in full (its invoice's due date, else the charge's own date)."""
    covered = paid
    for c in charges:
        covered -= c["amount"]
        if covered < 0:
            return c["invoice.due_date"] or c["date"]
    return None


async def debtors(as_of: date, *, q: str = "", channel: str = "", min_days: int = 0,
                  sort: str = "debt") -> list[Debtor]:
    """Customers whose charges dated up to `as_of` exceed their payments by then.
    `channel` filters by the last reminder's channel ("none": never reminded), `q` by a
    folded name/address or the customer ID; `sort` is one of SORTS (largest debt,
    most days, name, latest reminder, ID)."""
    charged, paid = await _sums(Charge, as_of), await _sums(Payment, as_of)
    owing = {cid: amount - paid.get(cid, 0) for cid, amount in charged.items() if amount > paid.get(cid, 0)}
    if not owing:
        return []
    ids = list(owing)
    people = {r["id"]: r for r in await Customer.select(
        Customer.id, Customer.name, Customer.street, Customer.postal_code, Customer.city, Customer.email,
        Customer.phone, Customer.search_text).where(Customer.id.is_in(ids))}
    charges: dict[int, list[dict]] = defaultdict(list)
    for c in await Charge.select(Charge.customer, Charge.date, Charge.amount, Charge.invoice.due_date).where(
            Charge.customer.is_in(ids) & (Charge.date <= as_of)).order_by(Charge.date, Charge.id):
        charges[c["customer"]].append(c)
    last = await last_reminders(ids)
    folded = search.fold(q)
    result = []
    for cid, debt in owing.items():
        p = people[cid]
        if folded and folded not in p["search_text"] and q.strip().lstrip("0") != str(cid):
            continue
        oldest = _oldest_unpaid(charges[cid], paid.get(cid, 0))
        days = max(0, (as_of - oldest).days) if oldest else 0
        reminder = last.get(cid)
        debtor = Debtor(cid, p["name"], _address(p), p["email"], p["phone"], debt, oldest, days,
                        reminder["created_at"] if reminder else None, reminder["channel"] if reminder else "")
        if channel in CHANNELS and (debtor.last_channel or "none") != channel:
            continue
        if debtor.days_overdue < min_days:
            continue
        result.append(debtor)
    return _sorted(result, sort)


def _sorted(rows: list[Debtor], sort: str) -> list[Debtor]:
    key = {"debt": lambda d: (-d.debt, d.id), "days": lambda d: (-d.days_overdue, -d.debt, d.id),
           "name": lambda d: (search.fold(d.name), d.id), "id": lambda d: d.id,
           "reminder": lambda d: (d.last_reminder is None, -(d.last_reminder.timestamp()) if d.last_reminder else 0, d.id)}
    return sorted(rows, key=key.get(sort, key["debt"]))


def _address(p: dict) -> str:
    return f"{p['street']}, {p['postal_code']} {p['city']}".strip(" ,")


async def last_reminders(customer_ids: list[int]) -> dict[int, dict]:
    """The newest reminder of each customer: {customer ID: {created_at, channel}}."""
    rows = await Reminder.select(Reminder.customer, Reminder.created_at, Reminder.channel, Reminder.id).where(
        Reminder.customer.is_in(customer_ids or [0])).order_by(Reminder.id)
    return {r["customer"]: r for r in rows}


async def customer_reminders(customer_id: int, limit: int = 50) -> list[dict]:
    """Every reminder a customer got, newest first, with its channel and whether it went out."""
    return await Reminder.select(Reminder.id, Reminder.period, Reminder.amount, Reminder.channel,
                                 Reminder.email, Reminder.sent_at, Reminder.created_at).where(
        Reminder.customer == customer_id).order_by(Reminder.id, ascending=False).limit(limit)


# --- paper letters ------------------------------------------------------------------

@dataclass(frozen=True)
class Letter:
    customer_id: int
    name: str
    address: str
    amount: int
    form: TransferForm
    qr_src: str  # the QR code as a data: URI (xhtml2pdf reads no files but fonts)
    period: str


async def paper_count(period: str) -> int:
    return await Reminder.count().where((Reminder.channel == "paper") & (Reminder.period == period))


async def paper_letters(isp: ISP, period: str) -> list[Letter]:
    """One letter for each paper reminder of `period` ("YYYY-MM"), by customer ID."""
    rows = await Reminder.select(
        Reminder.customer, Reminder.amount, Reminder.period, Reminder.customer.name, Reminder.customer.street,
        Reminder.customer.postal_code, Reminder.customer.city, Reminder.customer.mail_street,
        Reminder.customer.mail_postal_code, Reminder.customer.mail_city,
    ).where((Reminder.channel == "paper") & (Reminder.period == period)).order_by(Reminder.customer)
    letters = []
    for r in rows:
        address = _postal(r)
        form = build_transfer(isp, r["customer"], r["customer.name"], address, r["amount"])
        png = base64.b64encode(qr_png(form.qr)).decode("ascii")
        letters.append(Letter(r["customer"], r["customer.name"], address, r["amount"], form,
                              f"data:image/png;base64,{png}", r["period"]))
    return letters


def _postal(r: dict) -> str:
    """Where the letter goes: the correspondence address when there is one."""
    if r["customer.mail_street"] or r["customer.mail_city"]:
        return f"{r['customer.mail_street']}, {r['customer.mail_postal_code']} {r['customer.mail_city']}"
    return f"{r['customer.street']}, {r['customer.postal_code']} {r['customer.city']}"


def render_letters(isp: ISP, letters: list[Letter], today: date) -> bytes:
    """The letters as one PDF, each on its own page (CPU work: run it via pdf.in_thread)."""
    if not letters:
        raise ValueError("no letters to render")
    return pdf.render_pdf("reminders.html", {"isp": isp, "letters": letters, "today": today})
