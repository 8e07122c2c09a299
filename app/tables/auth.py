"""Login — tables: operators, sessions and the login journal."""

from piccolo.columns import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Operator(Table):
    """An office or technical staff account for /admin."""

    username = Varchar(length=50, unique=True)
    password_hash = Text()
    name = Varchar(length=100, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Session(Table):
    """A login session, kept in the database so that several processes share it.

    `token_hash` is the SHA-256 of the cookie value: a leaked table grants no login.
    """

    token_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=10)  # "customer" or "operator"
    subject_id = Integer(index=True)
    ip = Varchar(length=45, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen = Timestamptz(default=TimestamptzNow())


class LoginAttempt(Table):
    """Every login success and failure, with time and client IP."""

    kind = Varchar(length=10)
    # What was typed, normalised: a customer ID or an operator username.
    login = Varchar(length=50, index=True)
    subject_id = Integer(null=True, default=None, index=True)
    ip = Varchar(length=45, index=True)
    success = Boolean()
    reason = Varchar(length=20, default="")
    at = Timestamptz(default=TimestamptzNow(), index=True)


class AppSecret(Table):
    """Secrets the app makes for itself and keeps, such as the key that signs CSRF tokens
    when WBOK_SECRET_KEY is not set: one row per name, written once."""

    name = Varchar(length=50, unique=True)
    value = Text()
    created_at = Timestamptz(default=TimestamptzNow())
