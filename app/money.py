"""Money: amounts are integer grosze everywhere; Decimal appears only at the edges."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# 10 million zł: far above any ISP bill, far below BigInt trouble; a typo guard.
MAX_GROSZE = 10_000_000_00

_SPACES = str.maketrans("", "", " \u00a0\u202f\t")
# Either plain digits, or digits grouped in threes by spaces; then up to two decimals.
_AMOUNT = re.compile(r"(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d+))?")

HINT = "Podaj kwotę w złotych, np. 123,45."


def format_money(grosze: int) -> str:
    """`1 234,56 zł`: ASCII-space thousands (4-digit amounts too), comma decimals."""
    _require_int(grosze)
    sign = "-" if grosze < 0 else ""
    zloty, gr = divmod(abs(grosze), 100)
    return f"{sign}{zloty:,}".replace(",", " ") + f",{gr:02d} zł"


def parse_money(text: str) -> int:
    """Grosze from what a person typed (`123,45`, `1 234.5`, `79,9 zł`).

    Raises ValueError with a Polish message fit to show next to the form field.
    """
    raw = (text or "").strip().removesuffix("zł").removesuffix("PLN").strip()
    if raw.startswith("-"):
        raise ValueError("Kwota nie może być ujemna. " + HINT)
    match = _AMOUNT.fullmatch(raw)
    if not match:
        raise ValueError(HINT)
    whole, fraction = match.group(1).translate(_SPACES), match.group(2) or ""
    if len(fraction) > 2:
        raise ValueError("Kwota może mieć najwyżej dwie cyfry po przecinku. " + HINT)
    grosze = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if grosze > MAX_GROSZE:
        raise ValueError(f"Kwota jest zbyt duża (najwyżej {format_money(MAX_GROSZE)}).")
    return grosze


def to_decimal(grosze: int) -> Decimal:
    """Złote as an exact Decimal with two places: 12345 -> Decimal('123.45')."""
    _require_int(grosze)
    return Decimal(grosze).scaleb(-2)


def from_decimal(value: Decimal | int) -> int:
    """Grosze from złote, rounded half up; floats are refused, they are never exact."""
    if isinstance(value, float) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"expected Decimal złote, got {type(value).__name__}")
    try:
        return int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise ValueError(f"not a finite amount: {value!r}") from exc


def _require_int(grosze: object) -> None:
    if isinstance(grosze, bool) or not isinstance(grosze, int):
        raise TypeError(f"grosze must be an int, got {type(grosze).__name__}")


def format_input(grosze: int) -> str:
    """An amount as a form field shows it for editing: `1234,56` (parse_money reads it back)."""
    _require_int(grosze)
    sign = "-" if grosze < 0 else ""
    zloty, gr = divmod(abs(grosze), 100)
    return f"{sign}{zloty},{gr:02d}"
