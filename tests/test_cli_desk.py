"""The `wbok` command line refuses bad input (exit 2, one Polish line on stderr, nothing
written), takes the admin form's customer fields, exports CSV and runs the reminders."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.tables.billing import Reminder
from app.tables.customers import Customer
from app.tables.finances import Invoice
from tests import factories
from tests.conftest import run_sync as _run


def run_sync(query):
    """A Piccolo query (awaitable, not a coroutine) or a coroutine, run to its end."""
    async def run():
        return await query
    return _run(run())
from tests.test_cli import wbok


def _refused(done, *words: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == "" and done.stderr.startswith("wbok: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.parametrize("value", ["-5", "0", "100001", "dużo"])
def test_demo_customers_outside_the_range(value):
    _refused(wbok("demo", "--customers", value), "--customers", "od 1 do 100 000")
    assert run_sync(Customer.count()) == 0


@pytest.mark.parametrize("value", ["26-11", "2026-13", "listopad"])
def test_billing_month_format(value):
    _refused(wbok("billing", "run", "--month", value), "RRRR-MM")
    assert run_sync(Invoice.count()) == 0


def test_an_ingest_without_one_valid_line_exits_1(tmp_path):
    bad = tmp_path / "samples.txt"
    bad.write_text("garbage\n10.0.0.1 abc 5\n", encoding="utf-8")
    done = wbok("traffic", "ingest", str(bad))
    assert done.returncode == 1 and "żaden wiersz nie był poprawny" in done.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--email", "not an email", "Podaj poprawny adres e-mail"),
    ("--nip", "1234567890", "Nieprawidłowy NIP"),
    ("--postal-code", "abc", "Kod pocztowy"),
    ("--phone", "xyz", "numer telefonu"),
])
def test_customer_add_refuses_what_the_admin_form_refuses(option, value, message):
    _refused(wbok("customer", "add", "--name", "Jan Łęcki", option, value), option, message)
    assert run_sync(Customer.count()) == 0


def test_customer_add_takes_the_admin_form_fields():
    done = wbok("customer", "add", "--name", "Jan Łęcki", "--street", "ul. Źródlana 5", "--postal-code", "26200",
                "--city", "Końskie", "--email", "jan@example.pl", "--phone", "600100200", "--nip", "526-025-02-74",
                "--invoice-by-email")
    assert done.returncode == 0, done.stderr
    row = run_sync(Customer.select().first())
    assert (row["street"], row["postal_code"], row["city"], row["phone"], row["nip"]) == (
        "ul. Źródlana 5", "26-200", "Końskie", "+48 600 100 200", "5260250274")
    assert row["invoice_by_email"] and row["search_text"] == "jan lecki | ul. zrodlana 5 | 26-200 | konskie | | |"
    _refused(wbok("customer", "add", "--name", "Ewa", "--invoice-by-email"), "--email")


def test_every_option_has_a_help_with_its_unit_or_format():
    tariff = wbok("tariff", "add", "--help").stdout
    assert "79,99" in tariff and "zł" in tariff and "Mbit/s" in tariff
    customer = wbok("customer", "add", "--help").stdout
    for option in ("--street", "--postal-code", "--city", "--nip", "--phone", "--invoice-by-email"):
        assert option in customer
    assert "NN-NNN" in customer
    assert "RRRR-MM" in wbok("export", "--help").stdout and "RRRR-MM" in wbok("billing", "run", "--help").stdout


def test_export_sales_to_stdout_and_a_bad_month():
    who = run_sync(factories.customer("Jan Łęcki"))
    invoice = run_sync(factories.invoice(who.id, date(2026, 11, 1), gross=7999))
    done = wbok("export", "sales", "--month", "2026-11", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(done.stdout[1:], newline=""), delimiter=";"))
    assert [(r["Numer"], r["Brutto"], r["Nabywca"]) for r in rows] == [(invoice.number, "79,99", "Jan Łęcki")]
    assert wbok("export", "debtors", "--month", "2026-11").stdout.count("\n") == 2  # header + Łęcki
    _refused(wbok("export", "sales", "--month", "11-2026"), "RRRR-MM")
    _refused(wbok("export", "sales"), "--month")


def test_reminders_run_is_the_nightly_job():
    who = run_sync(factories.customer("Jan Łęcki", email=""))
    run_sync(factories.invoice(who.id, date(2026, 1, 1), gross=7999))
    done = wbok("reminders", "run")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "przypomnienia: e-mail 0, papierowe 1 (do wydruku w /admin/debtors)\n"
    assert wbok("reminders", "run").stdout.startswith("przypomnienia: e-mail 0, papierowe 0")
    assert run_sync(Reminder.count()) == 1
