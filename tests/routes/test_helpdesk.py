"""Helpdesk tab and admin helpdesk: pages and fragments, forms, scoping, escaping, e-mail."""

from __future__ import annotations

import pytest

from app.tables.helpdesk import Ticket, TicketMessage
from app.tables.mail import MailOutbox
from tests import factories
from tests.conftest import PARTIAL, fragment_root, post_form, soup, texts

pytestmark = pytest.mark.anyio



async def _new_ticket_token(client) -> str:
    page = soup(await client.get("/helpdesk"))
    return page.select_one("#helpdesk-tickets input[name=token]")["value"]


async def test_page_and_fragment(customer_client):
    await factories.ticket(customer_client.customer.id, subject="Stary temat")
    await factories.ticket(customer_client.customer.id, subject="Nowy temat")
    page = await customer_client.get("/helpdesk")
    assert page.status_code == 200
    doc = soup(page)
    assert doc.select_one("nav.tabs a[aria-current=page]")["href"] == "/helpdesk"
    assert doc.select_one("label[for=hd-subject]").get_text() == "Temat:"
    assert doc.select_one("#helpdesk-tickets button[type=submit]").get_text() == "Zapisz"
    assert "w godzinach od" in texts(doc.select_one("#helpdesk-tickets .hint"))
    assert [o["value"] for o in doc.select("select[name=queue] option")] == ["", "office", "technical", "billing"]
    rows = doc.select("#helpdesk-list tbody tr")
    assert [texts(r.select_one(".subject")) for r in rows] == ["Nowy temat", "Stary temat"]
    assert texts(rows[0].select_one(".status")) == "nowe"
    assert texts(rows[0].select("td")[2]) == "Dział techniczny"

    fragment = await customer_client.get("/helpdesk", headers=PARTIAL)
    frag = soup(fragment)
    assert frag.select_one("html") is None and frag.select_one("nav.tabs") is None
    assert fragment_root(frag).get("id") == "helpdesk-tickets"
    assert len(frag.select("#helpdesk-list tbody tr")) == 2


async def test_create_ticket_plain_redirects_and_stores(customer_client):
    token = await _new_ticket_token(customer_client)
    response = await post_form(customer_client, "/helpdesk", {
        "subject": "Brak Internetu", "body": "Brak Internetu w dniu 12.03.2026\nod 18:00 do 20:30",
        "queue": "technical", "token": token})
    assert response.status_code == 303
    ticket = await Ticket.select().first()
    assert response.headers["location"] == f"/helpdesk?created={ticket['id']}"
    assert (ticket["subject"], ticket["status"], ticket["queue"]) == ("Brak Internetu", "new", "technical")
    page = soup(await customer_client.get(response.headers["location"]))
    assert str(ticket["id"]) in texts(page.select_one(".notice"))
    assert texts(page.select_one("#helpdesk-list tbody .subject")) == "Brak Internetu"


