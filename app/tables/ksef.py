"""KSeF: one row per invoice that goes to the Krajowy System e-Faktur."""

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.finances import Invoice


class KsefDocument(Table):
    """The invoice's FA(3) XML, frozen when first built, and where it stands in KSeF.

    `status`: "pending" (to send), "invalid" (failed the FA(3) schema: never sent),
    "sent" (in a KSeF session, awaiting its verdict), "accepted" (has `ksef_number`),
    "rejected" (KSeF refused it; `error` says why), "offline" (issued in an offline mode,
    `offline_mode` "offline24" or "awaria", to be sent by `deadline_at`; it is also pending).
    A sender leases the row (`locked_until`) so two processes never send it at once;
    failures back off through `next_attempt_at`."""

    invoice = ForeignKey(references=Invoice, unique=True)
    number = Varchar(length=60, index=True)
    status = Varchar(length=10, default="pending", index=True)
    xml = Text(default="")
    xml_hash = Varchar(length=44, default="")
    offline_mode = Varchar(length=10, default="")
    deadline_at = Timestamptz(null=True, default=None)
    session_ref = Varchar(length=60, default="")
    reference = Varchar(length=60, default="")
    ksef_number = Varchar(length=40, default="")
    accepted_at = Timestamptz(null=True, default=None)
    error = Text(default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
