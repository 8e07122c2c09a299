"""Billing: the monthly run that charges every active tariff and issues one invoice per customer.

Proration rule: an assignment covering the whole month is charged its monthly price.
One that starts or ends inside the month is charged for the days it covers (start and
end inclusive): price × days ÷ days-in-month, in exact integer arithmetic, rounded half
up to the grosz. So 79,99 zł from 31 October is 79,99 × 1/31 = 2,58 zł; in February 2028
(29 days) one day is 1/29 of the price.
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app import db, runs
from app.invoices import InvoiceLine, issue_invoice
from app.settings import ISP
from app.tables.billing import BilledMonth, InvoiceDelivery
from app.tables.customers import Customer
from app.tables.tariffs import Assignment

log = logging.getLogger("wbok.billing")
JOB = "billing"
# Customers per transaction. A transaction per customer costs ~20 ms on SQLite (a new
# connection and an fsync each), over the 10,000-customer budget; a batch commits once
# and falls back to one transaction per customer when any of them fails (_bill_batch).
BATCH = 100
MONTHS_PL = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
             "wrzesień", "październik", "listopad", "grudzień")


class BillingError(ValueError):
    """A month that cannot be billed (bad format, in the future)."""


@dataclass
class BillingResult:
    """What one run did. `skipped` when another run holds (or finished) the month."""

    period: str
    invoices: int = 0
    total: int = 0  # gross grosze invoiced by this run
    errors: list[str] = field(default_factory=list)
    skipped: bool = False
    # The month's invoice e-mails after the send that followed the run (delivery.
    # invoice_mail_counts); an e-mail not sent is an error of the run too.
    mails: dict[str, int] | None = None

    def summary(self) -> str:
        from app.money import format_money

        note = " (already run)" if self.skipped else ""
        text = (f"billing {self.period}: {self.invoices} invoices, {format_money(self.total)}, "
                f"{len(self.errors) + self.mails_failed} errors")
        if self.mails and self.mails["queued"]:
            text += (f"; invoice e-mails: {self.mails['queued']} queued, {self.mails['sent']} sent, "
                     f"{self.mails_failed} failed")
        return text + note

    @property
    def mails_failed(self) -> int:
        return (self.mails["failing"] + self.mails["failed"]) if self.mails else 0


def parse_month(value: date | str) -> date:
    """The first day of the month from a date or "YYYY-MM"."""
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        year, month = (int(x) for x in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise BillingError(f"Nieprawidłowy miesiąc {value!r}; podaj RRRR-MM, np. 2026-11.") from exc


def period_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def prorate(price: int, start: date, end: date | None, month: date) -> tuple[int, int, int]:
    """(grosze, days covered, days in month) for an assignment from `start` to `end`
    (inclusive; None = open) in `month`. Half up: (2·p·d + D) // (2·D)."""
    first, last = month, month_end(month)
    lo, hi = max(start, first), min(end or last, last)
    days_in_month = last.day
    days = max(0, (hi - lo).days + 1)
    if days == days_in_month:
        return price, days, days_in_month
    return (2 * price * days + days_in_month) // (2 * days_in_month), days, days_in_month


async def month_lines(month: date) -> dict[int, list[InvoiceLine]]:
    """Every customer's invoice lines for `month`, from one set-based query."""
    first, last = month, month_end(month)
    rows = await Assignment.select(
        Assignment.customer, Assignment.start, Assignment.end, Assignment.tariff.name,
        Assignment.tariff.price, Assignment.tariff.vat,
    ).where((Assignment.start <= last) & (Assignment.end.is_null() | (Assignment.end >= first))
            ).order_by(Assignment.customer).order_by(Assignment.start).order_by(Assignment.id)
    label = f"{MONTHS_PL[month.month - 1]} {month.year}"
    out: dict[int, list[InvoiceLine]] = defaultdict(list)
    for r in rows:
        grosze, days, dim = prorate(r["tariff.price"], r["start"], r["end"], month)
        if grosze <= 0:
            continue
        text = f"Abonament {r['tariff.name']} — {label}"
        if days != dim:
            lo, hi = max(r["start"], first), min(r["end"] or last, last)
            text += f" ({lo:%d.%m}–{hi:%d.%m}, {days}/{dim} dni)"
        out[r["customer"]].append(InvoiceLine(text[:200], 1, "usł.", grosze, r["tariff.vat"]))
    return out


