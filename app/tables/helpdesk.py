"""Helpdesk: tickets, their messages and audit trail (its e-mails go through app/tables/mail.py)."""

from piccolo.columns import Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.auth import Operator
from app.tables.customers import Customer


class Ticket(Table):
    """A customer's ticket (zgłoszenie) in one queue; status is new, todo or resolved."""

    customer = ForeignKey(references=Customer, index=True)
    queue = Varchar(length=20, index=True)
    subject = Varchar(length=100)
    status = Varchar(length=10, default="new", index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_activity_at = Timestamptz(default=TimestamptzNow(), index=True)
    # "<customer id>:<one-time form token>": a double submit of one form hits this
    # unique key instead of creating a second ticket.
    submit_key = Varchar(length=80, unique=True, null=True, default=None)
    # An operator's answer or status change the customer has not opened yet (the tab's badge).
    customer_unseen = Boolean(default=False, index=True)


class TicketMessage(Table):
    """One message in a thread. Internal notes (internal=True) stay on the operator side."""

    ticket = ForeignKey(references=Ticket, index=True)
    author = Varchar(length=10)  # "customer" or "operator"
    operator = ForeignKey(references=Operator, null=True, default=None)
    body = Text()
    internal = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class TicketEvent(Table):
    """Audit trail: who did what to a ticket (opened, reply, note, status, queue, reopen)."""

    ticket = ForeignKey(references=Ticket, index=True)
    actor = Varchar(length=10)  # "customer", "operator" or "system"
    operator = ForeignKey(references=Operator, null=True, default=None)
    action = Varchar(length=20)
    detail = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())

