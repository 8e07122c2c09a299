"""Bank statements as Polish banks send them: every layout in tests/data/banks (see its
README) with its expected bookings; encodings; refusals; the cross-format duplicate;
splitting and ignoring queued lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import bank_formats as bf
from app import payments_import as pi
from app.finances import balance
from app.settings import ISP
from app.tables.billing import BankLine, BankLineAction, StatementImport
from app.tables.finances import Payment
from tests import factories

pytestmark = pytest.mark.anyio
BANKS = Path(__file__).parent / "data" / "banks"

# file: (format, {customer: grosze booked}, [queued amounts], debits skipped)
EXPECTED = {
    "mbank_iph.sta": ("mt940", {1: 7999, 2: 5900}, [10000], 1),
    "pko.sta": ("mt940", {1: 12999, 3: 7999}, [4500], 1),
    "pekao.sta": ("mt940", {2: 7999}, [20000], 1),
    "ing.sta": ("mt940", {2: 5900}, [4001], 0),
    "mbank_lista.csv": ("mbank", {1: 7999}, [126000], 1),
    "pko_historia.csv": ("pko", {1: 12999, 2: 5900, 3: 7999}, [], 1),
    "ing.csv": ("ing", {2: 5900}, [4001], 1),
    "santander.csv": ("santander", {3: 7999}, [6000], 1),
    "pekao.csv": ("pekao", {1: 7999}, [10000], 1),
}


async def three_customers() -> None:
    assert [(await factories.customer()).id for _ in range(3)] == [1, 2, 3]


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_bank_layout_books_what_it_should(name):
    await three_customers()
    fmt, booked, queued, debits = EXPECTED[name]
    s = await pi.import_statement((BANKS / name).read_bytes(), ISP(), filename=name)
    assert (s.format, s.matched, s.unmatched, s.duplicates, s.debits) == (
        fmt, len(booked), len(queued), 0, debits)
    assert {cid: await balance(cid) for cid in (1, 2, 3)} == {c: booked.get(c, 0) for c in (1, 2, 3)}
    assert sorted(r["amount"] for r in await pi.unmatched()) == sorted(queued)
    row = await StatementImport.select().where(StatementImport.id == s.statement_id).first()
    assert (row["matched"], row["unmatched"], row["debits"]) == (len(booked), len(queued), debits)
    again = await pi.import_statement((BANKS / name).read_bytes(), ISP())
    assert (again.matched, again.unmatched, again.duplicates) == (0, 0, len(booked) + len(queued))


async def test_queue_shows_sender_name_account_and_a_clean_title():
    await three_customers()
    await pi.import_statement((BANKS / "mbank_iph.sta").read_bytes(), ISP())
    [line] = await pi.unmatched()
    # ISO-8859-2 read as such (not "¦L¡SK"), wrapped :86: lines joined with a space.
    assert line["sender_name"] == "PRZEDSIĘBIORSTWO WIELOBRANŻOWE ŚLĄSK SP. Z O.O. 40-001 KATOWICE"
    assert line["sender_account"] == "76114020040000300000000000"
    assert line["title"] == "ZA USŁUGI GRUDZIEŃ"


async def test_pko_filler_bytes_and_split_titles():
    st = bf.parse((BANKS / "pko.sta").read_bytes())
    assert b"\xff" in (BANKS / "pko.sta").read_bytes()
    titles = [p.title for p in st.payments]
    assert titles[1] == "OPŁATA ZA INTERNET GRUDZIEŃ ID KLIENTA 0003"  # ~20 + ~21 joined
    assert not any("˙" in p.title + p.sender_name for p in st.payments)
    assert st.payments[0].sender_name == "JOANNA WÓJCIK UL. LENA 4 26-200 KOŃSKIE"


@pytest.mark.parametrize("text", ["Łódź, ŚCIEKOWEJ, zażółć gęślą jaźń", "ŚLĄSK Ź ą ś"])
@pytest.mark.parametrize("encoding", ["cp1250", "iso8859_2", "utf-8", "utf-8-sig"])
async def test_encoding_is_decided_by_content(text, encoding):
    decoded, _ = bf.decode(text.encode(encoding))
    assert decoded == text


async def test_eur_statement_is_refused_whole():
    await three_customers()
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement((BANKS / "pekao_eur.sta").read_bytes(), ISP())
    assert "EUR" in str(err.value) and "PLN" in str(err.value)
    assert await Payment.count() == 0 and await BankLine.count() == 0
    assert await StatementImport.count() == 0


async def test_statement_of_another_account_is_refused_unless_configured():
    await three_customers()
    data = (BANKS / "other_account.sta").read_bytes()
    with pytest.raises(pi.StatementError) as err:
        await pi.import_statement(data, ISP())
    assert "45 1140 1137 0000 3102 1100 1001" in str(err.value)
    assert await Payment.count() == 0 and await BankLine.count() == 0
    s = await pi.import_statement(data, ISP(statement_accounts=("45114011370000310211001001",)))
    assert s.matched == 1 and await balance(1) == 7999


async def test_csv_in_another_currency_is_refused():
    await three_customers()
    data = (BANKS / "pekao.csv").read_bytes().replace(b";PLN;", b";EUR;")
    with pytest.raises(pi.StatementError, match="EUR"):
        await pi.import_statement(data, ISP())
    assert await Payment.count() == 0


@pytest.mark.parametrize("first, second, same", [
    ("pko.sta", "pko_historia.csv", 2),   # MT940, then the CSV export of the same account
    ("pko_historia.csv", "pko.sta", 2),
    ("ing.sta", "ing.csv", 2),           # both sides carry the bank reference
])
async def test_the_same_transfer_from_two_formats_is_booked_once(first, second, same):
    await three_customers()
    a = await pi.import_statement((BANKS / first).read_bytes(), ISP())
    b = await pi.import_statement((BANKS / second).read_bytes(), ISP())
    assert b.duplicates == same
    lines = a.matched + a.unmatched + b.matched + b.unmatched
    assert await BankLine.count() == lines
    if first.startswith("pko"):
        assert await balance(1) == 12999 and await balance(3) == 7999 and await balance(2) == 5900


async def test_same_fingerprint_with_different_references_is_two_transfers():
    await three_customers()
    csv = "data;kwota;tytul;rachunek_nadawcy;referencja\n2026-12-01;10,00;ID 1;111;{}\n"
    await pi.import_statement(csv.format("R-1").encode(), ISP())
    s = await pi.import_statement(csv.format("R-2").encode(), ISP())
    assert (s.matched, s.duplicates) == (1, 0) and await balance(1) == 2000
    again = await pi.import_statement(csv.format("R-2").encode(), ISP())
    assert again.duplicates == 1 and await balance(1) == 2000


async def test_split_a_queued_line_between_customers_is_audited():
    await three_customers()
    op = await factories.operator()
    await pi.import_statement((BANKS / "pekao.sta").read_bytes(), ISP())
    [line] = await pi.unmatched()
    assert line["amount"] == 20000
    with pytest.raises(pi.AssignError, match="razem"):
        await pi.split(line["id"], [(1, 10000), (3, 9000)], op.id)
    with pytest.raises(pi.AssignError, match="ID 99"):
        await pi.split(line["id"], [(1, 10000), (99, 10000)], op.id)
    assert await BankLine.count().where(BankLine.status == "unmatched") == 1  # nothing half-done
    await pi.split(line["id"], [(1, 12000), (3, 8000)], op.id)
    assert await balance(1) == 12000 and await balance(3) == 8000
    assert await pi.unmatched() == []
    actions = await pi.line_actions(line["id"])
    assert [(a["action"], a["customer"], a["amount"], a["operator.username"]) for a in actions] == [
        ("split", 1, 12000, op.username), ("split", 3, 8000, op.username)]
    with pytest.raises(pi.AssignError):
        await pi.split(line["id"], [(1, 10000), (3, 10000)], op.id)
    again = await pi.import_statement((BANKS / "pekao.sta").read_bytes(), ISP())
    assert again.duplicates == 2 and await balance(1) == 12000


async def test_ignore_a_queued_line_needs_a_reason_and_is_audited():
    await three_customers()
    op = await factories.operator()
    await pi.import_statement((BANKS / "pko.sta").read_bytes(), ISP())
    [line] = await pi.unmatched()
    with pytest.raises(pi.AssignError, match="powód"):
        await pi.ignore(line["id"], "   ", op.id)
    await pi.ignore(line["id"], "Zwrot nadpłaty, oddany przelewem", op.id)
    assert await pi.unmatched() == []
    row = await BankLine.select().where(BankLine.id == line["id"]).first()
    assert (row["status"], row["note"]) == ("ignored", "Zwrot nadpłaty, oddany przelewem")
    [audit] = await pi.line_actions(line["id"])
    assert (audit["action"], audit["reason"], audit["operator"]) == (
        "ignore", "Zwrot nadpłaty, oddany przelewem", op.id)
    assert await Payment.count() == 2  # nothing booked for the ignored line
    with pytest.raises(pi.AssignError):
        await pi.assign(line["id"], 1, op.id)
    assert await BankLineAction.count() == 1


async def test_lines_imported_before_the_fingerprint_are_still_duplicates():
    """Lines keyed the old way (bank reference, or a hash with the raw title) stay known."""
    await three_customers()
    data = (BANKS / "pko.sta").read_bytes()
    s = await pi.import_statement(data, ISP())
    for line in await BankLine.select(BankLine.id, BankLine.reference):
        await BankLine.update({BankLine.key: f"ref:{line['reference']}", BankLine.reference: ""}).where(
            BankLine.id == line["id"])
    again = await pi.import_statement(data, ISP())
    assert again.duplicates == s.matched + s.unmatched and await balance(1) == 12999