async def pending(month: date) -> tuple[dict[int, list[InvoiceLine]], list[int]]:
    """The month's lines and the customers not billed for it yet."""
    lines = await month_lines(month)
    billed = {r["customer"] for r in await BilledMonth.select(BilledMonth.customer).where(
        BilledMonth.period == period_key(month))}
    return lines, sorted(set(lines) - billed)


class _AlreadyBilled(Exception):
    """Another run billed this customer for the month first; undo what we issued."""


async def _issue_with_marker(customer_id: int, lines: list[InvoiceLine], month: date, today: date,
                             isp: ISP, email: str | None) -> tuple[int, int]:
    """Inside an open transaction: the invoice, then its marker (and e-mail delivery).
    Raises _AlreadyBilled when the marker exists: the caller must roll back."""
    period = period_key(month)
    # issue_invoice's own transaction joins the caller's (Piccolo nests by default).
    issued = await issue_invoice(customer_id, lines, today, isp, sale_date=month_end(month))
    marker = await BilledMonth.insert(BilledMonth(
        key=f"{period}:{customer_id}", period=period, customer=customer_id,
        invoice=issued.id, total=issued.total_gross,
    )).on_conflict(action="DO NOTHING").returning(BilledMonth.id)
    if not marker:
        raise _AlreadyBilled()
    if email:
        await InvoiceDelivery.insert(InvoiceDelivery(invoice=issued.id, customer=customer_id,
                                                     email=email))
    return issued.id, issued.total_gross


async def bill_customer(customer_id: int, lines: list[InvoiceLine], month: date, today: date,
                        isp: ISP, email: str | None) -> tuple[int, int] | None:
    """Issue the month's invoice for one customer in ONE transaction with its marker;
    None when the customer was billed for the month already (by a concurrent run: the
    marker conflicts, and the whole transaction, number included, is rolled back)."""
    try:
        async with db.transaction():
            return await _issue_with_marker(customer_id, lines, month, today, isp, email)
    except _AlreadyBilled:
        return None


async def run_billing(month: date | str, today: date, isp: ISP,
                      progress: Callable[[], None] | None = None) -> BillingResult:
    """Bill `month` (a date in it, or "YYYY-MM") on `today`: one invoice per customer.

    Idempotent: the month is claimed by the run key "billing:YYYY-MM" and every customer
    by a BilledMonth marker in the invoice's own transaction, so a rerun, a concurrent
    run or a resumed crashed run issues nothing twice and leaves no number gaps. A run
    with errors is recorded as failed, and the next run bills only who is missing. The
    claim's lease is renewed while the run lives: a run whose process died is taken
    over by the next one within runs.LEASE."""
    month = parse_month(month)
    period = period_key(month)
    if month > today:
        raise BillingError(f"Miesiąc {period} jeszcze się nie zaczął.")
    result = BillingResult(period)
    if not await runs.claim(JOB, period, lease=runs.LEASE, retake=True):
        result.skipped = True
        return result
    try:
        async with runs.heartbeat(JOB, period):
            lines, todo = await pending(month)
            emails = {r["id"]: r["email"] for r in await Customer.select(Customer.id, Customer.email).where(
                Customer.invoice_by_email.eq(True) & (Customer.email != ""))}
            for lo in range(0, len(todo), BATCH):
                await _bill_batch(todo[lo:lo + BATCH], lines, month, today, isp, emails, result, progress)
    except BaseException as exc:
        await runs.fail(JOB, period, f"{type(exc).__name__}: {exc}", result.invoices)
        raise
    if result.errors:
        await runs.fail(JOB, period, "\n".join(result.errors), result.invoices)
    else:
        await runs.finish(JOB, period, result.invoices)
    return result


