"""Scheduled job runs: one row per job and period, claimed by a unique key."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class JobRun(Table):
    """`key` is "<job>:<period>", e.g. "traffic:2026-11-22": the unique key is the claim,
    so a second process or a rerun for the same period inserts nothing and does nothing."""

    key = Varchar(length=100, unique=True)
    job = Varchar(length=40, index=True)
    period = Varchar(length=40)
    status = Varchar(length=10, default="running")  # running, done, failed
    rows = Integer(default=0)
    detail = Text(default="")
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
