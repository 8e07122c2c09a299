"""Customers and the Informacje domain: PIN reset with its audit, the tab's view, the PIN change."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app import customers, info, sessions
from app.security import verify_secret
from app.settings import get_settings
from app.tables.auth import Session
from app.tables.changes import AuditLog
from app.tables.customers import Customer
from tests import factories

pytestmark = pytest.mark.anyio


async def test_reset_pin_sets_a_new_pin_and_audits_who_did_it():
    who = await factories.customer()
    operator = await factories.operator()
    pin = await customers.reset_pin(who.id, operator.id)
    row = await Customer.select(Customer.pin_hash).where(Customer.id == who.id).first()
    assert pin and pin != who.pin and verify_secret(row["pin_hash"], pin)
    audit = await AuditLog.select(AuditLog.actor_kind, AuditLog.actor_id, AuditLog.action, AuditLog.new_value
                                  ).where(AuditLog.customer == who.id)
    assert audit == [{"actor_kind": "operator", "actor_id": operator.id, "action": "pin_reset", "new_value": ""}]


async def test_reset_pin_of_nobody_changes_and_audits_nothing():
    assert await customers.reset_pin(999_999, None) is None
    assert await AuditLog.count() == 0


async def test_info_view_shows_pending_values_in_the_form():
    who = await factories.customer(phone="600100200")
    now = datetime.now(timezone.utc)
    checked, sent = await info.request_changes(who.id, get_settings(), {"phone": "601 200 300"}, now)
    assert checked.errors == {} and sent == ["phone"]
    view = await info.info_view(who.id, get_settings(), date.today(), None)
    # A new customer's phone is normalised as a customer's own change is (app/validation.py).
    assert view.current["phone"] == "+48 600 100 200"
    assert view.pending["phone"] == view.shown["phone"] == "+48 601 200 300"
    assert await info.info_view(999_999, get_settings(), date.today(), None) is None


async def test_change_pin_keeps_only_this_session():
    who = await factories.customer()
    keep = await sessions.start(sessions.CUSTOMER, who.id, "127.0.0.1")
    await sessions.start(sessions.CUSTOMER, who.id, "127.0.0.2")
    result = await info.change_pin(who.id, who.pin, "730519", "730519", datetime.now(timezone.utc), keep)
    assert result.ok
    left = await Session.select(Session.token_hash).where(Session.subject_id == who.id)
    assert left == [{"token_hash": sessions.token_digest(keep)}]
