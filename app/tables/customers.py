"""Customers and their devices."""

from piccolo.columns import (

    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Customer(Table):
    """A subscriber. `id` is the customer ID printed on contracts and invoices."""

    id = Serial(primary_key=True)
    name = Varchar(length=200)
    street = Varchar(length=200, default="")
    postal_code = Varchar(length=10, default="")
    city = Varchar(length=100, default="")
    # Correspondence address, when it differs from the service address.
    mail_street = Varchar(length=200, default="")
    mail_postal_code = Varchar(length=10, default="")
    mail_city = Varchar(length=100, default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    nip = Varchar(length=13, default="")
    invoice_by_email = Boolean(default=False)
    marketing_consent = Boolean(default=False)
    notes = Text(default="")  # the office's own notes; never shown to the customer
    # Name and addresses folded by app.search.fold (lower case, no Polish diacritics),
    # rewritten with every change of those fields, so that "lecki" finds "Łęcki".
    search_text = Text(default="")
    pin_hash = Text()
    failed_logins = Integer(default=0)
    blocked = Boolean(default=False)
    blocked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Device(Table):
    """A customer's device; traffic samples are mapped to customers by its IP."""

    customer = ForeignKey(references=Customer, index=True)
    name = Varchar(length=100)
    ip = Varchar(length=45, unique=True)
    mac = Varchar(length=17, default="")
    created_at = Timestamptz(default=TimestamptzNow())



