"""Job runs: one row per job and period, claimed by a unique key (see app/runs.py)."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class JobRun(Table):
    """`key` is "<job>:<period>", e.g. "traffic:2026-11-22": the unique key is the claim,
    so a second process or a rerun for the same period inserts nothing and does nothing.
    `lease_until`: a running claim made outside a transaction is free again after this
    moment unless its run renews it (a heartbeat); null for claims held by a transaction."""

    key = Varchar(length=100, unique=True)
    job = Varchar(length=40, index=True)
    period = Varchar(length=40)
    status = Varchar(length=10, default="running")  # running, done, failed
    rows = Integer(default=0)
    detail = Text(default="")
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
