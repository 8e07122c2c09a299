"""Billing and payments: monthly billing markers, e-mail deliveries, reminders, imported bank lines."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.auth import Operator
from app.tables.customers import Customer
from app.tables.finances import Invoice
from app.tables.tariffs import Assignment


class BilledMonth(Table):
    """One customer billed for one month. `key` is "<YYYY-MM>:<customer ID>" and unique;
    it is written in the same transaction as the invoice, so a rerun or a resumed run
    never bills a customer twice for a month."""

    key = Varchar(length=40, unique=True)
    period = Varchar(length=7, index=True)
    customer = ForeignKey(references=Customer, index=True)
    invoice = ForeignKey(references=Invoice, null=True, default=None)
    total = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class BilledAssignment(Table):
    """One assignment billed for one month: `key` "<YYYY-MM>:<assignment ID>" is unique
    and written in the invoice's own transaction, so billing is idempotent per
    (customer, assignment, month): a rerun, a concurrent run or a resumed crashed run
    bills only what has no marker yet. `amount` is the line's gross in grosze.
    (BilledMonth is the older per-customer marker, kept for history and backfilled
    into this table by the migration.)"""

    key = Varchar(length=40, unique=True)
    period = Varchar(length=7, index=True)
    assignment = ForeignKey(references=Assignment, index=True)
    customer = ForeignKey(references=Customer, index=True)
    invoice = ForeignKey(references=Invoice, null=True, default=None)
    amount = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class InvoiceDelivery(Table):
    """An invoice to e-mail as PDF; `sent_at` null until the SMTP server accepted it.
    Failures count `attempts` and keep `last_error`; the invoice itself is untouched."""

    invoice = ForeignKey(references=Invoice, unique=True)
    customer = ForeignKey(references=Customer, index=True)
    email = Varchar(length=254)
    attempts = Integer(default=0)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    # A sender leases the row until then, so two processes never send it at once.
    locked_until = Timestamptz(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)  # after a failure (backoff)
    created_at = Timestamptz(default=TimestamptzNow())


class Reminder(Table):
    """A payment reminder; `key` "<YYYY-MM>:<customer ID>" allows one per month.
    `channel` is "email" or "paper" (printed by the office); amount in grosze."""

    key = Varchar(length=40, unique=True)
    period = Varchar(length=7)
    customer = ForeignKey(references=Customer, index=True)
    amount = BigInt()
    channel = Varchar(length=10)
    email = Varchar(length=254, default="")
    attempts = Integer(default=0)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)  # after a failure (backoff)
    created_at = Timestamptz(default=TimestamptzNow())


class StatementImport(Table):
    """One imported bank statement file and what came of it."""

    filename = Varchar(length=200, default="")
    format = Varchar(length=10)
    lines = Integer(default=0)
    matched = Integer(default=0)
    unmatched = Integer(default=0)
    duplicates = Integer(default=0)
    total = BigInt(default=0)
    debits = Integer(default=0)  # outgoing lines, skipped
    operator = ForeignKey(references=Operator, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class BankLine(Table):
    """One incoming payment from a statement. `key` (a fingerprint of value date, amount,
    sender's account, normalised title and occurrence; see payments_import) is unique: a
    second import, from any format, books nothing. `status`: "matched" (booked at import),
    "unmatched" (waits in the queue), "assigned" or "split" (booked by an operator),
    "ignored" (an operator's reason in `note`). A booked Payment's reference is
    "bank:<key>" ("bank:<key>:<n>" for the parts of a split)."""

    key = Varchar(length=150, unique=True)
    statement = ForeignKey(references=StatementImport, index=True)
    date = Date()
    amount = BigInt()
    title = Varchar(length=300, default="")
    sender_account = Varchar(length=40, default="")
    account = Varchar(length=40, default="")
    sender_name = Varchar(length=200, default="")
    customer = ForeignKey(references=Customer, null=True, default=None)
    status = Varchar(length=10, index=True)
    reference = Varchar(length=150, default="", index=True)  # the bank's, "" when none
    note = Text(default="")  # why it was ignored
    created_at = Timestamptz(default=TimestamptzNow())


class BankLineAction(Table):
    """The audit of the unmatched queue: who assigned, split or ignored a line, when,
    to whom and how much (one row per customer of a split), or why it was ignored."""

    line = ForeignKey(references=BankLine, index=True)
    action = Varchar(length=10)  # assign, split, ignore
    customer = ForeignKey(references=Customer, null=True, default=None)
    amount = BigInt(default=0)
    reason = Text(default="")
    operator = ForeignKey(references=Operator, null=True, default=None)
    at = Timestamptz(default=TimestamptzNow())
