"""Finanse — domain: balance, statement with running balance, and booking payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from piccolo.query.functions.aggregate import Max, Min, Sum

from app import db
from app.customers import TariffLine, current_tariffs
from app.i18n import N_
from app.money import MAX_GROSZE, parse_money
from app.settings import ISP
from app.tables.customers import Customer
from app.tables.finances import Charge, Invoice, Payment
from app.transfer import TransferForm, build_transfer, format_nrb, virtual_account
from app.validation import CONTROL, has_control

EARLIEST = date(2000, 1, 1)


# --- balance -------------------------------------------------------------------------

async def _sum(table, customer_id: int, before: date | None = None) -> int:
    query = table.select(Sum(table.amount).as_alias("total")).where(table.customer == customer_id)
    if before is not None:
        query = query.where(table.date < before)
    row = await query.first()
    # SQLite sums integers to an int, PostgreSQL sums BIGINT to a numeric (Decimal).
    return int(row["total"] or 0) if row else 0


async def balance(customer_id: int, before: date | None = None) -> int:
    """Payments − charges in grosze (negative: the customer owes). With `before`, only
    what is dated earlier than that day counts."""
    return await _sum(Payment, customer_id, before) - await _sum(Charge, customer_id, before)


# --- statement -----------------------------------------------------------------------

@dataclass(frozen=True)
class StatementRow:
    """One line of the statement. `amount` is signed: charges negative, payments
    positive; `balance` is the running balance right after this row."""

    kind: str  # "charge" or "payment"
    date: date
    description: str
    amount: int
    balance: int
    invoice_id: int | None = None
    invoice_number: str | None = None


@dataclass(frozen=True)
class Statement:
    """One year of the statement, newest row first. `years` (newest first) are the
    years that can be shown; `opening` is the balance before 1 January of `year`."""

    year: int
    years: list[int]
    rows: list[StatementRow]
    opening: int
    closing: int

    @property
    def invoice_count(self) -> int:
        return sum(1 for row in self.rows if row.invoice_id)


async def statement_years(customer_id: int, today: date) -> list[int]:
    """Years from the oldest entry to this year (or the newest entry), newest first."""
    years = {today.year}
    for table in (Charge, Payment):
        row = await table.select(Min(table.date).as_alias("lo"), Max(table.date).as_alias("hi")
                                 ).where(table.customer == customer_id).first()
        for value in (row or {}).values():
            if value:
                years.add(_as_date(value).year)
    return list(range(max(years), min(years) - 1, -1))


def _as_date(value) -> date:
    # MIN()/MAX() of a DATE comes back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def statement(customer_id: int, today: date, year: int | None = None) -> Statement:
    """Charges and payments of one year with the running balance. Charges of one
    invoice form one row (the one with the invoice's checkbox and print icon). On the
    same day charges come before payments, so paying on the invoice day nets to zero.
    An unknown `year` falls back to the newest one."""
    years = await statement_years(customer_id, today)
    year = year if year in years else years[0]
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    opening = await balance(customer_id, before=start)
    charges = await Charge.select(
        Charge.id, Charge.date, Charge.description, Charge.amount, Charge.invoice,
        Charge.invoice.number,
    ).where((Charge.customer == customer_id) & (Charge.date >= start) & (Charge.date < end)
            ).order_by(Charge.date).order_by(Charge.id)
    payments = await Payment.select(Payment.id, Payment.date, Payment.title, Payment.amount).where(
        (Payment.customer == customer_id) & (Payment.date >= start) & (Payment.date < end)
    ).order_by(Payment.date).order_by(Payment.id)
    entries = _group_charges(charges) + [
        (p["date"], 1, p["id"], "payment", p["title"], p["amount"], None, None) for p in payments
    ]
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    rows, running = [], opening
    for day, _, _, kind, text, amount, invoice_id, number in entries:
        running += amount
        rows.append(StatementRow(kind, day, text, amount, running, invoice_id, number))
    rows.reverse()
    return Statement(year=year, years=years, rows=rows, opening=opening, closing=running)


def _group_charges(charges: list[dict]) -> list[tuple]:
    by_invoice: dict[int, tuple] = {}
    out: list[tuple] = []
    for c in charges:
        if c["invoice"] is None:
            out.append((c["date"], 0, c["id"], "charge", c["description"], -c["amount"], None, None))
            continue
        prev = by_invoice.get(c["invoice"])
        if prev is None:
            by_invoice[c["invoice"]] = (c["date"], 0, c["id"], "charge", c["description"],
                                        -c["amount"], c["invoice"], c["invoice.number"])
        else:
            by_invoice[c["invoice"]] = prev[:4] + (f"{prev[4]}; {c['description']}",
                                                   prev[5] - c["amount"]) + prev[6:]
    return out + list(by_invoice.values())


# --- the Finanse tab -----------------------------------------------------------------

@dataclass(frozen=True)
class FinancesView:
    """Everything the Finanse tab shows. `transfer` is set only when the customer owes."""

    balance: int
    account: str  # the customer's virtual NRB, formatted for reading
    tariffs: list[TariffLine]
    statement: Statement
    transfer: TransferForm | None = None

    @property
    def debt(self) -> int:
        return max(0, -self.balance)


async def finances_data(customer_id: int, isp: ISP, today: date, year: int | None = None
                        ) -> FinancesView | None:
    """The data of the Finanse page and of its fragment; None for an unknown customer."""
    payer = await _payer(customer_id)
    if payer is None:
        return None
    total = await balance(customer_id)
    return FinancesView(
        balance=total,
        account=format_nrb(virtual_account(isp, customer_id)),
        tariffs=await current_tariffs(customer_id, today),
        statement=await statement(customer_id, today, year),
        transfer=build_transfer(isp, customer_id, *payer, -total) if total < 0 else None,
    )


async def transfer_form(customer_id: int, isp: ISP) -> TransferForm | None:
    """The transfer form for the whole current debt (amount 0 when nothing is owed);
    None for an unknown customer."""
    payer = await _payer(customer_id)
    if payer is None:
        return None
    return build_transfer(isp, customer_id, *payer, max(0, -await balance(customer_id)))


async def _payer(customer_id: int) -> tuple[str, str] | None:
    """(name, address) as printed on the transfer form."""
    row = await Customer.select(Customer.name, Customer.street, Customer.postal_code,
                                Customer.city).where(Customer.id == customer_id).first()
    if row is None:
        return None
    town = " ".join(x for x in (row["postal_code"], row["city"]) if x)
    return row["name"], ", ".join(x for x in (row["street"], town) if x)


async def invoice_numbers(customer_id: int) -> list[dict]:
    """The customer's invoices (id, number, dates, total), newest first; for the admin."""
    return await Invoice.select(Invoice.id, Invoice.number, Invoice.issue_date,
                                Invoice.due_date, Invoice.total_gross).where(
        Invoice.customer == customer_id).order_by(Invoice.issue_date, ascending=False
                                                  ).order_by(Invoice.id, ascending=False)


# --- payments ------------------------------------------------------------------------

class PaymentError(ValueError):
    """A payment that cannot be booked. `errors` maps form field names to Polish
    messages fit to show next to those fields."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class BookedPayment:
    """A booked payment; `created` is False when `reference` had been booked before
    (the existing row is returned and nothing is written)."""

    id: int
    customer_id: int
    amount: int
    date: date
    created: bool = True


@dataclass
class PaymentForm:
    """The raw text of the admin payment form, kept to fill the form back in."""

    customer_id: str = ""
    amount: str = ""
    date: str = ""
    title: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_payment_form(form: PaymentForm, today: date) -> tuple[int, int, date, str]:
    """(customer_id, grosze, date, title) from the form's text; raises PaymentError
    with a message per bad field (all of them at once, not only the first)."""
    from app.auth import parse_customer_id

    errors: dict[str, str] = {}
    grosze = paid_on = None
    customer_id = parse_customer_id(form.customer_id or "")
    if customer_id is None:
        errors["customer_id"] = N_("Podaj ID Klienta (same cyfry).")
    try:
        grosze = parse_money(form.amount)
    except ValueError as exc:
        errors["amount"] = str(exc)
    try:
        paid_on = date.fromisoformat((form.date or "").strip())
    except ValueError:
        errors["date"] = N_("Podaj datę w formacie RRRR-MM-DD, np. 2026-11-24.")
    errors.update(_check(grosze, paid_on, form.title, today, errors))
    if errors:
        raise PaymentError(errors)
    return customer_id, grosze, paid_on, form.title.strip()


def _check(grosze: int | None, paid_on: date | None, title: str, today: date,
           known: dict[str, str] | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    known = known or {}
    if "amount" not in known and (grosze is None or grosze <= 0):
        errors["amount"] = N_("Kwota wpłaty musi być większa od zera.")
    elif grosze is not None and grosze > MAX_GROSZE:
        errors["amount"] = N_("Kwota jest zbyt duża.")
    if "date" not in known and paid_on is not None:
        if paid_on > today:
            errors["date"] = N_("Data wpłaty nie może być z przyszłości.")
        elif paid_on < EARLIEST:
            errors["date"] = N_("Data wpłaty jest zbyt odległa.")
    title = (title or "").strip()
    if has_control(title):
        errors["title"] = CONTROL
    elif not title:
        errors["title"] = N_("Podaj tytuł wpłaty.")
    elif len(title) > 200:
        errors["title"] = N_("Tytuł może mieć najwyżej 200 znaków.")
    return errors


async def book_payment(
    customer_id: int,
    amount: int,
    paid_on: date,
    title: str,
    *,
    today: date,
    operator_id: int | None = None,
    source: str = "manual",
    reference: str | None = None,
) -> BookedPayment:
    """Book `amount` grosze received from the customer on `paid_on`.

    With a bank `reference` the booking is idempotent per (source, reference): a second
    call returns the first booking with created=False. Raises PaymentError (keys are the
    admin form's field names) for an unknown customer or a bad amount, date or title."""
    errors = _check(amount, paid_on, title, today)
    if errors:
        raise PaymentError(errors)
    key = f"{source}:{reference}" if reference else None
    async with db.transaction():
        if not await Customer.exists().where(Customer.id == customer_id):
            raise PaymentError({"customer_id": N_("Nie ma klienta o takim ID.")})
        # ON CONFLICT rather than look-then-insert: two imports of one statement at once
        # must not both book it (PostgreSQL runs them side by side).
        rows = await Payment.insert(Payment(
            customer=customer_id, date=paid_on, title=title.strip(), amount=amount,
            source=source, reference=key, operator=operator_id,
        )).on_conflict(target=Payment.reference, action="DO NOTHING").returning(Payment.id)
        if not rows:
            old = await Payment.select(Payment.id, Payment.customer, Payment.amount,
                                       Payment.date).where(Payment.reference == key).first()
            return BookedPayment(old["id"], old["customer"], old["amount"], old["date"],
                                 created=False)
    return BookedPayment(rows[0]["id"], customer_id, amount, paid_on)


async def recent_payments(limit: int = 20, customer_id: int | None = None) -> list[dict]:
    """The latest booked payments (newest booking first), with who booked them; for the admin."""
    query = Payment.select(
        Payment.id, Payment.customer, Payment.customer.name, Payment.date, Payment.title,
        Payment.amount, Payment.source, Payment.operator.username, Payment.created_at,
    ).order_by(Payment.id, ascending=False).limit(limit)
    if customer_id is not None:
        query = query.where(Payment.customer == customer_id)
    return await query
