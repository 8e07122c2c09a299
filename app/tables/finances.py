"""Finanse — tables: invoices with their lines, charges, payments and gapless invoice counters."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.auth import Operator
from app.tables.customers import Customer


class InvoiceCounter(Table):
    """The last number used in one series, e.g. `series` "FV/{n}/11/2026", `last_seq` 41.

    Bumped by an upsert inside the issuing transaction: the row lock (PostgreSQL) or
    the write lock (SQLite, BEGIN IMMEDIATE) serialises issuers, and a rolled-back
    issue rolls the bump back too, so numbers have no gaps and no duplicates."""

    series = Varchar(length=60, unique=True)
    last_seq = Integer(default=0)


class Invoice(Table):
    """An issued faktura VAT. Seller, buyer and account are frozen copies taken at
    issue time; nothing here is ever updated, so a reprint is always the same document."""

    number = Varchar(length=60, unique=True)
    series = Varchar(length=60)
    seq = Integer()
    customer = ForeignKey(references=Customer, index=True)
    issue_date = Date()
    sale_date = Date()
    due_date = Date()
    seller_name = Varchar(length=200)
    seller_address = Varchar(length=300)
    seller_nip = Varchar(length=13, default="")
    buyer_name = Varchar(length=200)
    buyer_address = Varchar(length=300)
    buyer_nip = Varchar(length=13, default="")
    bank_account = Varchar(length=26)  # the buyer's virtual NRB at issue time
    bank_name = Varchar(length=100, default="")
    payment_method = Varchar(length=30, default="przelew")
    total_net = BigInt()
    total_vat = BigInt()
    total_gross = BigInt()
    # A faktura korygująca (art. 106j) is an Invoice of kind "correction" in its own
    # series; its lines hold the differences, CorrectionLine the before/after, and
    # `corrects` with the frozen `corrected_number`/`corrected_issue_date` the original.
    kind = Varchar(length=12, default="invoice")
    corrects = Integer(null=True, default=None, index=True)
    corrected_number = Varchar(length=60, default="")
    corrected_issue_date = Date(null=True, default=None)
    reason = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class InvoiceLine(Table):
    """One invoice line; `gross` is the whole line's value in grosze, `vat_rate` percent."""

    invoice = ForeignKey(references=Invoice, index=True)
    position = Integer()
    description = Varchar(length=200)
    quantity = Integer(default=1)
    unit = Varchar(length=20, default="szt.")
    gross = BigInt()
    vat_rate = Integer()


class CorrectionLine(Table):
    """One line of a corrective invoice: the corrected invoice's line `position` as it
    was (before) and as it should be (after); gross values of the whole line in grosze.
    A line the correction leaves alone is not stored. An after quantity 0 cancels it."""

    correction = ForeignKey(references=Invoice, index=True)
    position = Integer()
    description = Varchar(length=200)
    unit = Varchar(length=20, default="szt.")
    vat_rate = Integer()
    quantity_before = Integer()
    gross_before = BigInt()
    quantity_after = Integer()
    gross_after = BigInt()


class OneOffCharge(Table):
    """A one-off charge an operator adds (installation, a router, a service call):
    gross grosze at `vat_rate`. `mode` "now" is invoiced on its own at once, "next" with
    the customer's next monthly invoice; `invoice` is set when it is invoiced (in the
    invoice's transaction, by a conditional update: it is invoiced once)."""

    customer = ForeignKey(references=Customer, index=True)
    date = Date()
    description = Varchar(length=200)
    gross = BigInt()
    vat_rate = Integer(default=23)
    mode = Varchar(length=10, default="next")
    invoice = ForeignKey(references=Invoice, null=True, default=None, index=True)
    operator = ForeignKey(references=Operator, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Charge(Table):
    """Money the customer owes (grosze, positive); `invoice` when an invoice backs it."""

    customer = ForeignKey(references=Customer, index=True)
    date = Date(index=True)
    description = Varchar(length=200)
    amount = BigInt()
    invoice = ForeignKey(references=Invoice, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Payment(Table):
    """Money received from the customer (grosze, positive).

    `source` says how it arrived ("manual", "mt940", "csv", "demo"); `reference` is
    "<source>:<bank reference>" and unique, so importing a statement twice books once
    (NULL for manual entries, which have no bank reference)."""

    customer = ForeignKey(references=Customer, index=True)
    date = Date(index=True)
    title = Varchar(length=200)
    amount = BigInt()
    source = Varchar(length=20, default="manual")
    reference = Varchar(length=150, null=True, default=None, unique=True)
    operator = ForeignKey(references=Operator, null=True, default=None)
    # Corrections book new rows, never edit or delete: a reversal is a negative row with
    # `reverses` = the original's ID (reference "reversal:<id>", unique, so a payment is
    # reversed or moved once); a move adds the reversal plus a positive row for the other
    # customer with `moved_from` = the original's ID (reference "moved:<id>").
    reverses = Integer(null=True, default=None, index=True)
    moved_from = Integer(null=True, default=None)
    note = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