async def _bill_batch(batch: list[int], lines: dict[int, list[InvoiceLine]], month: date,
                      today: date, isp: ISP, emails: dict[int, str], result: BillingResult,
                      progress: Callable[[], None] | None) -> None:
    """Bill a batch of customers in one transaction. If anything in it fails (a bad
    customer, a concurrent run's marker) the batch rolls back whole, numbers included,
    and is billed again one customer per transaction, so the failure stays with its
    customer. A crash loses only the open batch: a rerun resumes without gaps."""
    period = period_key(month)
    try:
        async with db.transaction():
            done = [await issue_invoice(customer_id, lines[customer_id], today, isp,
                                        sale_date=month_end(month)) for customer_id in batch]
            # Markers and deliveries set-based, in the same transaction as the invoices.
            markers = await BilledMonth.insert(*[BilledMonth(
                key=f"{period}:{x.customer_id}", period=period, customer=x.customer_id,
                invoice=x.id, total=x.total_gross) for x in done]
            ).on_conflict(action="DO NOTHING").returning(BilledMonth.id)
            if len(markers) != len(done):
                raise _AlreadyBilled()
            mails = [InvoiceDelivery(invoice=x.id, customer=x.customer_id, email=emails[x.customer_id])
                     for x in done if x.customer_id in emails]
            if mails:
                await InvoiceDelivery.insert(*mails)
        done = [(x.id, x.total_gross) for x in done]
    except Exception:
        done = []
        for customer_id in batch:
            try:
                issued = await bill_customer(customer_id, lines[customer_id], month, today, isp,
                                             emails.get(customer_id))
            except Exception as exc:  # one bad customer must not stop the month
                log.warning("billing %s: customer %s failed: %s", period_key(month), customer_id, exc)
                result.errors.append(f"klient {customer_id}: {exc}")
                continue
            if issued:
                done.append(issued)
    result.invoices += len(done)
    result.total += sum(total for _, total in done)
    if progress:
        for _ in batch:
            progress()


def months_between(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


async def due_months(today: date) -> list[date]:
    """Months the scheduler should bill on `today`: every month after the last run up
    to this one (catch-up after downtime), plus failed ones; just this month at first."""
    months = await runs.recent(JOB, limit=None)
    current = today.replace(day=1)
    if not months:
        return [current]
    last = max(parse_month(r["period"]) for r in months)
    done = {parse_month(r["period"]) for r in months if r["status"] == "done"}
    unfinished = {parse_month(r["period"]) for r in months if r["status"] != "done"}
    return sorted((set(months_between(last, current)) | unfinished) - done)


async def catch_up(today: date, isp: ISP) -> list[BillingResult]:
    """What the monthly job does: bill every due month (see due_months)."""
    return [await run_billing(month, today, isp) for month in await due_months(today)]


async def billing_runs(limit: int = 24) -> list[dict]:
    """The runs for the admin, newest month first, with their invoice count and total."""
    from piccolo.query.functions.aggregate import Count, Sum

    months = await runs.recent(JOB, limit, by_period=True)
    sums = {r["period"]: r for r in await BilledMonth.select(
        BilledMonth.period, Count(BilledMonth.id).as_alias("count"),
        Sum(BilledMonth.total).as_alias("total")).where(
        BilledMonth.period.is_in([r["period"] for r in months] or [""])).group_by(BilledMonth.period)}
    for run in months:
        agg = sums.get(run["period"], {})
        run["count"], run["total"] = int(agg.get("count") or 0), int(agg.get("total") or 0)
        run["errors"] = [x for x in (run["detail"] or "").split("\n") if x]
    return months


def warsaw_today() -> date:
    from app.i18n import WARSAW

    return datetime.now(WARSAW).date()


# --- for the admin (appended; see routes/admin/billing.py) -------------------------------

async def delivery_exists(delivery_id: int) -> bool:
    """Whether an invoice e-mail of this id exists (its retry is a 404 otherwise)."""
    return await InvoiceDelivery.exists().where(InvoiceDelivery.id == delivery_id)


async def email_reminder_exists(reminder_id: int) -> bool:
    """Whether an e-mail reminder of this id exists; paper ones are never retried."""
    from app.tables.billing import Reminder

    return await Reminder.exists().where((Reminder.id == reminder_id) & (Reminder.channel == "email"))
