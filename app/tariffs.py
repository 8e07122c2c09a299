"""Taryfy — domain: service plans with their speeds and monthly gross price."""

from __future__ import annotations

from app.money import parse_money
from app.tables.tariffs import Tariff
from app.validation import has_control

VAT_RATES = (23, 8, 5, 0)


class TariffError(ValueError):
    """Input that cannot make a tariff."""


async def create_tariff(name: str, price: str, down_mbit: int, up_mbit: int, vat: int = 23) -> int:
    """Create a tariff; `price` is the monthly gross in zł, like "79,99"."""
    values = await _validate(name, price, down_mbit, up_mbit, vat)
    rows = await Tariff.insert(Tariff(_data=values)).returning(Tariff.id)
    return rows[0]["id"]


async def update_tariff(tariff_id: int, name: str, price: str, down_mbit: int, up_mbit: int,
                        vat: int = 23) -> bool:
    """Change a tariff (False when there is none). Future charges use the new values;
    invoices already issued keep theirs, they are frozen at issue."""
    values = await _validate(name, price, down_mbit, up_mbit, vat, tariff_id=tariff_id)
    updated = await Tariff.update(values).where(Tariff.id == tariff_id).returning(Tariff.id)
    return bool(updated)


async def list_tariffs() -> list[dict]:
    """Every tariff with the number of customers on it today, by name."""
    from datetime import date

    from app.tables.tariffs import Assignment

    today = date.today()
    rows = await Tariff.select().order_by(Tariff.name)
    active = await Assignment.select(Assignment.tariff).where(
        (Assignment.start <= today) & (Assignment.end.is_null() | (Assignment.end >= today)))
    for row in rows:
        row["customers"] = sum(1 for a in active if a["tariff"] == row["id"])
    return rows


async def get_tariff(tariff_id: int) -> dict | None:
    return await Tariff.select().where(Tariff.id == tariff_id).first()


async def _validate(name: str, price: str, down_mbit: int, up_mbit: int, vat: int,
                    tariff_id: int | None = None) -> dict:
    name = (name or "").strip()
    if not name:
        raise TariffError("Podaj nazwę taryfy.")
    if has_control(name):
        raise TariffError("Nazwa taryfy zawiera znaki sterujące (np. NUL). Usuń je.")
    if len(name) > 100:
        raise TariffError("Nazwa taryfy może mieć najwyżej 100 znaków.")
    try:
        grosze = parse_money(price)
    except ValueError as exc:
        raise TariffError(str(exc)) from exc
    if grosze <= 0:
        raise TariffError("Cena musi być większa od zera.")
    if down_mbit <= 0 or up_mbit <= 0:
        raise TariffError("Prędkości muszą być dodatnie (Mbit/s).")
    if vat not in VAT_RATES:
        raise TariffError("Stawka VAT musi być jedną z: 23, 8, 5, 0.")
    same_name = Tariff.exists().where(Tariff.name == name)
    if tariff_id is not None:
        same_name = same_name.where(Tariff.id != tariff_id)
    if await same_name:
        raise TariffError(f"Taryfa {name} już istnieje.")
    return {Tariff.name: name, Tariff.price: grosze, Tariff.down_mbit: down_mbit,
            Tariff.up_mbit: up_mbit, Tariff.vat: vat}


async def edit_form(tariff_id: int) -> dict | None:
    """A tariff's values as its edit form shows them (price as `79,99`); None if there is none."""
    from app.money import format_input

    row = await get_tariff(tariff_id)
    if row is None:
        return None
    return {"name": row["name"], "price": format_input(row["price"]), "down_mbit": row["down_mbit"],
            "up_mbit": row["up_mbit"], "vat": row["vat"]}
