"""Customer data changes: requests waiting for an operator, and the audit log."""

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.auth import Operator
from app.tables.customers import Customer


class ChangeRequest(Table):
    """One field the customer wants changed. Values are text as the form sends them
    (booleans "1"/"0"); `status` is pending, approved or rejected."""

    customer = ForeignKey(references=Customer, index=True)
    field = Varchar(length=40)
    old_value = Text(default="")
    new_value = Text(default="")
    status = Varchar(length=10, default="pending", index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=Operator, null=True, default=None)


class AuditLog(Table):
    """Every change to customer data: who (customer or operator), when, old → new.
    A PIN change is recorded without any PIN."""

    customer = ForeignKey(references=Customer, index=True)
    actor_kind = Varchar(length=10)  # customer, operator
    actor_id = Integer(null=True, default=None)
    action = Varchar(length=20)  # request, approve, reject, withdraw, pin_change, pin_reset
    field = Varchar(length=40, default="")
    old_value = Text(default="")
    new_value = Text(default="")
    at = Timestamptz(default=TimestamptzNow(), index=True)
