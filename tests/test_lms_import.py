"""LMS import: a real LMS database (the doc/lms.pgsql subset in tests/lms_data.py) on
PostgreSQL and on MariaDB, imported into the test database, then checked as a customer
and an operator would: logins with the LMS ID and PIN, balances, invoice PDFs, reruns."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest

from app import auth, finances, lms_import
from app.invoice_pdf import InvoiceLine
from app.invoices import invoice_pdf, issue_invoice, load_invoice_doc
from app.settings import settings_from_env
from app.tables.customers import Customer, Device
from app.tables.finances import Invoice, Payment
from app.tables.helpdesk import Ticket, TicketMessage
from app.tables.tariffs import Assignment, Tariff
from app.tables.traffic import TrafficPublished
from tests.conftest import post_form
from tests.lms_data import Lms, fill_small

pytestmark = pytest.mark.anyio
ENGINES = ["pg", "mysql"]


def _reachable(engine: str) -> bool:
    try:
        Lms(engine)._pg("postgres", "SELECT 1") if engine == "pg" else Lms(engine)._my(None, "SELECT 1")
        return True
    except Exception:
        return False


@pytest.fixture(params=ENGINES)
def lms(request):
    engine = request.param
    if not _reachable(engine):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the LMS test database on {engine} is not reachable and CI=true")
        pytest.skip(f"no {engine} server for the LMS database")
    db = Lms(engine).create()
    fill_small(db)
    yield db
    db.drop()


@pytest.fixture
def isp():
    return settings_from_env(dict(os.environ)).isp


async def run(lms, isp, **kwargs) -> lms_import.ImportReport:
    return await lms_import.import_lms(lms.url, isp, "test-key", **kwargs)


def lms_balances(lms) -> dict[int, int]:
    rows = lms.rows("SELECT customerid, SUM(value) AS total FROM cash WHERE customerid IS NOT NULL "
                    "GROUP BY customerid")
    return {r["customerid"]: lms_import.grosze(r["total"]) for r in rows}


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_import_carries_customers_money_invoices_tickets_traffic(lms, isp, client):
    report = await run(lms, isp)

    ids = sorted(r["id"] for r in await Customer.select(Customer.id))
    assert ids == [1, 2, 3, 5]
    assert ("customer", "4", "deleted in LMS") in report.skipped
    jan = await Customer.select().where(Customer.id == 1).first()
    assert (jan["name"], jan["street"], jan["postal_code"], jan["city"]) == (
        "Jan Kowalski", "ul. Polna 12/3", "26-200", "Końskie")
    assert (jan["mail_street"], jan["email"], jan["phone"]) == (
        "ul. Pocztowa 5", "jan.kowalski@example.pl", "+48 600 100 200")
    assert jan["invoice_by_email"] and jan["marketing_consent"]
    assert "123456" not in jan["pin_hash"] and jan["pin_hash"].startswith("$argon2")
    firm = await Customer.select().where(Customer.id == 2).first()
    assert (firm["name"], firm["nip"], firm["phone"]) == ("Firma Usługowa Sp. z o.o.", "5261040828", "+48 412 601 234")
    anna = await Customer.select().where(Customer.id == 3).first()
    # A bad NIP check digit and a bad phone are dropped, the customer is imported; both reported.
    assert anna["nip"] == "" and anna["phone"] == "" and anna["street"] == "Wólka 17"
    warned = {(k, i) for k, i, _ in report.warnings}
    assert ("customer", "3") in warned and ("customer", "5") in warned
    assert any("NIP" in reason for k, i, reason in report.warnings if i == "3")
    assert any("customer 1" in reason for k, i, reason in report.warnings if i == "3")  # shared e-mail

    # Each logs in with the ID and PIN from LMS (leading zeros allowed), over HTTP too.
    for raw, pin in (("1", "123456"), ("0002", "4821"), ("3", "007391")):
        assert (await auth.customer_login(raw, pin, "192.0.2.10")).outcome is auth.Outcome.OK
    assert (await auth.customer_login("5", "123456", "192.0.2.11")).outcome is not auth.Outcome.OK
    response = await post_form(client, "/login", {"customer_id": "1", "pin": "123456"})
    assert response.status_code == 303 and "/info" in response.headers["location"]

    # Balances equal LMS's SUM(cash.value), to the grosz.
    expected = lms_balances(lms)
    for cid in (1, 2, 3):
        assert await finances.balance(cid) == expected[cid]
    assert expected[1] == -12_999 and expected[3] == -3_999
    assert report.balance_diffs == []
    assert await Payment.count().where(Payment.customer == 1) == 1

    # Invoices keep their LMS numbers; the PDF carries the number and the lines.
    numbers = {r["number"] for r in await Invoice.select(Invoice.number)}
    assert numbers == {"1/LMS/2026", "2/LMS/2026", "FV/7/11/2026", "3/LMS/2026", "KOR/1/2026"}
    assert ("invoice", "7", "cancelled in LMS") in report.skipped
    row = await Invoice.select(Invoice.id).where(Invoice.number == "2/LMS/2026").first()
    doc = await load_invoice_doc(row["id"], customer_id=1)
    assert doc.buyer.name == "Kowalski Jan" and doc.seller.nip == "6570300000"
    assert [(line.quantity, line.gross) for line in doc.lines] == [(1, 7999), (2, 5000)]
    text = pdf_text(await invoice_pdf(doc))
    assert "2/LMS/2026" in text and "Wizyta serwisanta" in text and "Abonament Internet 300" in text
    # WBOK's own numbering continues after an LMS number in its series.
    issued = await issue_invoice(2, [InvoiceLine("Montaż", 1, "usł.", 10_000, 23)], date(2026, 11, 25), isp)
    assert issued.number == "FV/8/11/2026"

    # Tariffs, assignments with their dates, devices with IP and MAC.
    tariffs = {r["name"]: r for r in await Tariff.select()}
    assert tariffs["Internet 300"]["price"] == 7999 and tariffs["Internet 300"]["down_mbit"] == 300
    anna_plans = await Assignment.select(Assignment.start, Assignment.end).where(
        Assignment.customer == 3).order_by(Assignment.start)
    assert [(a["start"], a["end"]) for a in anna_plans] == [
        (date(2023, 12, 1), date(2025, 6, 30)), (date(2025, 7, 1), None)]
    devices = {r["ip"]: r for r in await Device.select()}
    assert set(devices) == {"10.0.0.2", "10.0.0.3"}
    assert devices["10.0.0.2"]["mac"] == "00:1A:2B:3C:4D:5E" and devices["10.0.0.2"]["customer"] == 1
    assert ("node", "3", "invalid IP 0") in report.skipped

    # Tickets with their threads; a note stays internal, LMS's change records are not messages.
    ticket = await Ticket.select().where(Ticket.customer == 1).first()
    assert (ticket["queue"], ticket["status"], ticket["subject"]) == ("technical", "todo", "Brak internetu od rana")
    thread = await TicketMessage.select().where(TicketMessage.ticket == ticket["id"]).order_by(TicketMessage.id)
    assert [(m["author"], m["internal"]) for m in thread] == [
        ("customer", False), ("operator", False), ("operator", True)]
    assert (await Ticket.select(Ticket.status).where(Ticket.customer == 3).first())["status"] == "resolved"

    # Traffic history is published: Statystyki shows the past.
    total = await TrafficPublished.select().where(
        (TrafficPublished.customer == 1) & (TrafficPublished.period == "all")
        & TrafficPublished.device.is_null()).first()
    assert total["download"] == 2 * 10_000_000 * (8 + 12 + 20)

    assert report.summary() == ("import lms: 4 customers, 5 invoices, 2 payments, 2 tickets, "
                                f"{len(report.skipped)} skipped, balances ok")


async def test_rerun_changes_nothing_then_exactly_the_edit(lms, isp):
    await run(lms, isp)
    hashes = {r["id"]: r["pin_hash"] for r in await Customer.select(Customer.id, Customer.pin_hash)}
    again = await run(lms, isp)
    assert all(c.new == 0 and c.changed == 0 for c in again.counts.values()), again.lines()
    assert {r["id"]: r["pin_hash"] for r in await Customer.select(Customer.id, Customer.pin_hash)} == hashes

    lms.execute("UPDATE customercontacts SET contact = 'jan@nowy.example.pl' WHERE id = 1")
    lms.execute("INSERT INTO cash (id, time, type, value, customerid, comment) "
                "VALUES (11, 1764000000, 1, '129.99', 1, 'Wpłata ID 1')")
    lms.execute("UPDATE cash SET value = '-60.00' WHERE id = 4")
    third = await run(lms, isp)
    changed = {kind: (c.new, c.changed) for kind, c in third.counts.items() if c.new or c.changed}
    assert changed == {"customer": (0, 1), "payment": (1, 0), "charge": (0, 1)}
    assert (await Customer.select(Customer.email).where(Customer.id == 1).first())["email"] == "jan@nowy.example.pl"
    assert await finances.balance(1) == -1_000 == lms_balances(lms)[1]
    assert third.balance_diffs == []
    # The PIN still works (a changed row is hashed again, never stored in plain text).
    assert (await auth.customer_login("1", "123456", "192.0.2.12")).outcome is auth.Outcome.OK


async def test_dry_run_writes_nothing(lms, isp):
    report = await run(lms, isp, dry_run=True)
    assert report.counts["customer"].new == 4 and report.counts["invoice"].new == 5
    assert await Customer.count() == 0 and await Invoice.count() == 0 and await Payment.count() == 0


async def test_since_limits_the_dated_tables(lms, isp):
    report = await run(lms, isp, since=date(2026, 10, 5))
    assert report.counts["invoice"].new == 4  # the invoice of 1 October is older
    # Its charge is older too: the balance check says so instead of passing silently.
    assert [cid for cid, _, _ in report.balance_diffs] == [1]


def test_cli_summary_and_exit_code(lms, capsys):
    from app.cli import main

    from tests.conftest import run_sync

    assert main(["import", "lms", lms.url]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("import lms: 4 customers, 5 invoices, 2 payments, 2 tickets")
    assert "skipped customer 4: deleted in LMS" in out and "123456" not in out
    # A payment booked in WBOK alone: the balances differ and the command says so.
    run_sync(Payment.insert(Payment(customer=1, date=date(2026, 12, 1), title="Kasa", amount=100)).run())
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "lms", lms.url])
    assert exit_info.value.code == 1
    assert "balances 1 differ" in capsys.readouterr().out
    # A dry run says so and writes nothing.
    run_sync(Payment.delete().where(Payment.title == "Kasa").run())
    assert main(["import", "lms", lms.url, "--dry-run"]) == 0
    assert "dry run: nothing was written" in capsys.readouterr().out
    assert run_sync(Payment.count().run()) == 2


def test_unreachable_lms_is_one_line(capsys):
    from app.cli import main

    assert main(["import", "lms", "postgresql://nobody@127.0.0.1:1/lms"]) == 2
    assert capsys.readouterr().err.startswith("wbok: cannot connect to LMS")


def test_lms_numbers_and_ips():
    from tests.lms_data import ts

    assert lms_import.lms_number("%N/LMS/%Y", 12, ts("2026-11-02 10:00")) == "12/LMS/2026"
    assert lms_import.lms_number("FV/%04N/%m/%y", 7, ts("2026-01-31 23:30")) == "FV/0007/01/26"
    assert lms_import.lms_number(None, 3, ts("2025-12-31 23:59")) == "3/LMS/2025"
    assert lms_import.inet_ntoa(167772162) == "10.0.0.2"
    assert lms_import.inet_ntoa(0) is None and lms_import.inet_ntoa(2**32) is None


async def test_months_lms_invoiced_are_never_billed_again(lms, isp):
    """LMS invoiced November for every customer with a tariff: WBOK's billing (idempotent per
    assignment and month) bills nobody for November, and everyone with a tariff for December."""
    from datetime import date

    from app import billing
    from app.tables.finances import Invoice

    await run(lms, isp)
    before = await Invoice.count()
    november = await billing.run_billing(date(2026, 11, 1), date(2026, 11, 30), isp)
    assert november.invoices == 0 and await Invoice.count() == before
    december = await billing.run_billing(date(2026, 12, 1), date(2026, 12, 1), isp)
    assert december.invoices == 3


async def test_imported_customers_are_found_by_the_operators_search(lms, isp):
    from app import search

    await run(lms, isp)
    assert [c["id"] for c in (await search.search("wisniewski")).rows] == [5]
    assert [c["id"] for c in (await search.search("KOWALSKI")).rows] == [1]
