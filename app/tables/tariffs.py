"""Tariffs and their assignment to customers."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Varchar
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
    """A customer's tariff from `start` until `end` (inclusive; open when null)."""

    customer = ForeignKey(references=Customer, index=True)
    tariff = ForeignKey(references=Tariff)
    start = Date()
    end = Date(null=True, default=None)
