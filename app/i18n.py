"""Translations and formatting: Polish first, English beside it, times in Europe/Warsaw."""

from __future__ import annotations

import contextvars
import io
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("pl", "en")
DEFAULT_LOCALE = "pl"
LOCALE_DIR = Path(__file__).parent / "locale"
WARSAW = ZoneInfo("Europe/Warsaw")

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    """The catalogue for `locale`, compiled from its .po in memory (no .mo in the repo)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()  # msgids are Polish
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def gettext(message: str, **variables) -> str:
    text = translations(current_locale.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations(current_locale.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is translated later (tables of messages)."""
    return message


def pick_locale(cookie: str | None) -> str:
    return cookie if cookie in LOCALES else DEFAULT_LOCALE


def local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(WARSAW)


def format_datetime(moment: datetime | None) -> str:
    """`23.11.2026 20:37` in Warsaw time; empty for None."""
    return local(moment).strftime("%d.%m.%Y %H:%M") if moment else ""


def format_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = local(day).date()
    return day.strftime("%d.%m.%Y")


def customer_number(customer_id: int) -> str:
    """The customer ID as printed on contracts and invoices: zero-padded to 4 digits."""
    return f"{customer_id:04d}"
