"""Tariffs and their assignment to customers."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.customers import Customer


class Tariff(Table):
    """A service plan: speeds and the monthly gross price in grosze."""

    name = Varchar(length=100, unique=True)
    price = BigInt()
    down_mbit = Integer()
    up_mbit = Integer()
    vat = Integer(default=23)


class Assignment(Table):
    """A customer's tariff from `start` until `end` (inclusive; open when null): one
    contracted service. Several may run at once (internet plus a public IP). The
    monthly price is the tariff's, less `discount_percent` (0-100), then less
    `discount_amount` (grosze), never below zero. Rows are never deleted: ending a
    contract sets `end`, changing a tariff ends one row and starts another."""

    customer = ForeignKey(references=Customer, index=True)
    tariff = ForeignKey(references=Tariff)
    start = Date()
    end = Date(null=True, default=None)
    discount_percent = Integer(default=0)
    discount_amount = BigInt(default=0)
    note = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
