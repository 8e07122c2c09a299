"""LMS import — tables: what `wbok import lms` took over, by LMS ID."""

from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class LmsLink(Table):
    """One imported LMS row. `key` is "<kind>:<LMS ID>" ("customer:42", "invoice:1207",
    "stats:<node>:<day>") and unique; `wbok_id` is the WBOK row it became (NULL when it
    was skipped). `digest` is a keyed hash (HMAC with the secret key: a customer's row
    holds the PIN) of the LMS row as last imported: a rerun that finds the same digest
    leaves the row alone, a different one updates it."""

    key = Varchar(length=60, unique=True)
    kind = Varchar(length=20, index=True)
    wbok_id = Integer(null=True, default=None)
    digest = Varchar(length=64, default="")
    updated_at = Timestamptz(default=TimestamptzNow())
