"""Wiadomości — tables: messages from the operator and who received them."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.auth import Operator
from app.tables.customers import Customer


class Message(Table):
    """One message as composed; `audience` describes who it went to, for the operator."""

    subject = Varchar(length=200)
    body = Text()
    category = Varchar(length=20)  # handlowa, rozliczeniowa, serwisowa
    urgent = Boolean(default=False)
    audience = Varchar(length=200, default="")
    recipients = Integer(default=0)
    created_by = ForeignKey(references=Operator, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class MessageRecipient(Table):
    """A message in one customer's inbox. Rows are made set-based (INSERT … SELECT);
    `confirmed_at` is set when the customer acknowledges an urgent message."""

    message = ForeignKey(references=Message, index=True)
    customer = ForeignKey(references=Customer, index=True)
    read_at = Timestamptz(null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