async def test_double_submit_creates_one_ticket(customer_client):
    token = await _new_ticket_token(customer_client)
    data = {"subject": "Dwa kliknięcia", "body": "Treść", "queue": "office", "token": token}
    first = await post_form(customer_client, "/helpdesk", data)
    second = await post_form(customer_client, "/helpdesk", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await Ticket.count() == 1
    assert await TicketMessage.count() == 1


async def test_create_ticket_htmx_returns_fragment(customer_client):
    token = await _new_ticket_token(customer_client)
    response = await post_form(customer_client, "/helpdesk", {
        "subject": "Przez htmx", "body": "Treść", "queue": "billing", "token": token}, headers=PARTIAL)
    assert response.status_code == 200
    doc = soup(response)
    assert fragment_root(doc).get("id") == "helpdesk-tickets"
    assert texts(doc.select_one("#helpdesk-list tbody .subject")) == "Przez htmx"
    assert doc.select_one("input[name=subject]")["value"] == ""
    assert doc.select_one("input[name=token]")["value"] != token


async def test_validation_keeps_text_and_saves_nothing(customer_client):
    token = await _new_ticket_token(customer_client)
    long_body = "ż" * 10_001
    response = await post_form(customer_client, "/helpdesk", {
        "subject": "x" * 101, "body": long_body, "queue": "technical", "token": token})
    assert response.status_code == 422
    doc = soup(response)
    assert doc.select_one("input[name=subject]")["value"] == "x" * 101
    assert doc.select_one("textarea[name=body]").get_text() == long_body
    assert "100 znaków" in texts(doc.select_one("#hd-subject-error"))
    assert "10 000 znaków" in texts(doc.select_one("#hd-body-error"))
    empty = await post_form(customer_client, "/helpdesk", {"subject": " ", "body": "", "queue": "nope",
                                                           "token": token}, headers=PARTIAL)
    assert empty.status_code == 422
    frag = soup(empty)
    assert texts(frag.select_one("#hd-subject-error")) == "Wpisz temat zgłoszenia."
    assert texts(frag.select_one("#hd-body-error")) == "Wpisz treść zgłoszenia."
    assert frag.select_one("#hd-queue-error") is not None
    assert await Ticket.count() == 0


async def test_thread_page_fragment_and_escaping(customer_client):
    evil = '<script>alert("x")</script><b>bold</b>'
    ticket_id = await factories.ticket(customer_client.customer.id, subject=evil, body=f"linia 1\n{evil}")
    page = await customer_client.get(f"/helpdesk/{ticket_id}")
    assert page.status_code == 200
    doc = soup(page)
    assert doc.select("main script") == [] and doc.select("main b") == []
    assert evil in doc.select_one("h1.subject").get_text()
    body = doc.select_one(".msg-customer .msg-body")
    assert body.get_text() == f"linia 1\n{evil}"
    listing = soup(await customer_client.get("/helpdesk"))
    assert listing.select("#helpdesk-list script") == []
    assert evil in listing.select_one("#helpdesk-list .subject").get_text()
    fragment = soup(await customer_client.get(f"/helpdesk/{ticket_id}", headers=PARTIAL))
    assert fragment_root(fragment).get("id") == "helpdesk-thread"
    assert fragment.select_one("#helpdesk-messages")["hx-sse:connect"].startswith(f"/helpdesk/{ticket_id}/events")


async def test_foreign_ticket_is_404_everywhere(customer_client):
    other = await factories.customer()
    ticket_id = await factories.ticket(other.id)
    assert (await customer_client.get(f"/helpdesk/{ticket_id}")).status_code == 404
    assert (await customer_client.get(f"/helpdesk/{ticket_id}", headers=PARTIAL)).status_code == 404
    assert (await customer_client.get(f"/helpdesk/{ticket_id}/events")).status_code == 404
    reply = await post_form(customer_client, f"/helpdesk/{ticket_id}", {"body": "Nie moje"})
    assert reply.status_code == 404
    assert await TicketMessage.count() == 1
    assert (await customer_client.get("/helpdesk/999999")).status_code == 404


async def test_posts_need_csrf(customer_client):
    ticket_id = await factories.ticket(customer_client.customer.id)
    no_token = await customer_client.post("/helpdesk", data={"subject": "a", "body": "b", "queue": "office"})
    assert no_token.status_code == 403
    reply = await customer_client.post(f"/helpdesk/{ticket_id}", data={"body": "b"})
    assert reply.status_code == 403
    assert await Ticket.count() == 1 and await TicketMessage.count() == 1


async def test_admin_post_needs_csrf(admin_client):
    customer = await factories.customer()
    ticket_id = await factories.ticket(customer.id)
    response = await admin_client.post(f"/admin/helpdesk/{ticket_id}", data={"body": "x", "status": "todo"})
    assert response.status_code == 403
    assert await TicketMessage.count() == 1


async def test_customer_reply_reopens_resolved(customer_client):
    ticket_id = await factories.ticket(customer_client.customer.id)
    await Ticket.update({Ticket.status: "resolved"}).where(Ticket.id == ticket_id)
    response = await post_form(customer_client, f"/helpdesk/{ticket_id}", {"body": "Znowu nie działa"})
    assert response.status_code == 303 and response.headers["location"] == f"/helpdesk/{ticket_id}"
    assert (await Ticket.select(Ticket.status).first())["status"] == "todo"
    htmx = await post_form(customer_client, f"/helpdesk/{ticket_id}", {"body": "I jeszcze"}, headers=PARTIAL)
    doc = soup(htmx)
    assert fragment_root(doc).get("id") == "helpdesk-thread"
    assert [m.get_text() for m in doc.select(".msg-body")][-2:] == ["Znowu nie działa", "I jeszcze"]
    empty = await post_form(customer_client, f"/helpdesk/{ticket_id}", {"body": "  "})
    assert empty.status_code == 422
    assert soup(empty).select_one("#hd-reply-error") is not None


async def test_admin_queue_filters_and_fragment(admin_client):
    customer = await factories.customer()
    await factories.ticket(customer.id, subject="Techniczne", queue="technical")
    await factories.ticket(customer.id, subject="Faktura", queue="billing")
    doc = soup(await admin_client.get("/admin/helpdesk"))
    assert "/admin/helpdesk" in [a["href"] for a in doc.select("nav.tabs a")]
    assert {texts(s) for s in doc.select("#helpdesk-queue .subject")} == {"Techniczne", "Faktura"}
    # The filter form targets the queue alone (htmx names its target in HX-Target) ...
    billing = soup(await admin_client.get("/admin/helpdesk?queue=billing&status=new",
                                          headers={**PARTIAL, "HX-Target": "div#helpdesk-queue"}))
    assert fragment_root(billing).get("id") == "helpdesk-queue"
    # ... the admin menu the whole area.
    area = soup(await admin_client.get("/admin/helpdesk?queue=billing", headers=PARTIAL))
    assert fragment_root(area).get("id") == "helpdesk-overview" and area.select_one("form.filters #helpdesk-queue") is None
    assert area.select_one("#helpdesk-queue") is not None
    assert [texts(s) for s in billing.select(".subject")] == ["Faktura"]
    assert soup(await admin_client.get("/admin/helpdesk?status=resolved")).select("#helpdesk-queue tbody tr") == []


async def test_admin_reply_note_status_queue_and_mail(admin_client, customer, mailbox):
    ticket_id = await factories.ticket(customer.id, subject="Router")
    note = await post_form(admin_client, f"/admin/helpdesk/{ticket_id}",
                           {"body": "TAJNE: klient dzwonił 3 razy", "internal": "on", "status": "new",
                            "queue": "technical"})
    assert note.status_code == 303
    assert mailbox.messages == []
    reply = await post_form(admin_client, f"/admin/helpdesk/{ticket_id}",
                            {"body": "Proszę zrestartować router.", "status": "todo", "queue": "office"})
    assert reply.status_code == 303
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    text = mail.get_content()
    from app.tables.customers import Customer

    assert mail["To"] == (await Customer.select(Customer.email).where(Customer.id == customer.id).first())["email"]
    assert "Router" in mail["Subject"] and "Proszę zrestartować router." in text
    assert f"/helpdesk/{ticket_id}" in text and "TAJNE" not in text
    resolve = await post_form(admin_client, f"/admin/helpdesk/{ticket_id}", {"body": "", "status": "resolved",
                                                                             "queue": "office"})
    assert resolve.status_code == 303
    assert len(mailbox.messages) == 2 and "rozwiązane" in mailbox.messages[1]["Subject"]
    assert all("TAJNE" not in m.get_content() for m in mailbox.messages)

    doc = soup(await admin_client.get(f"/admin/helpdesk/{ticket_id}"))
    notes = doc.select(".msg-internal")
    assert len(notes) == 1 and "notatka wewnętrzna" in texts(notes[0])
    audit = [texts(r) for r in doc.select(".audit tbody tr")]
    assert any("notatka wewnętrzna" in a for a in audit)
    assert any("do zrealizowania → rozwiązane" in a for a in audit)
    assert any("Dział techniczny → Biuro" in a for a in audit)
    ticket = await Ticket.select().first()
    assert (ticket["status"], ticket["queue"]) == ("resolved", "office")


async def test_internal_note_never_reaches_customer(customer_client, operator, app):
    from litestar.testing import AsyncTestClient

    ticket_id = await factories.ticket(customer_client.customer.id)
    async with AsyncTestClient(app=app) as staff:
        await staff.get("/admin/login")
        await post_form(staff, "/admin/login", {"username": operator.username, "password": operator.password})
        await post_form(staff, f"/admin/helpdesk/{ticket_id}", {"body": "TAJNE notatki", "internal": "on"})
        await post_form(staff, f"/admin/helpdesk/{ticket_id}", {"body": "Jawna odpowiedź"})
    for headers in ({}, PARTIAL):
        doc = soup(await customer_client.get(f"/helpdesk/{ticket_id}", headers=headers))
        bodies = [m.get_text() for m in doc.select(".msg-body")]
        assert bodies[-1] == "Jawna odpowiedź" and "TAJNE" not in doc.get_text()
        assert doc.select(".msg-operator") and not doc.select(".msg-internal")


async def test_admin_errors(admin_client):
    customer = await factories.customer()
    ticket_id = await factories.ticket(customer.id)
    nothing = await post_form(admin_client, f"/admin/helpdesk/{ticket_id}", {"body": "", "status": "new"})
    assert nothing.status_code == 422
    await post_form(admin_client, f"/admin/helpdesk/{ticket_id}", {"status": "todo"})
    back = await post_form(admin_client, f"/admin/helpdesk/{ticket_id}", {"body": "x", "status": "new"},
                           headers=PARTIAL)
    assert back.status_code == 422
    assert soup(back).select_one("textarea[name=body]").get_text() == "x"
    missing = await post_form(admin_client, "/admin/helpdesk/99999", {"body": "x"})
    assert missing.status_code == 404
    assert (await admin_client.get("/admin/helpdesk/99999")).status_code == 404


async def test_mail_failure_is_kept_and_retried(customer_client, operator, app, mailbox, settings):
    """SMTP down: the answer is saved, the e-mail waits in the outbox, a later run sends it."""
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    from litestar.testing import AsyncTestClient

    from app import mail
    from app.main import create_app
    from tests.conftest import free_port

    broken = create_app(replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    ticket_id = await factories.ticket(customer_client.customer.id)
    async with AsyncTestClient(app=broken) as staff:
        staff.follow_redirects = False
        await staff.get("/admin/login")
        await post_form(staff, "/admin/login", {"username": operator.username, "password": operator.password})
        response = await post_form(staff, f"/admin/helpdesk/{ticket_id}", {"body": "Odpowiedź mimo awarii"})
    assert response.status_code == 303
    assert (await TicketMessage.select(TicketMessage.body).order_by(TicketMessage.id, ascending=False).first()
            )["body"] == "Odpowiedź mimo awarii"
    row = await MailOutbox.select().first()
    assert row["sent_at"] is None and row["attempts"] == 1 and row["last_error"]
    assert mailbox.messages == []
    # Not due yet: nothing is sent early.
    assert (await mail.deliver_outbox(settings)).sent == 0
    later = datetime.now(timezone.utc) + timedelta(minutes=5)
    result = await mail.deliver_outbox(settings, now=later)
    assert (result.sent, result.failed) == (1, 0)
    assert len(mailbox.messages) == 1 and "Odpowiedź mimo awarii" in mailbox.messages[0].get_content()
    assert (await mail.deliver_outbox(settings, now=later + timedelta(hours=1))).sent == 0
    assert len(mailbox.messages) == 1


async def test_new_ticket_notifies_queue_address(customer_client, settings, mailbox):
    from dataclasses import replace

    from app import tickets
    from datetime import datetime, timezone
    from app import mail

    isp = replace(settings.isp, queue_emails={"technical": "serwis@example.pl"})
    ticket_id, _ = await tickets.open_ticket(customer_client.customer.id, "Awaria", "Nie działa <b>nic</b>",
                                             "technical", "t1", datetime.now(timezone.utc), isp, "http://x")
    await tickets.open_ticket(customer_client.customer.id, "Faktura", "Pytanie", "billing", "t2",
                              datetime.now(timezone.utc), isp, "http://x")
    assert (await mail.deliver_outbox(settings)).sent == 1
    assert mailbox.messages[0]["To"] == "serwis@example.pl"
    assert f"http://x/admin/helpdesk/{ticket_id}" in mailbox.messages[0].get_content()


async def test_post_without_queue_is_routed_by_keywords_else_to_the_default(customer_client):
    """`queue` is optional (DESIGN.md): a router problem goes to the technical queue, an
    invoice question to billing, anything else to isp.default_queue; "Nie wiem" is the same."""
    from app.tables.helpdesk import Ticket

    cases = [({"subject": "Router miga na czerwono", "body": "Od wczoraj WiFi zrywa połączenie."}, "technical"),
             ({"subject": "Pytanie o FAKTURĘ", "body": "Dlaczego kwota jest inna?"}, "billing"),
             ({"subject": "Zmiana adresu", "body": "Przeprowadzam się.", "queue": ""}, "office"),
             ({"subject": "Zmiana pakietu", "body": "Router mam swój.", "queue": "billing"}, "billing")]
    for n, (data, queue) in enumerate(cases):
        token = await _new_ticket_token(customer_client)
        response = await post_form(customer_client, "/helpdesk", {**data, "token": token + str(n)})
        assert response.status_code == 303, response.text
        row = await Ticket.select(Ticket.queue).where(Ticket.subject == data["subject"]).first()
        assert row["queue"] == queue, data


async def test_form_offers_let_us_decide_first(customer_client):
    doc = soup(await customer_client.get("/helpdesk"))
    first = doc.select_one("select[name=queue] option")
    assert first["value"] == "" and first.has_attr("selected")
    # On a phone the customer's tickets come before the long form.
    section = doc.select_one("#helpdesk-tickets")
    order = [el.get("id") for el in section.select("#helpdesk-list, form.ticket-form")]
    assert order[0] == "helpdesk-list"


async def test_badge_while_an_answer_is_unseen(customer_client):
    """An operator's answer lights the Helpdesk tab's badge and marks the row; opening the
    thread (page or fragment) clears both, and the fragment says so out of band."""
    from datetime import datetime, timezone

    from app.settings import ISP
    from app.tickets import operator_answer

    cid = customer_client.customer.id
    first = await factories.ticket(cid, subject="Pierwsze")
    second = await factories.ticket(cid, subject="Drugie")
    page = soup(await customer_client.get("/helpdesk"))
    assert texts(page.select_one("#answers-badge")) == ""
    operator = await factories.operator()
    for ticket_id in (first, second):
        await operator_answer(operator.id, ticket_id, "Sprawdzamy.", False, "todo", "",
                              datetime.now(timezone.utc), ISP(), "http://wbok.test")
    await operator_answer(operator.id, first, "Notatka", True, "", "", datetime.now(timezone.utc), ISP(), "")
    page = soup(await customer_client.get("/helpdesk"))
    assert texts(page.select_one("nav#tabs a[href='/helpdesk'] #answers-badge.badge")) == "2"
    assert len(page.select("#helpdesk-list .answered")) == 2
    fragment = soup(await customer_client.get(f"/helpdesk/{first}", headers=PARTIAL))
    assert texts(fragment.select_one("#answers-badge[hx-swap-oob]")) == "1"
    page = soup(await customer_client.get("/info"))
    assert texts(page.select_one("#answers-badge")) == "1"
    await customer_client.get(f"/helpdesk/{second}")
    page = soup(await customer_client.get("/helpdesk"))
    assert texts(page.select_one("#answers-badge")) == "" and not page.select("#helpdesk-list .answered")
