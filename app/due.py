"""Do zapłaty — domain: how much the customer owes, by when, for which invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.tables.finances import Invoice

PAID, DUE, OVERDUE = "paid", "due", "overdue"


@dataclass(frozen=True)
class Due:
    """The "Do zapłaty" box: `amount` in grosze (0 when nothing is owed), the invoices the
    debt is made of (oldest first; the oldest may be partly paid), the earliest due date
    among them and the status: PAID, DUE (not yet past the date) or OVERDUE."""

    amount: int
    numbers: tuple[str, ...]
    due_date: date | None
    status: str


async def amount_due(customer_id: int, debt: int, today: date) -> Due:
    """Payments settle the oldest invoices first, so the debt is made of the newest ones:
    walk back from the newest until their totals cover it."""
    if debt <= 0:
        return Due(0, (), None, PAID)
    rows = await Invoice.select(Invoice.number, Invoice.due_date, Invoice.total_gross).where(
        Invoice.customer == customer_id).order_by(Invoice.issue_date, ascending=False).order_by(
        Invoice.id, ascending=False)
    unpaid, covered = [], 0
    for row in rows:
        if covered >= debt:
            break
        unpaid.append(row)
        covered += row["total_gross"]
    unpaid.reverse()
    due_date = min((r["due_date"] for r in unpaid), default=None)
    status = OVERDUE if due_date is not None and due_date < today else DUE
    return Due(debt, tuple(r["number"] for r in unpaid), due_date, status)
