"""E-mail notifications that must not undo what caused them: failures logged, never raised."""

from __future__ import annotations

import logging

import aiosmtplib

from app.mail import send_message
from app.settings import Settings

log = logging.getLogger("wbok.mail")


async def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one message; True when the server accepted it. A mail failure must not undo
    the operator's decision that caused it, so it is logged instead of raised."""
    if not to:
        return False
    try:
        await send_message(settings, to, subject, body)
    except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
        log.warning("mail to %s failed: %s", to, exc)
        return False
    return True
