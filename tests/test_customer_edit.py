"""Klienci domain: two operators saving one customer at once are serialised, so the audit
log chains (each entry's old value is the value the other one saved)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from app import customer_edit
from app.settings import ISP
from app.tables.changes import AuditLog
from app.tables.customers import Customer
from tests import factories

pytestmark = pytest.mark.anyio


async def test_parallel_edits_are_serialised_and_the_audit_chains():
    who = await factories.customer("Jan Łęcki", email="a@example.pl")
    operator = await factories.operator()
    now = datetime.now(timezone.utc)
    results = await asyncio.gather(*[
        customer_edit.update_customer(who.id, {"email": f"{x}@example.pl"}, operator.id, now, ISP())
        for x in ("b", "c")])
    assert all(r.ok and r.changed == ["email"] for r in results)
    audit = await AuditLog.select(AuditLog.old_value, AuditLog.new_value).where(
        (AuditLog.customer == who.id) & (AuditLog.field == "email")).order_by(AuditLog.id)
    assert len(audit) == 2 and audit[0]["old_value"] == "a@example.pl"
    assert audit[1]["old_value"] == audit[0]["new_value"]
    final = await Customer.select(Customer.email).where(Customer.id == who.id).first()
    assert final["email"] == audit[1]["new_value"]
