"""Delivery: e-mailing invoices (PDF) and payment reminders, with retries; paper reminders."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from piccolo.query.functions.aggregate import Sum

from app.invoices import invoice_pdf, load_invoice_doc
from app.mail import MAX_ATTEMPTS, Attachment, error_text, in_pool, retry_delay
from app.mail import send_message as send_mail
from app.money import format_money
from app.settings import ISP, Settings
from app.tables.billing import InvoiceDelivery, Reminder
from app.tables.customers import Customer
from app.tables.finances import Charge, Payment
from app.transfer import build_transfer, format_nrb, qr_png

log = logging.getLogger("wbok.delivery")
# MAX_ATTEMPTS and the backoff come from app/mail.py: one schedule for every queue.


LEASE = timedelta(minutes=10)


async def _lease(table, row_id: int) -> bool:
    """Take one unsent row for sending; False when it is sent or another sender has it.
    The lease, not a lock, so a sender that dies frees the row after LEASE."""
    now = datetime.now(timezone.utc)
    taken = await table.update({table.locked_until: now + LEASE}).where(
        (table.id == row_id) & table.sent_at.is_null()
        & (table.locked_until.is_null() | (table.locked_until < now))
    ).returning(table.id)
    return bool(taken)


async def _record(table, row_id: int, error: Exception | None) -> None:
    """A send's outcome: sent, or the error and the next attempt after the backoff."""
    now = datetime.now(timezone.utc)
    values = {table.attempts: table.attempts + 1, table.locked_until: None,
              table.last_error: _reason(error) if error else ""}
    if error is None:
        values[table.sent_at] = now
    else:
        row = await table.select(table.attempts).where(table.id == row_id).first()
        values[table.next_attempt_at] = now + retry_delay((row["attempts"] if row else 0) + 1)
    await table.update(values).where(table.id == row_id)


# --- invoices ------------------------------------------------------------------------

async def deliver_invoice(settings: Settings, delivery_id: int) -> bool:
    """E-mail one invoice's PDF (rendered in a thread); records success or the error."""
    if not await _lease(InvoiceDelivery, delivery_id):
        return False
    row = await InvoiceDelivery.select(InvoiceDelivery.invoice, InvoiceDelivery.email).where(
        InvoiceDelivery.id == delivery_id).first()
    try:
        doc = await load_invoice_doc(row["invoice"])
        pdf = await invoice_pdf(doc)
        body = (f"Dzień dobry,\n\nw załączniku przesyłamy fakturę {doc.number} na kwotę "
                f"{format_money(doc.total_gross)}, płatną do {doc.due_date:%d.%m.%Y} na rachunek\n"
                f"{format_nrb(doc.bank_account)}.\n\nPozdrawiamy\n{doc.seller.name}\n")
        name = "faktura-" + doc.number.replace("/", "-") + ".pdf"
        await send_mail(settings, row["email"], f"Faktura {doc.number}", body,
                        (Attachment(name, pdf, "application", "pdf"),))
    except Exception as exc:  # SMTP, DNS, rendering: keep the reason for the admin
        log.warning("invoice delivery %s failed: %s", delivery_id, exc)
        await _record(InvoiceDelivery, delivery_id, exc)
        return False
    await _record(InvoiceDelivery, delivery_id, None)
    return True


def _reason(exc: Exception) -> str:
    return error_text(exc)[:500]


async def invoice_mails_by_period() -> dict[str, dict[str, int]]:
    """invoice_mail_counts for every billing month at once ({"YYYY-MM": counts}), from
    grouped counts (a month's invoices share its last day as their sale date)."""
    from piccolo.query.functions.aggregate import Count

    day = InvoiceDelivery.invoice.sale_date
    unsent = InvoiceDelivery.sent_at.is_null()
    out: dict[str, dict[str, int]] = {}
    for key, where in (("queued", None), ("sent", InvoiceDelivery.sent_at.is_not_null()),
                       ("failing", unsent & (InvoiceDelivery.attempts > 0)
                        & (InvoiceDelivery.attempts < MAX_ATTEMPTS)),
                       ("failed", unsent & (InvoiceDelivery.attempts >= MAX_ATTEMPTS))):
        q = InvoiceDelivery.select(day.as_alias("day"), Count(InvoiceDelivery.id).as_alias("n")).group_by(day)
        for r in await (q.where(where) if where is not None else q):
            period = f"{r['day']:%Y-%m}" if hasattr(r["day"], "year") else str(r["day"])[:7]
            out.setdefault(period, dict.fromkeys(("queued", "sent", "failing", "failed"), 0))[key] += r["n"]
    return out


