"""Helpdesk tickets: status transitions, reopen on reply, queue moves, audit trail."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app import tickets
from app.settings import ISP
from app.tables.helpdesk import Ticket, TicketEvent
from app.tables.mail import MailOutbox
from tests import factories

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def test_transitions_table():
    assert tickets.next_status_after_customer_reply("resolved") == "todo"
    assert tickets.next_status_after_customer_reply("new") == "new"
    assert tickets.next_status_after_customer_reply("todo") == "todo"
    tickets.check_operator_status("new", "todo")
    tickets.check_operator_status("todo", "resolved")
    tickets.check_operator_status("resolved", "todo")
    for current, wanted in (("todo", "new"), ("resolved", "new"), ("new", "closed")):
        with pytest.raises(tickets.TicketError) as exc:
            tickets.check_operator_status(current, wanted)
        assert "status" in exc.value.errors


def test_validation_limits():
    queues = ("office", "technical")
    assert tickets.validate_new("a" * 100, "b" * 10_000, "office", queues) == {}
    errors = tickets.validate_new("a" * 101, "b" * 10_001, "billing", queues)
    assert set(errors) == {"subject", "body", "queue"}
    assert set(tickets.validate_new("", "  \n ", "office", queues)) == {"subject", "body"}


async def test_lifecycle_with_reopen_and_audit():
    customer = await factories.customer()
    operator = await factories.operator()
    isp = ISP()
    ticket_id, created = await tickets.open_ticket(customer.id, "Wolny Internet", "Od wczoraj\r\nwolno",
                                                   "technical", "tok", NOW, isp, "http://x")
    assert created
    again, created_again = await tickets.open_ticket(customer.id, "Wolny Internet", "Od wczoraj", "technical",
                                                     "tok", NOW, isp, "http://x")
    assert (again, created_again) == (ticket_id, False)
    # The same token from another customer is another ticket.
    other = await factories.customer()
    assert (await tickets.open_ticket(other.id, "S", "B", "office", "tok", NOW, isp, "http://x"))[1]

    change = await tickets.operator_answer(operator.id, ticket_id, "Sprawdzamy.", False, "todo", "",
                                           NOW, isp, "http://x")
    assert change.public and change.status == "todo" and change.customer_id == customer.id
    note = await tickets.operator_answer(operator.id, ticket_id, "notatka", True, "", "office", NOW, isp, "x")
    assert not note.public
    await tickets.operator_answer(operator.id, ticket_id, "", False, "resolved", "", NOW, isp, "http://x")
    assert await tickets.customer_reply(customer.id, ticket_id, "Znowu wolno", NOW)
    assert not await tickets.customer_reply(other.id, ticket_id, "cudzy", NOW)

    thread = await tickets.customer_thread(customer.id, ticket_id)
    assert thread.ticket.status == "todo" and thread.ticket.queue == "office"
    assert [m.body for m in thread.messages] == ["Od wczoraj\nwolno", "Sprawdzamy.", "Znowu wolno"]
    assert await tickets.customer_thread(other.id, ticket_id) is None
    staff = await tickets.admin_thread(ticket_id)
    assert [m.internal for m in staff.messages] == [False, False, True, False]
    assert [(e.action, e.detail) for e in staff.events] == [
        ("opened", "technical"), ("reply", ""), ("status", "new→todo"), ("note", ""), ("queue", "technical→office"),
        ("status", "todo→resolved"), ("reply", ""), ("reopen", "resolved→todo")]
    # Two customer e-mails: the reply and the resolution; the note sends none.
    outbox = await MailOutbox.select(MailOutbox.body).order_by(MailOutbox.id)
    assert len(outbox) == 2 and all("notatka" not in m["body"] for m in outbox)


async def test_operator_cannot_go_back_to_new_and_nothing_half_saved():
    customer = await factories.customer()
    operator = await factories.operator()
    ticket_id = await factories.ticket(customer.id)
    await tickets.operator_answer(operator.id, ticket_id, "", False, "todo", "", NOW, ISP(), "x")
    events = await TicketEvent.count()
    with pytest.raises(tickets.TicketError):
        await tickets.operator_answer(operator.id, ticket_id, "tekst", False, "new", "", NOW, ISP(), "x")
    assert await TicketEvent.count() == events
    assert (await Ticket.select(Ticket.status).first())["status"] == "todo"
    assert await tickets.operator_answer(operator.id, 999_999, "x", False, "", "", NOW, ISP(), "x") is None


async def test_demo_tickets_have_threads_and_no_pending_mail():
    import random

    from app.demo import DEMO_TICKETS, create_demo_tickets

    customers = [(await factories.customer()).id for _ in range(2)]
    from app.tables.auth import Operator

    await Operator.insert(Operator(username="admin", password_hash="x", name="Biuro"))
    assert await create_demo_tickets(customers, random.Random(1)) == len(DEMO_TICKETS)
    rows = await Ticket.select(Ticket.status, Ticket.customer).order_by(Ticket.id)
    assert [r["status"] for r in rows] == [t[4] for t in DEMO_TICKETS]
    assert {r["customer"] for r in rows} == set(customers)
    assert await MailOutbox.count() == 0
