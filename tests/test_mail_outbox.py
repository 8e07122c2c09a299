"""Mail that is never lost: real SMTP (aiosmtpd) down and back, a server that stalls,
retries over days, failed mails counted and retried, billing reporting mail failures."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from app import billing, changes, delivery, mail
from app.tables.billing import InvoiceDelivery, Reminder
from app.tables.changes import ChangeRequest
from app.tables.mail import MailOutbox
from tests import factories
from tests.conftest import free_port, post_form, soup, texts
from tests.test_billing import billed_customer

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class StallingServer:
    """Accepts TCP connections and never says a word (no SMTP greeting)."""

    def __init__(self) -> None:
        self.connections = 0
        self.server = None

    async def __aenter__(self):
        async def handle(reader, writer):
            self.connections += 1
            try:
                await reader.read()  # until the client gives up and closes
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.url = f"smtp://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()


def test_retries_span_more_than_three_days_with_growing_gaps():
    delays = [mail.retry_delay(n) for n in range(1, mail.MAX_ATTEMPTS)]
    assert delays[0] == timedelta(minutes=5) and delays[1] == timedelta(minutes=10)
    assert all(a <= b for a, b in zip(delays, delays[1:])) and max(delays) == timedelta(hours=12)
    assert mail.RETRY_SPAN >= timedelta(days=3)


async def test_outbox_outage_then_recovery_with_backoff(settings, mailbox):
    down = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    row = await mail.enqueue("jan@example.pl", "Zmiana danych", "Treść", NOW)
    assert await mail.deliver_outbox(down, now=NOW) == mail.DeliveryResult(0, 1)
    queued = await MailOutbox.select().where(MailOutbox.id == row).first()
    assert queued["attempts"] == 1 and "Connect call failed" in queued["last_error"]
    assert queued["next_attempt_at"] == NOW + timedelta(minutes=5)
    # Not due yet: even with the server back, nothing is sent before the backoff is over.
    assert await mail.deliver_outbox(settings, now=NOW + timedelta(minutes=4)) == mail.DeliveryResult(0, 0)
    assert await mail.deliver_outbox(settings, now=NOW + timedelta(minutes=5)) == mail.DeliveryResult(1, 0)
    assert [m["Subject"] for m in mailbox.messages] == ["Zmiana danych"]


async def test_change_decision_mail_survives_an_smtp_outage(settings, mailbox):
    c = await factories.customer(email="jan@example.pl")
    await ChangeRequest.insert(ChangeRequest(customer=c.id, field="phone", old_value="", new_value="600100200"))
    op = await factories.operator()
    [change] = await ChangeRequest.select(ChangeRequest.id)
    decided = await changes.decide([change["id"]], True, op.id, NOW, settings.isp)
    down = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert await changes.notify(down, decided) == (0, 1)
    assert mailbox.messages == []
    later = datetime.now(timezone.utc) + timedelta(hours=1)  # notify() sent at the real now
    assert (await mail.deliver_outbox(settings, now=later)).sent == 1
    assert mailbox.messages[0]["To"] == "jan@example.pl"


async def test_a_stalling_server_costs_the_timeout_not_minutes(settings):
    for i in range(8):
        await mail.enqueue(f"k{i}@example.pl", "Temat", "Treść", NOW)
    async with StallingServer() as stall:
        slow = dataclasses.replace(settings, smtp_url=stall.url, smtp_timeout=0.5, smtp_pool=4)
        started = time.monotonic()
        result = await mail.deliver_outbox(slow, now=NOW)
        elapsed = time.monotonic() - started
    assert result == mail.DeliveryResult(0, 8)
    # 8 messages, 4 in flight, 0,5 s each: about 1 s; one at a time with 20 s it was 160 s.
    assert elapsed < 4, elapsed
    assert stall.connections == 8
    errors = [r["last_error"] for r in await MailOutbox.select(MailOutbox.last_error)]
    assert all("Timeout" in e or "timed out" in e.lower() for e in errors), errors


async def test_billing_run_reports_its_invoice_mails_honestly(settings, mailbox):
    for _ in range(3):
        await billed_customer(invoice_by_email=True, email="k@example.pl", price=5000)
    result = await billing.run_billing("2026-11", date(2026, 11, 1), settings.isp)
    async with StallingServer() as stall:
        slow = dataclasses.replace(settings, smtp_url=stall.url, smtp_timeout=0.5, smtp_pool=4)
        started = time.monotonic()
        assert await delivery.deliver_pending(slow) == (0, 3)
        assert time.monotonic() - started < 4
    result.mails = await delivery.invoice_mail_counts("2026-11")
    assert result.mails == {"queued": 3, "sent": 0, "failing": 3, "failed": 0}
    assert result.summary() == ("billing 2026-11: 3 invoices, 150,00 zł, 0 skipped, 0 failed; "
                                "invoice e-mails: 3 queued, 0 sent, 3 failed")
    # Backoff: a pass right away sends nothing; when the retry is due, it goes.
    assert await delivery.deliver_pending(settings) == (0, 0)
    await InvoiceDelivery.update({InvoiceDelivery.next_attempt_at: NOW}).where(InvoiceDelivery.id > 0)
    assert await delivery.deliver_pending(settings) == (3, 0)
    assert len(mailbox.messages) == 3
    assert await delivery.invoice_mail_counts("2026-11") == {"queued": 3, "sent": 3, "failing": 0, "failed": 0}


async def test_out_of_retries_is_failed_counted_and_retried_by_hand(settings, mailbox, admin_client):
    await billed_customer(invoice_by_email=True, email="k@example.pl", price=5000)
    await billing.run_billing("2026-11", date(2026, 11, 1), settings.isp)
    await mail.enqueue("jan@example.pl", "Zgłoszenie", "Treść", NOW)
    await InvoiceDelivery.update({InvoiceDelivery.attempts: mail.MAX_ATTEMPTS,
                                  InvoiceDelivery.last_error: "SMTPServerDisconnected: x"}).where(
        InvoiceDelivery.id > 0)
    await MailOutbox.update({MailOutbox.attempts: mail.MAX_ATTEMPTS}).where(MailOutbox.id > 0)
    assert await delivery.deliver_pending(settings) == (0, 0)  # failed rows are not retried
    assert await mail.failed_count() == 2

    home = soup(await admin_client.get("/admin"))
    assert "2 Nieudane e-maile" in texts(home.select_one("#dashboard-home"))
    page = soup(await admin_client.get("/admin/billing"))
    assert texts(page.select_one("#failed-mails .badge")) == "2"
    assert texts(page.select_one("#billing-runs .mails-failed")) == "1"
    response = await post_form(admin_client, "/admin/billing/mails/retry")
    assert response.status_code == 303
    assert await mail.failed_count() == 0
    assert await delivery.deliver_pending(settings) == (1, 0)
    assert (await mail.deliver_outbox(settings)).sent == 1
    assert await Reminder.count() == 0 and len(mailbox.messages) == 2


def test_cli_billing_run_does_not_say_0_errors_when_its_mails_failed(capsys, monkeypatch):
    from app.cli import main
    from app.settings import get_settings
    from tests.conftest import run_sync

    run_sync(billed_customer(invoice_by_email=True, email="k@example.pl", price=10000))
    monkeypatch.setenv("WBOK_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["billing", "run", "--month", "2026-10"])
    finally:
        get_settings.cache_clear()
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == (
        "billing 2026-10: 1 invoices, 100,00 zł, 0 skipped, 0 failed; invoice e-mails: 1 queued, 0 sent, 1 failed")
    assert "1 invoice e-mails not sent" in err
