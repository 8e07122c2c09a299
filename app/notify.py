"""E-mail notifications: one plain-text message over SMTP, failures logged, never raised."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from app.settings import Settings

log = logging.getLogger("wbok.mail")


def smtp_params(url: str) -> dict:
    """`smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start)."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    params: dict = {"hostname": parts.hostname or "localhost",
                    "port": parts.port or (465 if secure else 25), "use_tls": secure,
                    "start_tls": None if not secure else False, "timeout": 15}
    if parts.username:
        params.update(username=unquote(parts.username), password=unquote(parts.password or ""))
    return params


async def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one message; True when the server accepted it. A mail failure must not undo
    the operator's decision that caused it, so it is logged instead of raised."""
    if not to:
        return False
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.mail_from, to, subject
    msg["Date"], msg["Message-ID"] = formatdate(localtime=True), make_msgid(domain="wbok")
    msg.set_content(body)
    try:
        await aiosmtplib.send(msg, **smtp_params(settings.smtp_url))
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("mail to %s failed: %s", to, exc)
        return False
    return True