def _due(table, now: datetime):
    return (table.sent_at.is_null() & (table.attempts < MAX_ATTEMPTS)
            & (table.next_attempt_at.is_null() | (table.next_attempt_at <= now)))


async def deliver_pending(settings: Settings, limit: int = 5000) -> tuple[int, int]:
    """Send every unsent invoice and reminder that is due (new, or its backoff is over);
    (sent, failed). Up to settings.smtp_pool at once, so one slow message cannot stall
    the rest. Safe in several processes at once: each row is leased before sending
    (_lease). A row is marked sent only after the server took it: a crash in between may
    send a message twice, never zero times. Rows leased by another sender count in neither."""
    now = datetime.now(timezone.utc)
    invoices = [r["id"] for r in await InvoiceDelivery.select(InvoiceDelivery.id).where(
        _due(InvoiceDelivery, now)).order_by(InvoiceDelivery.id).limit(limit)]
    reminders = [r["id"] for r in await Reminder.select(Reminder.id).where(
        (Reminder.channel == "email") & _due(Reminder, now)).order_by(Reminder.id).limit(limit)]
    work = [(deliver_invoice, InvoiceDelivery, i) for i in invoices] + [
        (deliver_reminder, Reminder, i) for i in reminders]
    outcomes = await in_pool(work, lambda w: _deliver_counted(w[0], w[1], settings, w[2]),
                             settings.smtp_pool)
    return sum(1 for o in outcomes if o is True), sum(1 for o in outcomes if o is False)


