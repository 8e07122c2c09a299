"""Informacje domain: normalising and validating what customers type."""

from __future__ import annotations

import pytest

from app import changes

FIELDS = tuple(changes.FIELDS)


@pytest.mark.parametrize("typed, clean", [
    ("600100200", "+48 600 100 200"), ("+48 600-100-200", "+48 600 100 200"),
    ("0048 (600) 100 200", "+48 600 100 200"), ("60 010 02 00", "+48 600 100 200"),
    ("12345678", None), ("+49 600 100 200", None), ("6001002001", None), ("６００１００２００", None),
])
def test_phone_normalisation(typed, clean):
    assert changes.normalise_phone(typed) == clean


def test_validate_normalises_and_reports_per_field():
    result = changes.validate({"nip": "526-025-02-74", "mail_postal_code": "26200", "mail_street": "Polna 1",
                               "mail_city": "Końskie", "email": "x@y", "invoice_by_email": True},
                              {"email": "a@example.pl"}, FIELDS)
    assert result.values["nip"] == "5260250274" and result.values["mail_postal_code"] == "26-200"
    assert result.values["invoice_by_email"] == "1"
    assert set(result.errors) == {"email"} and result.form["email"] == "x@y"


def test_absent_fields_are_left_alone():
    result = changes.validate({"phone": None, "email": "nowy@example.pl"}, {}, FIELDS)
    assert result.values == {"email": "nowy@example.pl"} and not result.errors


async def _pending_phone():
    from datetime import datetime, timezone

    from tests import factories

    who = await factories.customer(email="jan@example.pl")
    await changes.submit(who.id, {"phone": "+48 600 100 200"}, datetime.now(timezone.utc))
    return who


@pytest.mark.anyio
async def test_the_decision_and_its_notice_commit_together(monkeypatch):
    from datetime import datetime, timezone

    from app import mail
    from app.settings import ISP
    from app.tables.changes import ChangeRequest
    from app.tables.mail import MailOutbox

    from tests import factories

    await _pending_phone()
    operator = (await factories.operator()).id
    [change] = await ChangeRequest.select(ChangeRequest.id)

    async def broken(*args, **kwargs):
        raise OSError("dysk pełny")

    monkeypatch.setattr(mail, "enqueue", broken)
    with pytest.raises(OSError):
        await changes.decide([change["id"]], True, operator, datetime.now(timezone.utc), ISP())
    assert (await ChangeRequest.select(ChangeRequest.status).first())["status"] == "pending"
    monkeypatch.undo()

    [decision] = await changes.decide([change["id"]], True, operator, datetime.now(timezone.utc), ISP())
    queued = await MailOutbox.select().where(MailOutbox.id == decision.notice).first()
    assert queued["recipient"] == "jan@example.pl" and queued["sent_at"] is None
    assert "+48 600 100 200 — zaakceptowana" in queued["body"]
