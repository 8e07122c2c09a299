"""Finanse — domain: balance, statement with running balance, and booking payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from piccolo.query.functions.aggregate import Max, Min, Sum

from app import db
from app.contracts import assignments
from app.customers import TariffLine, current_tariffs
from app.due import Due, amount_due
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
    due: Due | None = None  # the "Do zapłaty" box
    # Assignments in force today and those starting later (app/contracts.py).
    contracts: list = field(default_factory=list)

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
    owed = await amount_due(customer_id, -total, today)
    return FinancesView(
        balance=total,
        account=format_nrb(virtual_account(isp, customer_id)),
        tariffs=await current_tariffs(customer_id, today),
        statement=await statement(customer_id, today, year),
        transfer=build_transfer(isp, customer_id, *payer, -total, owed.numbers) if total < 0 else None,
        due=owed,
        contracts=await assignments(customer_id, today, include_ended=False),
    )


async def transfer_form(customer_id: int, isp: ISP) -> TransferForm | None:
    """The transfer form for the whole current debt (amount 0 when nothing is owed);
    None for an unknown customer."""
    payer = await _payer(customer_id)
    if payer is None:
        return None
    debt = max(0, -await balance(customer_id))
    owed = await amount_due(customer_id, debt, date.today())
    return build_transfer(isp, customer_id, *payer, debt, owed.numbers)


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
                                Invoice.due_date, Invoice.total_gross, Invoice.kind,
                                Invoice.corrected_number).where(
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
        Payment.reverses, Payment.moved_from, Payment.note,
    ).order_by(Payment.id, ascending=False).limit(limit)
    if customer_id is not None:
        query = query.where(Payment.customer == customer_id)
    return await query


# --- payment corrections -------------------------------------------------------------

class PaymentFixError(ValueError):
    """A payment that cannot be reversed or moved (Polish, fit for the page)."""


async def _payment(payment_id: int) -> dict | None:
    return await Payment.select().where(Payment.id == payment_id).first()


def _fixable(row: dict, reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PaymentFixError(N_("Podaj powód korekty wpłaty."))
    if len(reason) > 250:
        raise PaymentFixError(N_("Powód może mieć najwyżej 250 znaków."))
    if row["amount"] <= 0 or row["reverses"] is not None:
        raise PaymentFixError(N_("Tej pozycji nie można cofnąć: to już jest storno."))
    return reason


async def _book_reversal(row: dict, title: str, reason: str, today: date, operator_id: int | None) -> int:
    """The negative entry linked to `row`; its reference "reversal:<id>" is unique, so a
    payment is reversed (or moved) once, even by two operators at once."""
    rows = await Payment.insert(Payment(
        customer=row["customer"], date=today, title=title[:200], amount=-row["amount"], source="reversal",
        reference=f"reversal:{row['id']}", operator=operator_id, reverses=row["id"], note=reason,
    )).on_conflict(target=Payment.reference, action="DO NOTHING").returning(Payment.id)
    if not rows:
        raise PaymentFixError(N_("Ta wpłata została już cofnięta albo przeniesiona."))
    return rows[0]["id"]


async def reverse_payment(payment_id: int, reason: str, *, today: date, operator_id: int | None = None
                          ) -> int | None:
    """Reverse a booked payment: a negative entry linked to it, dated `today`; both stay
    in the statement and the audit log. Returns the reversal's ID, None when there is
    no such payment."""
    from app import changes
    from app.money import format_money

    row = await _payment(payment_id)
    if row is None:
        return None
    reason = _fixable(row, reason)
    async with db.transaction():
        rid = await _book_reversal(row, f"Storno wpłaty z {row['date']:%d.%m.%Y}: {reason}", reason, today,
                                   operator_id)
        await changes.record(row["customer"], "operator", operator_id, "payment_reverse", "payment",
                             f"{format_money(row['amount'])} {row['date']:%Y-%m-%d} {row['title']}", reason)
    return rid


async def move_payment(payment_id: int, to_customer: int, reason: str, *, today: date,
                       operator_id: int | None = None) -> int | None:
    """Move a payment booked to the wrong customer: a reversal on the original customer
    and the same payment (date, title, amount) booked to `to_customer`, linked to the
    original, in one transaction. Returns the new payment's ID, None when there is no
    such payment."""
    from app import changes
    from app.money import format_money

    row = await _payment(payment_id)
    if row is None:
        return None
    reason = _fixable(row, reason)
    if to_customer == row["customer"]:
        raise PaymentFixError(N_("Wpłata już jest na koncie tego klienta."))
    async with db.transaction():
        if not await Customer.exists().where(Customer.id == to_customer):
            raise PaymentFixError(N_("Nie ma klienta o takim ID."))
        await _book_reversal(row, f"Przeniesienie wpłaty z {row['date']:%d.%m.%Y} do klienta {to_customer}: "
                             f"{reason}", reason, today, operator_id)
        new = await Payment.insert(Payment(
            customer=to_customer, date=row["date"], title=row["title"], amount=row["amount"], source="moved",
            reference=f"moved:{row['id']}", operator=operator_id, moved_from=row["id"], note=reason,
        )).returning(Payment.id)
        what = f"{format_money(row['amount'])} {row['date']:%Y-%m-%d} {row['title']}"
        await changes.record(row["customer"], "operator", operator_id, "payment_move_out", "payment",
                             what, f"→ {to_customer}: {reason}")
        await changes.record(to_customer, "operator", operator_id, "payment_move_in", "payment",
                             f"{row['customer']} →", what)
    return new[0]["id"]


# --- one-off charges -----------------------------------------------------------------

class ChargeError(ValueError):
    """A one-off charge that cannot be added. `errors` maps form fields to Polish messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class ChargeForm:
    """The raw text of the admin one-off charge form, kept to fill the form back in."""

    description: str = ""
    amount: str = ""
    vat_rate: str = "23"
    date: str = ""
    mode: str = "next"
    errors: dict[str, str] = field(default_factory=dict)


