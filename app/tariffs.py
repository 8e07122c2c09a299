"""Tariffs: service plans with their speeds and monthly gross price."""

from __future__ import annotations

from app.money import parse_money
from app.tables.tariffs import Tariff

VAT_RATES = (23, 8, 5, 0)


class TariffError(ValueError):
    """Input that cannot make a tariff."""


async def create_tariff(name: str, price: str, down_mbit: int, up_mbit: int, vat: int = 23) -> int:
    """Create a tariff; `price` is the monthly gross in zł, like "79,99"."""
    name = name.strip()
    if not name:
        raise TariffError("Podaj nazwę taryfy.")
    try:
        grosze = parse_money(price)
    except ValueError as exc:
        raise TariffError(str(exc)) from exc
    if down_mbit <= 0 or up_mbit <= 0:
        raise TariffError("Prędkości muszą być dodatnie (Mbit/s).")
    if vat not in VAT_RATES:
        raise TariffError("Stawka VAT musi być jedną z: 23, 8, 5, 0.")
    if await Tariff.exists().where(Tariff.name == name):
        raise TariffError(f"Taryfa {name} już istnieje.")
    rows = await Tariff.insert(Tariff(name=name, price=grosze, down_mbit=down_mbit,
                                      up_mbit=up_mbit, vat=vat)).returning(Tariff.id)
    return rows[0]["id"]