async def invoice_mail_counts(period: str | None = None) -> dict[str, int]:
    """Invoice e-mails (of one billing month, "YYYY-MM", or all): queued in total, sent,
    failing (unsent after at least one failed attempt, retried later) and failed
    (out of retries)."""
    q = InvoiceDelivery.select(InvoiceDelivery.sent_at, InvoiceDelivery.attempts)
    if period is not None:  # a month's invoices have its last day as their sale date
        first = date(int(period[:4]), int(period[5:7]), 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        q = q.where((InvoiceDelivery.invoice.sale_date >= first) & (InvoiceDelivery.invoice.sale_date <= last))
    rows = await q
    unsent = [r for r in rows if r["sent_at"] is None]
    return {"queued": len(rows), "sent": len(rows) - len(unsent),
            "failing": sum(1 for r in unsent if 0 < r["attempts"] < MAX_ATTEMPTS),
            "failed": sum(1 for r in unsent if r["attempts"] >= MAX_ATTEMPTS)}


async def _deliver_counted(deliver, table, settings: Settings, row_id: int) -> bool | None:
    """True sent, False failed, None skipped (sent or leased by someone else meanwhile)."""
    if await deliver(settings, row_id):
        return True
    row = await table.select(table.sent_at, table.locked_until).where(table.id == row_id).first()
    return False if row and row["sent_at"] is None and row["locked_until"] is None else None


async def failed_deliveries() -> list[dict]:
    """Unsent invoice e-mails that failed at least once, for the admin."""
    return await InvoiceDelivery.select(
        InvoiceDelivery.id, InvoiceDelivery.email, InvoiceDelivery.attempts,
        InvoiceDelivery.last_error, InvoiceDelivery.created_at, InvoiceDelivery.customer,
        InvoiceDelivery.invoice.number, InvoiceDelivery.customer.name,
    ).where(InvoiceDelivery.sent_at.is_null() & (InvoiceDelivery.attempts > 0)
            ).order_by(InvoiceDelivery.id)


# --- reminders -----------------------------------------------------------------------

async def overdue_customers(today: date, days: int) -> dict[int, int]:
    """{customer ID: current debt in grosze} for those whose charges dated `days` or more
    days ago are not covered by all their payments so far (set-based, three sums)."""
    cutoff = today - timedelta(days=days)

    async def sums(table, *where) -> dict[int, int]:
        q = table.select(table.customer, Sum(table.amount).as_alias("s")).group_by(table.customer)
        for w in where:
            q = q.where(w)
        return {r["customer"]: int(r["s"] or 0) for r in await q}

    old = await sums(Charge, Charge.date <= cutoff)
    charged, paid = await sums(Charge), await sums(Payment)
    return {cid: charged[cid] - paid.get(cid, 0) for cid, amount in old.items()
            if amount > paid.get(cid, 0)}


async def create_reminders(today: date, isp: ISP) -> tuple[int, int]:
    """Record this month's reminder for every overdue customer (one per customer per
    month, by the unique key): e-mail when they chose e-mail, else paper for the office.
    Returns (e-mail, paper) reminders created now."""
    debts = await overdue_customers(today, isp.reminder_days)
    if not debts:
        return 0, 0
    period = f"{today.year:04d}-{today.month:02d}"
    prefs = {r["id"]: r for r in await Customer.select(
        Customer.id, Customer.email, Customer.invoice_by_email).where(Customer.id.is_in(list(debts)))}
    rows = []
    for cid, amount in sorted(debts.items()):
        email = prefs[cid]["email"] if prefs[cid]["invoice_by_email"] else ""
        rows.append(Reminder(key=f"{period}:{cid}", period=period, customer=cid, amount=amount,
                             channel="email" if email else "paper", email=email))
    made = await Reminder.insert(*rows).on_conflict(action="DO NOTHING").returning(Reminder.channel)
    emails = sum(1 for r in made if r["channel"] == "email")
    return emails, len(made) - emails


async def deliver_reminder(settings: Settings, reminder_id: int) -> bool:
    """E-mail one reminder: the amount, the transfer data and the QR code as a PNG."""
    if not await Reminder.exists().where((Reminder.id == reminder_id) & (Reminder.channel == "email")):
        return False
    if not await _lease(Reminder, reminder_id):
        return False
    row = await Reminder.select(Reminder.all_columns(), Reminder.customer.name,
                                Reminder.customer.street, Reminder.customer.postal_code,
                                Reminder.customer.city).where(Reminder.id == reminder_id).first()
    isp = settings.isp
    try:
        address = f"{row['customer.street']}, {row['customer.postal_code']} {row['customer.city']}"
        form = build_transfer(isp, row["customer"], row["customer.name"], address, row["amount"])
        body = (f"Dzień dobry,\n\nna Państwa koncie jest zaległość {format_money(row['amount'])}.\n"
                f"Prosimy o wpłatę na indywidualny rachunek:\n\n"
                f"  Odbiorca: {form.payee_name}, {form.payee_address}\n"
                f"  Rachunek: {form.account_display}\n  Kwota: {form.amount_display}\n"
                f"  Tytuł: {form.title}\n\n"
                f"W załączniku kod QR do zeskanowania w aplikacji banku.\n"
                f"Jeśli wpłata została już wysłana, prosimy zignorować tę wiadomość.\n\n"
                f"Pozdrawiamy\n{isp.name}\n{isp.phone} · {isp.email}\n")
        png = qr_png(form.qr)
        await send_mail(settings, row["email"], f"Przypomnienie o płatności — {isp.name}", body,
                        (Attachment("przelew-qr.png", png, "image", "png"),))
    except Exception as exc:
        log.warning("reminder %s failed: %s", reminder_id, exc)
        await _record(Reminder, reminder_id, exc)
        return False
    await _record(Reminder, reminder_id, None)
    return True


async def send_reminders(settings: Settings, today: date) -> tuple[int, int]:
    """The nightly job: create due reminders and e-mail them; (e-mail, paper) created."""
    created = await create_reminders(today, settings.isp)
    await deliver_pending(settings)
    return created


async def paper_reminders(limit: int = 200) -> list[dict]:
    """Reminders for customers without e-mail invoices: the office prints and posts them."""
    return await Reminder.select(
        Reminder.id, Reminder.period, Reminder.amount, Reminder.created_at, Reminder.customer,
        Reminder.customer.name, Reminder.customer.street, Reminder.customer.postal_code,
        Reminder.customer.city,
    ).where(Reminder.channel == "paper").order_by(Reminder.id, ascending=False).limit(limit)


async def failed_reminders() -> list[dict]:
    return await Reminder.select(Reminder.id, Reminder.email, Reminder.attempts,
                                 Reminder.last_error, Reminder.customer, Reminder.customer.name
                                 ).where((Reminder.channel == "email") & Reminder.sent_at.is_null()
                                         & (Reminder.attempts > 0))

