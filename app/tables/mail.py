"""Mail: the outbox every notification e-mail goes through (app/mail.py sends it)."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class MailOutbox(Table):
    """A notification e-mail, written in the transaction of the change that caused it and
    sent after commit; a failed send stays here with its error and is retried later."""

    recipient = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    attempts = Integer(default=0)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    # A sender leases a row until this moment so that two processes never send it twice.
    locked_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None, index=True)
