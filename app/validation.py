"""Validation — domain: the checks every form shares (customer, admin, CLI): text free of
control characters and within its column, e-mail, phone, NIP, postal code, IDs."""

from __future__ import annotations

import re
import unicodedata

from app.i18n import N_

# Serial and Integer columns are 32-bit on PostgreSQL: an ID above this names no row.
MAX_ROW_ID = 2**31 - 1
POSTAL = re.compile(r"^(\d{2})-?(\d{3})$")
MULTILINE_OK = frozenset("\n\t")

CONTROL = N_("Usuń znaki sterujące (np. NUL) z tego pola.")
TOO_LONG = N_("Za długi tekst.")
EMAIL = N_("Podaj poprawny adres e-mail, np. jan.kowalski@example.pl.")
PHONE = N_("Podaj 9-cyfrowy polski numer telefonu, np. 600 100 200 lub +48 600 100 200.")
NIP = N_("Nieprawidłowy NIP: 10 cyfr z poprawną cyfrą kontrolną.")
POSTAL_CODE = N_("Kod pocztowy w formacie NN-NNN, np. 26-200.")


def has_control(text: str, multiline: bool = False) -> bool:
    """Control characters (NUL and the rest of Cc), lone surrogates (which no encoding
    can store) and noncharacters; line breaks and tabs are fine in multi-line text."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc" and not (multiline and ch in MULTILINE_OK):
            return True
        if cat == "Cs" or ch in "\ufffe\uffff":
            return True
    return False


def check_text(text: str, max_length: int, multiline: bool = False) -> str | None:
    """The error msgid for a text field, or None: no control characters, at most
    `max_length` characters (the column's length, so the database never refuses it)."""
    if has_control(text, multiline):
        return CONTROL
    if len(text) > max_length:
        return TOO_LONG
    return None


def column_length(column) -> int:
    """A Piccolo Varchar's length (Text columns: a generous cap)."""
    return getattr(column, "length", None) or 20_000


def parse_id(text: str | int | None) -> int | None:
    """A row ID from a form or query: digits only, within the column's range; else None."""
    text = str(text if text is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def normalise_email(text: str) -> str | None:
    """An address checked by email-validator (syntax only, no DNS), normalised; None if bad."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def normalise_phone(text: str) -> str | None:
    """A Polish number as `+48 600 100 200`, checked by phonenumbers; spaces, dashes,
    dots, brackets and a +48 / 0048 prefix are allowed. None when it is no valid number."""
    import phonenumbers

    digits = re.sub(r"[\s\-.()/]", "", text)
    if digits.startswith("0048"):
        digits = "+" + digits[2:]
    if not digits.removeprefix("+").isascii() or not digits.removeprefix("+").isdigit():
        return None
    try:
        number = phonenumbers.parse(digits, "PL")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 48 or not phonenumbers.is_valid_number(number):
        return None
    national = phonenumbers.national_significant_number(number)
    return f"+48 {national[:3]} {national[3:6]} {national[6:]}"


def normalise_nip(text: str) -> str | None:
    from stdnum.exceptions import ValidationError
    from stdnum.pl import nip

    try:
        return nip.validate(text)
    except ValidationError:
        return None


def normalise_postal_code(text: str) -> str | None:
    match = POSTAL.match(text)
    return f"{match[1]}-{match[2]}" if match else None