def parse_charge_form(form: ChargeForm) -> tuple[str, int, int, date, str]:
    """(description, gross grosze, VAT rate, date, mode); every bad field at once."""
    from app.tariffs import VAT_RATES

    errors: dict[str, str] = {}
    description = (form.description or "").strip()
    if not description:
        errors["description"] = N_("Podaj opis opłaty.")
    elif len(description) > 200:
        errors["description"] = N_("Opis może mieć najwyżej 200 znaków.")
    grosze = 0
    try:
        grosze = parse_money(form.amount)
        if grosze <= 0:
            errors["amount"] = N_("Kwota musi być większa od zera.")
        elif grosze > MAX_GROSZE:
            errors["amount"] = N_("Kwota jest zbyt duża.")
    except ValueError as exc:
        errors["amount"] = str(exc)
    rate = int(form.vat_rate) if (form.vat_rate or "").strip().isdigit() else -1
    if rate not in VAT_RATES:
        errors["vat_rate"] = N_("Stawka VAT musi być jedną z: 23, 8, 5, 0.")
    day = EARLIEST
    try:
        day = date.fromisoformat((form.date or "").strip())
        if day < EARLIEST:
            errors["date"] = N_("Data jest zbyt odległa.")
    except ValueError:
        errors["date"] = N_("Podaj datę w formacie RRRR-MM-DD, np. 2026-11-24.")
    if form.mode not in ("now", "next"):
        errors["mode"] = N_("Wybierz: osobna faktura teraz albo z najbliższą fakturą miesięczną.")
    if errors:
        raise ChargeError(errors)
    return description, grosze, rate, day, form.mode


async def add_one_off(customer_id: int, description: str, gross: int, vat_rate: int, day: date, mode: str,
                      *, isp: ISP, today: date, operator_id: int | None = None) -> tuple[int, int | None]:
    """Add a one-off charge. "now": invoiced on its own at once (the charge, its invoice
    and the link in one transaction); "next": waits for the customer's next monthly
    invoice (app/billing.py). Returns (charge ID, invoice ID or None)."""
    from app import changes
    from app.invoices import issue_invoice
    from app.money import format_money
    from app.tables.finances import OneOffCharge

    async with db.transaction():
        if not await Customer.exists().where(Customer.id == customer_id):
            raise ChargeError({"customer_id": N_("Nie ma klienta o takim ID.")})
        cid = (await OneOffCharge.insert(OneOffCharge(
            customer=customer_id, date=day, description=description, gross=gross, vat_rate=vat_rate,
            mode=mode, operator=operator_id)).returning(OneOffCharge.id))[0]["id"]
        invoice_id = None
        if mode == "now":
            from app.invoices import InvoiceLine as Line

            issued = await issue_invoice(customer_id, [Line(description, 1, "szt.", gross, vat_rate)], today, isp,
                                         sale_date=day)
            invoice_id = issued.id
            await OneOffCharge.update({OneOffCharge.invoice: invoice_id}).where(OneOffCharge.id == cid)
        await changes.record(customer_id, "operator", operator_id, "charge_add", "charge", "",
                             f"{description}: {format_money(gross)} (VAT {vat_rate}%), {day:%Y-%m-%d}, "
                             + ("osobna faktura" if mode == "now" else "z fakturą miesięczną"))
    return cid, invoice_id


async def pending_one_offs(customer_id: int) -> list[dict]:
    """One-off charges waiting for the next monthly invoice."""
    from app.tables.finances import OneOffCharge

    return await OneOffCharge.select().where(
        (OneOffCharge.customer == customer_id) & OneOffCharge.invoice.is_null()).order_by(OneOffCharge.id)
