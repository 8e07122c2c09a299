"""Mail: the outbox every notification e-mail goes through, and the one SMTP sender.

A change queues its e-mail (`enqueue`) in its own transaction; `deliver_outbox` sends what
is due after the commit (right away in the background of the answer, and every minute from
the scheduler), leasing each row and retrying failures with backoff. A failed send never
undoes the change that caused it. Invoice PDFs and payment reminders are queued in their
own tables (InvoiceDelivery, Reminder; app/delivery.py) and sent with send_message."""

from __future__ import annotations

import logging
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
MAX_ATTEMPTS = 20


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


def _retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


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
        timeout=20,
    )


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
    sent = failed = 0
    for row in due:
        claimed = await MailOutbox.update({MailOutbox.locked_until: now + LEASE}).where(
            (MailOutbox.id == row["id"]) & MailOutbox.sent_at.is_null()
            & (MailOutbox.locked_until.is_null() | (MailOutbox.locked_until < now))
        ).returning(MailOutbox.recipient, MailOutbox.subject, MailOutbox.body, MailOutbox.attempts)
        if not claimed:
            continue
        mail = claimed[0]
        try:
            await send_message(settings, mail["recipient"], mail["subject"], mail["body"])
        except Exception as exc:  # any SMTP or network error: keep the row, try later
            attempts = mail["attempts"] + 1
            log.warning("mail to %s failed (attempt %d): %s", mail["recipient"], attempts, exc)
            await MailOutbox.update({
                MailOutbox.attempts: attempts, MailOutbox.last_error: f"{type(exc).__name__}: {exc}"[:1000],
                MailOutbox.next_attempt_at: now + _retry_delay(attempts), MailOutbox.locked_until: None,
            }).where(MailOutbox.id == row["id"])
            failed += 1
        else:
            await MailOutbox.update({
                MailOutbox.sent_at: datetime.now(timezone.utc), MailOutbox.attempts: mail["attempts"] + 1,
                MailOutbox.locked_until: None,
            }).where(MailOutbox.id == row["id"])
            sent += 1
    return DeliveryResult(sent, failed)
