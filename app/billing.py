"""Billing: the run that charges every assignment (contracted tariff) for the days it covers
in a month, plus pending one-off charges, with one invoice per customer and run.

Idempotent per (customer, assignment, month), not per month: each billed assignment gets
a BilledAssignment marker in its invoice's own transaction, so a run bills exactly what
has no marker yet. A customer connected or an assignment added after a month's run is
billed by the next run (nightly, at start-up, or `wbok billing run`); a crashed run is
resumed at once by the next one, with no gaps and no duplicates. The run key
"billing:YYYY-MM" (app/runs.py) only records the runs, it guards nothing.

Proration rule: an assignment covering the whole month is charged its monthly price.
One that starts or ends inside the month is charged for the days it covers (start and
end inclusive): price × days ÷ days-in-month, in exact integer arithmetic, rounded half
up to the grosz. So 79,99 zł from 31 October is 79,99 × 1/31 = 2,58 zł; in February 2028
(29 days) one day is 1/29 of the price.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app import db, runs
from app.invoices import InvoiceLine, InvoiceRequest, issue_invoices
from app.settings import ISP
from app.tables.billing import BilledAssignment, InvoiceDelivery
from app.tables.customers import Customer
from app.tables.finances import Invoice, OneOffCharge
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
    """A month that cannot be billed (bad format, before 2000, in the future)."""


@dataclass
class BillingResult:
    """What one run did: `invoices` issued, customers `skipped` (nothing left to bill),
    `errors` one per customer that failed (it is billed by the next run)."""

    period: str
    invoices: int = 0
    total: int = 0  # gross grosze invoiced by this run
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    concurrent: bool = False  # another live run was billing the month meanwhile

    @property
    def failed(self) -> int:
        return len(self.errors)
    # The month's invoice e-mails after the send that followed the run (delivery.
    # invoice_mail_counts); an e-mail not sent is an error of the run too.
    mails: dict[str, int] | None = None

    @property
    def mails_failed(self) -> int:
        return (self.mails["failing"] + self.mails["failed"]) if self.mails else 0

    def summary(self) -> str:
        from app.money import format_money

        note = " (another run was billing this month too)" if self.concurrent else ""
        text = (f"billing {self.period}: {self.invoices} invoices, {format_money(self.total)}, "
                f"{self.skipped} skipped, {self.failed} failed")
        if self.mails and self.mails["queued"]:
            text += (f"; invoice e-mails: {self.mails['queued']} queued, {self.mails['sent']} sent, "
                     f"{self.mails_failed} failed")
        return text + note


_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: date | str, today: date | None = None) -> date:
    """The first day of the month from a date or "YYYY-MM" (four-digit year from 2000
    on; with `today`, not a future month)."""
    if isinstance(value, date):
        month = value.replace(day=1)
    else:
        found = _MONTH.fullmatch((value or "").strip())
        if not found or not 1 <= int(found[2]) <= 12:
            raise BillingError(f"Nieprawidłowy miesiąc {value!r}; podaj RRRR-MM, np. 2026-11.")
        month = date(int(found[1]), int(found[2]), 1)
    if month.year < 2000:
        raise BillingError(f"Nieprawidłowy miesiąc {value!r}; rok od 2000.")
    if today is not None and month > today:
        raise BillingError(f"Miesiąc {period_key(month)} jeszcze się nie zaczął.")
    return month


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


def discounted(price: int, percent: int = 0, amount: int = 0) -> int:
    """The monthly price less `percent` (rounded half up to the grosz), then less
    `amount` grosze; never below zero."""
    after = price - (2 * price * percent + 100) // 200 if percent else price
    return max(0, after - amount)


@dataclass(frozen=True)
class Work:
    """What one customer still owes an invoice for in a month: lines for assignments
    (with their IDs) and for pending one-off charges (with theirs)."""

    customer_id: int
    assignments: tuple[tuple[int, InvoiceLine], ...] = ()
    one_offs: tuple[tuple[int, InvoiceLine], ...] = ()

    @property
    def lines(self) -> list[InvoiceLine]:
        return [line for _, line in self.assignments + self.one_offs]


async def month_lines(month: date) -> dict[int, list[tuple[int, InvoiceLine]]]:
    """Every customer's assignment lines for `month`, as (assignment ID, line), from one
    set-based query. Assignments that come to 0 zł (a full discount) have no line."""
    first, last = month, month_end(month)
    rows = await Assignment.select(
        Assignment.id, Assignment.customer, Assignment.start, Assignment.end,
        Assignment.discount_percent, Assignment.discount_amount, Assignment.tariff.name,
        Assignment.tariff.price, Assignment.tariff.vat,
    ).where((Assignment.start <= last) & (Assignment.end.is_null() | (Assignment.end >= first))
            ).order_by(Assignment.customer).order_by(Assignment.start).order_by(Assignment.id)
    label = f"{MONTHS_PL[month.month - 1]} {month.year}"
    out: dict[int, list[tuple[int, InvoiceLine]]] = defaultdict(list)
    for r in rows:
        price = discounted(r["tariff.price"], r["discount_percent"], r["discount_amount"])
        grosze, days, dim = prorate(price, r["start"], r["end"], month)
        if grosze <= 0:
            continue
        text = f"Abonament {r['tariff.name']} — {label}"
        if days != dim:
            lo, hi = max(r["start"], first), min(r["end"] or last, last)
            text += f" ({lo:%d.%m}–{hi:%d.%m}, {days}/{dim} dni)"
        out[r["customer"]].append((r["id"], InvoiceLine(text[:200], 1, "usł.", grosze, r["tariff.vat"])))
    return out


async def _billed(period: str, assignment_ids: list[int] | None = None) -> set[int]:
    query = BilledAssignment.select(BilledAssignment.assignment).where(BilledAssignment.period == period)
    if assignment_ids is not None:
        query = query.where(BilledAssignment.assignment.is_in(assignment_ids or [0]))
    return {r["assignment"] for r in await query}


async def _one_offs(month: date, customer_ids: list[int] | None = None) -> dict[int, list[tuple[int, InvoiceLine]]]:
    """One-off charges waiting for the next invoice, dated within or before `month`."""
    query = OneOffCharge.select(OneOffCharge.id, OneOffCharge.customer, OneOffCharge.description,
                                OneOffCharge.gross, OneOffCharge.vat_rate).where(
        (OneOffCharge.mode == "next") & OneOffCharge.invoice.is_null()
        & (OneOffCharge.date <= month_end(month))).order_by(OneOffCharge.id)
    if customer_ids is not None:
        query = query.where(OneOffCharge.customer.is_in(customer_ids or [0]))
    out: dict[int, list[tuple[int, InvoiceLine]]] = defaultdict(list)
    for r in await query:
        out[r["customer"]].append((r["id"], InvoiceLine(r["description"], 1, "szt.", r["gross"], r["vat_rate"])))
    return out


async def pending(month: date) -> tuple[dict[int, Work], int]:
    """Who still has something to bill for `month` (customer ID -> Work), and how many
    customers with lines that month have everything billed already."""
    lines = await month_lines(month)
    billed = await _billed(period_key(month))
    extras = await _one_offs(month)
    work, skipped = {}, 0
    for customer_id in sorted(set(lines) | set(extras)):
        todo = tuple(x for x in lines.get(customer_id, []) if x[0] not in billed)
        if todo or extras.get(customer_id):
            work[customer_id] = Work(customer_id, todo, tuple(extras.get(customer_id, [])))
        else:
            skipped += 1
    return work, skipped


async def _refresh(batch: list[Work], month: date) -> list[Work]:
    """The batch less what another run billed since `pending` read it."""
    billed = await _billed(period_key(month), [a for w in batch for a, _ in w.assignments])
    extras = await _one_offs(month, [w.customer_id for w in batch])
    out = []
    for w in batch:
        todo = tuple(x for x in w.assignments if x[0] not in billed)
        ones = tuple(extras.get(w.customer_id, []))
        if todo or ones:
            out.append(Work(w.customer_id, todo, ones))
    return out


class _AlreadyBilled(Exception):
    """Another run billed some of this work first; undo what we issued."""


async def _issue(works: list[Work], month: date, today: date, isp: ISP, emails: dict[int, str]
                 ) -> list[tuple[int, int]]:
    """Inside an open transaction: the invoices, their markers, one-off links and e-mail
    deliveries. Raises _AlreadyBilled when any marker or link exists: roll back."""
    period = period_key(month)
    done = await issue_invoices([InvoiceRequest(w.customer_id, w.lines, today, month_end(month))
                                 for w in works], isp)
    markers = [BilledAssignment(key=f"{period}:{aid}", period=period, assignment=aid,
                                customer=w.customer_id, invoice=x.id, amount=line.gross)
               for w, x in zip(works, done) for aid, line in w.assignments]
    for i in range(0, len(markers), 400):
        chunk = markers[i:i + 400]
        inserted = await BilledAssignment.insert(*chunk).on_conflict(action="DO NOTHING").returning(
            BilledAssignment.id)
        if len(inserted) != len(chunk):
            raise _AlreadyBilled()
    for w, x in zip(works, done):
        if w.one_offs:
            ids = [oid for oid, _ in w.one_offs]
            linked = await OneOffCharge.update({OneOffCharge.invoice: x.id}).where(
                OneOffCharge.id.is_in(ids) & OneOffCharge.invoice.is_null()).returning(OneOffCharge.id)
            if len(linked) != len(ids):
                raise _AlreadyBilled()
    mails = [InvoiceDelivery(invoice=x.id, customer=x.customer_id, email=emails[x.customer_id])
             for x in done if x.customer_id in emails]
    for i in range(0, len(mails), 400):
        await InvoiceDelivery.insert(*mails[i:i + 400])
    return [(x.id, x.total_gross) for x in done]


async def bill_customer(work: Work, month: date, today: date, isp: ISP, email: str | None
                        ) -> tuple[int, int] | None:
    """Issue one customer's invoice for `work` in ONE transaction with its markers; None
    when another run billed (part of) it meanwhile: the whole transaction, number
    included, is rolled back and the rest is left to the next run."""
    try:
        async with db.transaction():
            return (await _issue([work], month, today, isp, {work.customer_id: email} if email else {}))[0]
    except _AlreadyBilled:
        return None


async def run_billing(month: date | str, today: date, isp: ISP,
                      progress: Callable[[], None] | None = None) -> BillingResult:
    """Bill `month` (a date in it, or "YYYY-MM") on `today`: for every customer, one
    invoice with whatever of the month is not billed yet. Safe to rerun at any time,
    concurrently too: the markers decide (see the module docstring)."""
    month = parse_month(month, today)
    period = period_key(month)
    result = BillingResult(period)
    # Recorded for the admin; a live run holding the key does not stop this one.
    result.concurrent = not await runs.claim(JOB, period, lease=runs.LEASE, retake=True, again=True)
    try:
        async with runs.heartbeat(JOB, period):
            work, result.skipped = await pending(month)
            emails = {r["id"]: r["email"] for r in await Customer.select(Customer.id, Customer.email).where(
                Customer.invoice_by_email.eq(True) & (Customer.email != ""))}
            todo = list(work.values())
            for lo in range(0, len(todo), BATCH):
                await _bill_batch(todo[lo:lo + BATCH], month, today, isp, emails, result, progress)
    except BaseException as exc:
        await runs.fail(JOB, period, f"{type(exc).__name__}: {exc}", result.invoices)
        raise
    if result.errors:
        await runs.fail(JOB, period, "\n".join(result.errors), result.invoices)
    elif not result.concurrent or await runs.claim(JOB, period, lease=runs.LEASE, retake=True, again=True):
        # A concurrent run records the month as done only if the other run's lease ran out
        # meanwhile (its process died); a live one records its own end.
        await runs.finish(JOB, period, result.invoices)
    return result


async def _bill_batch(batch: list[Work], month: date, today: date, isp: ISP, emails: dict[int, str],
                      result: BillingResult, progress: Callable[[], None] | None) -> None:
    """Bill a batch of customers in one transaction. If anything in it fails (a bad
    customer, a concurrent run's marker) the batch rolls back whole, numbers included,
    and is billed again one customer per transaction, so the failure stays with its
    customer. A crash loses only the open batch: a rerun resumes without gaps."""
    fresh = await _refresh(batch, month)
    result.skipped += len(batch) - len(fresh)
    try:
        async with db.transaction():
            done = await _issue(fresh, month, today, isp, emails)
    except Exception:
        done = []
        for work in fresh:
            try:
                issued = await bill_customer(work, month, today, isp, emails.get(work.customer_id))
            except Exception as exc:  # one bad customer must not stop the month
                log.warning("billing %s: customer %s failed: %s", period_key(month), work.customer_id, exc)
                result.errors.append(f"klient {work.customer_id}: {exc}")
                continue
            if issued:
                done.append(issued)
            else:
                result.skipped += 1
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
    """Months the scheduler should bill on `today`: from the first month ever billed (the
    billing epoch; just this month when nothing was billed yet) to this one, those with
    something unbilled (an assignment without its marker, a pending one-off charge) or
    whose last run failed or died."""
    recorded = await runs.recent(JOB, limit=None)
    current = today.replace(day=1)
    if not recorded:
        return [current]
    epoch = min(parse_month(r["period"]) for r in recorded)
    unfinished = {parse_month(r["period"]) for r in recorded if r["status"] != "done"}
    months = months_between(epoch, current)
    assignments = await Assignment.select(
        Assignment.id, Assignment.start, Assignment.end, Assignment.discount_percent,
        Assignment.discount_amount, Assignment.tariff.price,
    ).where((Assignment.start <= month_end(current)) & (Assignment.end.is_null() | (Assignment.end >= epoch)))
    marked: dict[str, set[int]] = defaultdict(set)
    for r in await BilledAssignment.select(BilledAssignment.period, BilledAssignment.assignment).where(
            BilledAssignment.period >= period_key(epoch)):
        marked[r["period"]].add(r["assignment"])
    due = set(unfinished)
    if await OneOffCharge.exists().where((OneOffCharge.mode == "next") & OneOffCharge.invoice.is_null()):
        due.add(current)
    for month in months:
        billed = marked.get(period_key(month), set())
        for a in assignments:
            if a["id"] in billed:
                continue
            price = discounted(a["tariff.price"], a["discount_percent"], a["discount_amount"])
            if prorate(price, a["start"], a["end"], month)[0] > 0:
                due.add(month)
                break
    return sorted(m for m in due if m <= current)


async def catch_up(today: date, isp: ISP) -> list[BillingResult]:
    """What the nightly job does: bill every due month (see due_months)."""
    return [await run_billing(month, today, isp) for month in await due_months(today)]


async def billing_runs(limit: int = 24) -> list[dict]:
    """The runs for the admin, newest month first, with their invoice count and total
    (every invoice of any run that billed something of the month)."""
    months = await runs.recent(JOB, limit, by_period=True)
    periods = [r["period"] for r in months] or [""]
    marks = ", ".join("{}" for _ in periods)
    table, invoices = BilledAssignment._meta.tablename, Invoice._meta.tablename
    rows = await BilledAssignment.raw(
        f'SELECT d."period" AS period, COUNT(*) AS count, SUM(i."total_gross") AS total FROM '
        f'(SELECT DISTINCT "period", "invoice" FROM "{table}" WHERE "period" IN ({marks})) d '
        f'JOIN "{invoices}" i ON i."id" = d."invoice" GROUP BY d."period"', *periods)
    sums = {r["period"]: r for r in rows}
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
