"""Traffic: raw collector samples, hourly and daily aggregates, published totals, the stamp.

Customers and devices are referenced by plain integer ids, without foreign keys: these are
the volume tables (10,000 devices every 5 minutes) and bulk inserts and prunes stay cheap.
A removed device's traffic keeps counting in its customer's total."""

from piccolo.columns import BigInt, Date, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class TrafficSample(Table):
    """One collector line: bytes since the previous sample, stamped `at` (UTC, whole seconds).
    Upload and download are from the customer's point of view."""

    id = Serial(primary_key=True)
    customer = Integer()
    device = Integer()
    at = Timestamptz(index=True)
    upload = BigInt(default=0)
    download = BigInt(default=0)


class TrafficHourly(Table):
    """Bytes per device per UTC hour (`hour` is the hour's start); kept as long as samples."""

    id = Serial(primary_key=True)
    customer = Integer()
    device = Integer()
    hour = Timestamptz(index=True)
    upload = BigInt(default=0)
    download = BigInt(default=0)


class TrafficDaily(Table):
    """Bytes per device per Warsaw calendar day (23, 24 or 25 hours long); kept for ever."""

    id = Serial(primary_key=True)
    customer = Integer(index=True)
    device = Integer()
    day = Date(index=True)
    upload = BigInt(default=0)
    download = BigInt(default=0)


class TrafficPublished(Table):
    """What the Statystyki tab reads: per customer, period and device (device NULL = total).
    `since` is the period's first Warsaw day (NULL for the last hour; for "all", the first
    day with data); the total row's `since` and the cut-off give the rates."""

    id = Serial(primary_key=True)
    customer = Integer(index=True)
    device = Integer(null=True, default=None)
    period = Varchar(length=5)
    since = Date(null=True, default=None)
    upload = BigInt(default=0)
    download = BigInt(default=0)


class TrafficPublication(Table):
    """The stamp: one row, the last published Warsaw day, its cut-off (the UTC instant of
    the following local midnight) and when it was published."""

    id = Serial(primary_key=True)
    day = Date()
    cutoff = Timestamptz()
    published_at = Timestamptz(default=TimestamptzNow())
