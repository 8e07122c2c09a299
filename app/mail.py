"""Mail: the outbox every notification e-mail goes through, and the one SMTP sender.

A change queues its e-mail (`enqueue`) in its own transaction; `deliver_outbox` sends what
is due after the commit (right away in the background of the answer, and every minute from
the scheduler), leasing each row and retrying failures with backoff. A failed send never
undoes the change that caused it. Invoice PDFs and payment reminders are queued in their
own tables (InvoiceDelivery, Reminder; app/delivery.py) and sent with send_message.

Every queue retries on the same schedule (`retry_delay`: 5 min, doubling, at most 12 h
apart), so a failing row keeps being tried for more than 3 days (`RETRY_SPAN`); after
MAX_ATTEMPTS it is failed, counted on the admin dashboard and retried only by hand
("retry all", `retry_failed`). SMTP has a short connect/command timeout
(settings.smtp_timeout) and up to settings.smtp_pool messages are in flight at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from app.settings import Settings
from app.tables.mail import MailOutbox

log = logging.getLogger("wbok.mail")
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=12)
MAX_ATTEMPTS = 14


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 5, 10, 20 … minutes, at most 12 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


# From the first failure to the last attempt: 81 hours, over the 3 days the issue asks.
RETRY_SPAN = sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta())


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    failed: int


async def enqueue(to: str, subject: str, body: str, now: datetime) -> int:
    """Queue one e-mail; returns its outbox ID. Call it inside the transaction of the change
    it reports, so that the change and its notification are committed (or rolled back) together."""
    row = await MailOutbox.insert(MailOutbox(recipient=to[:254], subject=subject[:200], body=body,
                                             created_at=now, next_attempt_at=now)).returning(MailOutbox.id)
    return row[0]["id"]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


async def send_message(settings: Settings, to: str, subject: str, body: str,
                       attachments: tuple[Attachment, ...] = ()) -> None:
    """Send one message over SMTP: the one place in WBOK that talks SMTP. The URL is
    settings.smtp_url, `smtp://[user:pass@]host:port` (`?starttls=1` to upgrade) or `smtps://`
    for TLS from the start. Raises on any failure; callers decide whether to retry."""
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError(f"Nieprawidłowy adres serwera SMTP: {settings.smtp_url!r}")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="wbok")
    message.set_content(body)
    for a in attachments:
        message.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    await aiosmtplib.send(
        message, hostname=url.hostname, port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps", start_tls=True if "starttls=1" in url.query else False,
        timeout=settings.smtp_timeout,
    )
    # aiosmtplib applies `timeout` to the connect and to each command; a server that
    # accepts and then says nothing costs smtp_timeout, not minutes.


async def in_pool(items: Iterable, work: Callable[..., Awaitable], size: int) -> list:
    """Run `work(item)` for every item with at most `size` at once; results in order."""
    gate = asyncio.Semaphore(max(1, size))

    async def one(item):
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))


async def deliver_outbox(settings: Settings, now: datetime | None = None, limit: int = 50,
                         ids: list[int] | None = None) -> DeliveryResult:
    """Send what is due (only the rows `ids`, when given). Each row is leased first (a
    conditional UPDATE), so several processes may run this at once and still send every
    e-mail once; rows leased or sent by another sender count in neither figure. Idempotent."""
    now = now or datetime.now(timezone.utc)
    query = MailOutbox.select(MailOutbox.id).where(
        MailOutbox.sent_at.is_null() & (MailOutbox.next_attempt_at <= now)
        & (MailOutbox.attempts < MAX_ATTEMPTS))
    if ids is not None:
        query = query.where(MailOutbox.id.is_in(ids or [0]))
    due = await query.order_by(MailOutbox.id).limit(limit)
    outcomes = await in_pool([r["id"] for r in due], lambda row_id: _deliver_one(settings, row_id, now),
                             settings.smtp_pool)
    return DeliveryResult(sum(1 for o in outcomes if o is True), sum(1 for o in outcomes if o is False))


async def _deliver_one(settings: Settings, row_id: int, now: datetime) -> bool | None:
    """True sent, False failed (kept for a retry), None leased or sent by another sender."""
    claimed = await MailOutbox.update({MailOutbox.locked_until: now + LEASE}).where(
        (MailOutbox.id == row_id) & MailOutbox.sent_at.is_null()
        & (MailOutbox.locked_until.is_null() | (MailOutbox.locked_until < now))
    ).returning(MailOutbox.recipient, MailOutbox.subject, MailOutbox.body, MailOutbox.attempts)
    if not claimed:
        return None
    mail = claimed[0]
    try:
        await send_message(settings, mail["recipient"], mail["subject"], mail["body"])
    except Exception as exc:  # any SMTP or network error: keep the row, try later
        attempts = mail["attempts"] + 1
        log.warning("mail to %s failed (attempt %d): %s", mail["recipient"], attempts, exc)
        await MailOutbox.update({
            MailOutbox.attempts: attempts, MailOutbox.last_error: error_text(exc),
            MailOutbox.next_attempt_at: now + retry_delay(attempts),
            MailOutbox.locked_until: None,
        }).where(MailOutbox.id == row_id)
        return False
    await MailOutbox.update({
        MailOutbox.sent_at: datetime.now(timezone.utc), MailOutbox.attempts: mail["attempts"] + 1,
        MailOutbox.locked_until: None,
    }).where(MailOutbox.id == row_id)
    return True


def error_text(exc: BaseException) -> str:
    """The reason kept on the row; a timeout says so (its message is often empty)."""
    text = str(exc) or ("przekroczono czas oczekiwania na serwer SMTP"
                        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) else "")
    return f"{type(exc).__name__}: {text}"[:1000]


def _queues():
    from app.tables.billing import InvoiceDelivery, Reminder

    return ((MailOutbox, None), (InvoiceDelivery, None), (Reminder, Reminder.channel == "email"))


def _failed(table, extra):
    where = table.sent_at.is_null() & (table.attempts >= MAX_ATTEMPTS)
    return where & extra if extra is not None else where


async def failed_count() -> int:
    """Mails of every queue (notices, invoices, reminders) that ran out of retries."""
    total = 0
    for table, extra in _queues():
        total += await table.count().where(_failed(table, extra))
    return total


async def retry_failed(now: datetime | None = None) -> int:
    """"Retry all": every failed mail gets a fresh set of attempts, due now; its last
    error stays until a send replaces it. Returns how many rows."""
    now = now or datetime.now(timezone.utc)
    count = 0
    for table, extra in _queues():
        rows = await table.update({table.attempts: 0, table.next_attempt_at: now, table.locked_until: None}
                                  ).where(_failed(table, extra)).returning(table.id)
        count += len(rows)
    return count
