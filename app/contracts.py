"""Umowy — domain: a customer's tariff assignments over time (add, change from a date,
end), each change in the audit log. Billing (app/billing.py) charges every assignment
for the days it covers; nothing here is ever deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app import changes, db
from app.money import format_money, parse_money
from app.tables.customers import Customer
from app.tables.tariffs import Assignment, Tariff


class ContractError(ValueError):
    """Input that cannot make or change an assignment (Polish, fit for the form)."""


@dataclass(frozen=True)
class AssignmentView:
    id: int
    tariff: str
    price: int  # the tariff's monthly gross
    monthly: int  # after the discount
    start: date
    end: date | None
    discount_percent: int
    discount_amount: int
    note: str
    state: str  # "current", "future" or "ended"
    down_mbit: int = 0
    up_mbit: int = 0


def parse_day(text: str | date | None, what: str = "Data") -> date:
    if isinstance(text, date):
        return text
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise ContractError(f"{what}: podaj datę RRRR-MM-DD.") from exc
    if day.year < 2000 or day.year > 2100:
        raise ContractError(f"{what}: rok od 2000 do 2100.")
    return day


async def tariff_choices() -> list[dict]:
    """Every tariff (id, name, price) by name, for the assignment forms."""
    return await Tariff.select(Tariff.id, Tariff.name, Tariff.price).order_by(Tariff.name)


async def tariff_id(name_or_id: str | int) -> int:
    text = str(name_or_id).strip()
    query = Tariff.select(Tariff.id)
    row = await (query.where(Tariff.id == int(text)) if text.isdigit() else query.where(Tariff.name == text)).first()
    if row is None:
        raise ContractError(f"Nie ma taryfy {text!r}.")
    return row["id"]


def _discounts(percent: str | int | None, amount: str | int | None) -> tuple[int, int]:
    try:
        pct = int(str(percent or 0).strip().rstrip("%") or 0)
    except ValueError as exc:
        raise ContractError("Rabat procentowy: podaj liczbę od 0 do 100.") from exc
    if not 0 <= pct <= 100:
        raise ContractError("Rabat procentowy: podaj liczbę od 0 do 100.")
    if isinstance(amount, int):
        grosze = amount
    else:
        try:
            grosze = parse_money(amount) if (amount or "").strip() else 0
        except ValueError as exc:
            raise ContractError(f"Rabat kwotowy: {exc}") from exc
    if grosze < 0:
        raise ContractError("Rabat kwotowy nie może być ujemny.")
    return pct, grosze


def _describe(name: str, start: date, end: date | None = None, pct: int = 0, amount: int = 0) -> str:
    text = f"{name} od {start.isoformat()}"
    if end:
        text += f" do {end.isoformat()}"
    if pct:
        text += f", rabat {pct}%"
    if amount:
        text += f", rabat {format_money(amount)}"
    return text


async def add_assignment(customer_id: int, tariff: str | int, start: str | date, *,
                         operator_id: int | None = None, end: str | date | None = None,
                         discount_percent: str | int | None = 0, discount_amount: str | int | None = 0,
                         note: str = "") -> int:
    """A new assignment of `tariff` (name or ID) from `start`; returns its ID."""
    if not await Customer.exists().where(Customer.id == customer_id):
        raise ContractError(f"Nie ma klienta o ID {customer_id}.")
    tid = await tariff_id(tariff)
    start = parse_day(start, "Od")
    end_day = parse_day(end, "Do") if end else None
    if end_day and end_day < start:
        raise ContractError("Koniec umowy nie może być przed jej początkiem.")
    pct, amount = _discounts(discount_percent, discount_amount)
    note = (note or "").strip()[:200]
    name = (await Tariff.select(Tariff.name).where(Tariff.id == tid).first())["name"]
    async with db.transaction():
        rows = await Assignment.insert(Assignment(
            customer=customer_id, tariff=tid, start=start, end=end_day, discount_percent=pct,
            discount_amount=amount, note=note)).returning(Assignment.id)
        await changes.record(customer_id, "operator", operator_id,
                             "assignment_add", "tariff", "", _describe(name, start, end_day, pct, amount))
    return rows[0]["id"]


async def _get(assignment_id: int, customer_id: int | None = None) -> dict | None:
    query = Assignment.select(Assignment.all_columns(), Assignment.tariff.name).where(Assignment.id == assignment_id)
    if customer_id is not None:
        query = query.where(Assignment.customer == customer_id)
    return await query.first()


async def end_assignment(assignment_id: int, on: str | date, *, customer_id: int | None = None,
                         operator_id: int | None = None) -> bool:
    """End the contract on `on` (the last day billed, inclusive). False when there is no
    such assignment (of `customer_id`). One conditional update: the end only moves
    earlier, never after an end already set, and never before the start."""
    row = await _get(assignment_id, customer_id)
    if row is None:
        return False
    on = parse_day(on, "Koniec")
    if on < row["start"]:
        raise ContractError(f"Koniec umowy nie może być przed jej początkiem ({row['start']:%d.%m.%Y}).")
    async with db.transaction():
        done = await Assignment.update({Assignment.end: on}).where(
            (Assignment.id == assignment_id) & (Assignment.end.is_null() | (Assignment.end > on))
        ).returning(Assignment.id)
        if not done:
            raise ContractError(f"Ta umowa kończy się już {row['end']:%d.%m.%Y}.")
        await changes.record(row["customer"], "operator", operator_id,
                             "assignment_end", "tariff", _describe(row["tariff.name"], row["start"], row["end"]),
                             _describe(row["tariff.name"], row["start"], on))
    return True


async def change_tariff(assignment_id: int, tariff: str | int, start: str | date, *,
                        customer_id: int | None = None, operator_id: int | None = None) -> int | None:
    """Change an assignment's tariff from `start`: the old one ends the day before, the
    new one (same discount and note) starts on `start`, in one transaction. Returns the
    new assignment's ID, None when there is no such assignment."""
    row = await _get(assignment_id, customer_id)
    if row is None:
        return None
    start = parse_day(start, "Od")
    if start <= row["start"]:
        raise ContractError(f"Zmiana taryfy musi być po początku umowy ({row['start']:%d.%m.%Y}).")
    if row["end"] and start > row["end"]:
        raise ContractError(f"Ta umowa kończy się {row['end']:%d.%m.%Y}; dodaj nową zamiast zmieniać.")
    tid = await tariff_id(tariff)
    name = (await Tariff.select(Tariff.name).where(Tariff.id == tid).first())["name"]
    old_end = row["end"]
    async with db.transaction():
        done = await Assignment.update({Assignment.end: start - timedelta(days=1)}).where(
            (Assignment.id == assignment_id) & (Assignment.end.is_null() | (Assignment.end >= start))
        ).returning(Assignment.id)
        if not done:
            raise ContractError("Umowa zmieniła się w międzyczasie; odśwież stronę.")
        rows = await Assignment.insert(Assignment(
            customer=row["customer"], tariff=tid, start=start, end=old_end,
            discount_percent=row["discount_percent"], discount_amount=row["discount_amount"],
            note=row["note"])).returning(Assignment.id)
        await changes.record(row["customer"], "operator", operator_id,
                             "assignment_change", "tariff",
                             _describe(row["tariff.name"], row["start"], old_end),
                             _describe(name, start, old_end))
    return rows[0]["id"]


async def assignments(customer_id: int, today: date, include_ended: bool = True) -> list[AssignmentView]:
    """The customer's assignments: current ones, then future, then ended (newest first)."""
    from app.billing import discounted

    rows = await Assignment.select(Assignment.all_columns(), Assignment.tariff.name, Assignment.tariff.price,
                                   Assignment.tariff.down_mbit, Assignment.tariff.up_mbit).where(Assignment.customer == customer_id
                                           ).order_by(Assignment.start).order_by(Assignment.id)
    out = []
    for r in rows:
        state = ("ended" if r["end"] and r["end"] < today else "future" if r["start"] > today else "current")
        if state == "ended" and not include_ended:
            continue
        out.append(AssignmentView(
            r["id"], r["tariff.name"], r["tariff.price"],
            discounted(r["tariff.price"], r["discount_percent"], r["discount_amount"]),
            r["start"], r["end"], r["discount_percent"], r["discount_amount"], r["note"], state,
            r["tariff.down_mbit"], r["tariff.up_mbit"]))
    order = {"current": 0, "future": 1, "ended": 2}
    return sorted(out, key=lambda a: (order[a.state],
                                      -a.end.toordinal() if a.state == "ended" else a.start.toordinal()))
