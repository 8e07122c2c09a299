"""Payments import: MT940 and CSV, matching by virtual account or title, duplicates, bad files."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from app import payments_import as pi
from app.finances import balance
from app.settings import ISP
from app.tables.billing import BankLine
from app.tables.finances import Payment
from tests import factories

pytestmark = pytest.mark.anyio
DATA = Path(__file__).parent / "data"


async def three_customers() -> list[int]:
    ids = [(await factories.customer()).id for _ in range(3)]
    assert ids == [1, 2, 3]  # the sample statements pay to customers 1, 2 and 3
    return ids


async def test_mt940_matches_by_virtual_account_and_title_and_queues_the_rest():
    await three_customers()
    s = await pi.import_statement((DATA / "statement-2026-11-24.mt940").read_bytes(), ISP())
    assert (s.format, s.lines, s.matched, s.unmatched, s.duplicates) == ("mt940", 3, 2, 1, 0)
    assert s.total == 7999 + 5900
    assert await balance(1) == 7999 and await balance(2) == 5900
    p = await Payment.select().where(Payment.customer == 1).first()
    assert (p["date"], p["source"], p["title"]) == (date(2026, 11, 24), "mt940", "Abonament, ID Klienta 0001")
    [queued] = await pi.unmatched()
    assert (queued["amount"], queued["title"], queued["sender_name"]) == (10000, "Za internet listopad",
                                                                          "ANONIM SP. Z O.O.")
    assert queued["sender_account"] == "76114020040000300000000000"


async def test_same_file_twice_and_overlapping_file_book_nothing_twice():
    await three_customers()
    data = (DATA / "statement-2026-11-24.mt940").read_bytes()
    await pi.import_statement(data, ISP())
    again = await pi.import_statement(data, ISP())
    assert (again.matched, again.unmatched, again.duplicates) == (0, 0, 3)
    nxt = await pi.import_statement((DATA / "statement-2026-11-25.mt940").read_bytes(), ISP())
    assert (nxt.matched, nxt.duplicates) == (1, 1)
    assert await balance(1) == 7999 and await balance(3) == 4001
    assert await Payment.count() == 3 and await BankLine.count() == 4


async def test_concurrent_imports_of_one_file_book_once():
    await three_customers()
    data = (DATA / "statement-2026-11-24.mt940").read_bytes()
    results = await asyncio.gather(pi.import_statement(data, ISP()), pi.import_statement(data, ISP()))
    assert sorted(r.matched for r in results) == [0, 2]
    assert await Payment.count() == 2


async def test_malformed_mt940_is_rejected_with_line_and_nothing_booked():
    await three_customers()
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement((DATA / "statement-malformed.mt940").read_bytes(), ISP())
    assert err.value.line == 7 and "Wiersz 7" in str(err.value)
    assert await Payment.count() == 0 and await BankLine.count() == 0


async def test_csv_with_polish_decimal_comma_and_repeated_equal_payments():
    await three_customers()
    s = await pi.import_statement((DATA / "statement.csv").read_bytes(), ISP())
    # Two equal 59,00 zł payments on one day are two payments; the debit is skipped.
    assert (s.format, s.lines, s.matched, s.unmatched, s.duplicates) == ("csv", 5, 4, 1, 0)
    assert await balance(1) == 7999 and await balance(2) == 105900 + 5900 + 5900
    again = await pi.import_statement((DATA / "statement.csv").read_bytes(), ISP())
    assert (again.matched, again.duplicates) == (0, 5)


async def test_csv_comma_separated_with_english_headers():
    await three_customers()
    data = ('date,amount,title,sender_account,reference\n'
            '2026-11-20,"12,50",ID 3,111,REF-1\n2026-11-20,"12,50",ID 3,111,REF-1\n').encode()
    s = await pi.import_statement(data, ISP())
    assert (s.matched, s.duplicates) == (1, 1) and await balance(3) == 1250


@pytest.mark.parametrize("content, line, words", [
    ("data;kwota;tytul\n2026-11-20;1,00;x\n", 1, "rachunek nadawcy"),
    ("data;kwota;tytul;rachunek_nadawcy\n2026-11-20;1,00;ID 1;1\n2026-13-01;1,00;x;1\n", 3, "data"),
    ("data;kwota;tytul;rachunek_nadawcy\n2026-11-20;12.345,6;x;1\n", 2, "kwota"),
    ("data;kwota;tytul;rachunek_nadawcy\n2026-11-20;1,00\n", 2, "kolumn"),
])
async def test_malformed_csv(content, line, words):
    await three_customers()
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(content.encode(), ISP())
    assert err.value.line == line and words in err.value.reason
    assert await Payment.count() == 0


async def test_cp1250_csv_is_read():
    await three_customers()
    data = "data;kwota;tytuł;rachunek_nadawcy\n2026-11-20;5,00;Wpłata ID 1 — Łódź;1\n".encode("cp1250",
                                                                                      "replace")
    s = await pi.import_statement(data, ISP())
    assert s.matched == 1
    assert (await Payment.select(Payment.title).first())["title"].startswith("Wpłata ID 1")


async def test_virtual_account_rules():
    isp = ISP()
    assert pi.virtual_customer(isp, "72 1090 1014 0001 0000 0000 0042") == 42
    assert pi.virtual_customer(isp, "73109010140001000000000042") is None  # bad check digits
    assert pi.virtual_customer(isp, "61109010140000071219812874") is None  # main account


async def test_title_id_forms():
    isp = ISP()
    for title, expected in [("ID Klienta 0042", 42), ("id 42 listopad", 42), ("ID: 7", 7),
                            ("abonament", None), ("IDEA 5", None)]:
        p = pi.BankPayment(1, date(2026, 11, 1), 100, title)
        assert pi.match(isp, p) == expected, title


async def test_operator_assigns_a_queued_line():
    await three_customers()
    op = await factories.operator()
    await pi.import_statement((DATA / "statement-2026-11-24.mt940").read_bytes(), ISP())
    [line] = await pi.unmatched()
    with pytest.raises(pi.AssignError):
        await pi.assign(line["id"], 999, op.id)
    await pi.assign(line["id"], 3, op.id)
    assert await balance(3) == 10000 and await pi.unmatched() == []
    with pytest.raises(pi.AssignError):
        await pi.assign(line["id"], 3, op.id)
    again = await pi.import_statement((DATA / "statement-2026-11-24.mt940").read_bytes(), ISP())
    assert again.duplicates == 3 and await balance(3) == 10000


async def test_large_statement_matches_every_customer_across_chunks():
    """More customers and lines than one IN (...) chunk holds."""
    from app.tables.customers import Customer
    from app.transfer import virtual_account

    rows = await Customer.insert(*[Customer(name=f"K {i}", pin_hash="x") for i in range(900)]
                                 ).returning(Customer.id)
    ids = [r["id"] for r in rows]
    lines = ["data;kwota;tytul;rachunek_nadawcy;rachunek"] + [
        f"2026-11-20;1,00;Abonament;{n};{virtual_account(ISP(), cid)}" for n, cid in enumerate(ids)]
    s = await pi.import_statement("\n".join(lines).encode(), ISP())
    assert (s.matched, s.unmatched) == (900, 0)
    again = await pi.import_statement("\n".join(lines).encode(), ISP())
    assert again.duplicates == 900 and await Payment.count() == 900


@pytest.mark.parametrize("broken, line, words", [
    (":61:2611261126C79.99NTRFNONREF//X1", 5, "kwota"),
    (":61:26112611X79,99NTRFNONREF//X1", 5, "datą"),
    (":60F:C261125PLN12374.67", 4, "saldo"),
])
async def test_malformed_mt940_variants(broken, line, words):
    good = (DATA / "statement-2026-11-24.mt940").read_text().split("\n")
    text = "\n".join(good[:4] + [broken] + good[4:]) if broken.startswith(":61:") else \
        "\n".join(good[:3] + [broken] + good[4:])
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(text.encode(), ISP())
    assert err.value.line == line and words in err.value.reason


async def test_text_that_is_not_a_statement():
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(b"Lorem ipsum dolor sit amet\n", ISP())
    assert "brak kolumn" in err.value.reason
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(b":20:X\n:61:2611261126C1,00NTRF\n", ISP())
    assert ":25:" in err.value.reason
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(b"%PDF-1.4\n\x00\x01binary;data\n", ISP())
    assert err.value.line == 1  # rejected cleanly, not a server error
