"""Invoices: gapless numbering under concurrency, frozen snapshots, the loader."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from app.invoices import InvoiceError, InvoiceLine, issue_invoice, load_invoice_doc, load_invoice_docs, series_key
from app.settings import ISP
from app.tables.customers import Customer
from app.tables.finances import Charge, Invoice
from app.tables.tariffs import Tariff
from tests import factories

pytestmark = pytest.mark.anyio
LINE = InvoiceLine("Abonament internetowy — listopad 2026", 1, "szt.", 7999, 23)


def test_series_key_fills_month_and_year_and_keeps_n():
    assert series_key("FV/{n}/{MM}/{YYYY}", date(2026, 3, 9)) == "FV/{n}/03/2026"


async def test_concurrent_issuing_gives_numbers_one_to_n_without_gaps():
    customers = [await factories.customer() for _ in range(4)]
    day = date(2026, 11, 2)
    n = 24
    issued = await asyncio.gather(*[
        issue_invoice(customers[i % 4].id, [LINE], day, ISP()) for i in range(n)
    ])
    numbers = sorted(int(x.number.split("/")[1]) for x in issued)
    assert numbers == list(range(1, n + 1))
    assert {x.number.split("/", 2)[2] for x in issued} == {"11/2026"}
    rows = await Invoice.select(Invoice.seq).where(Invoice.series == "FV/{n}/11/2026")
    assert sorted(r["seq"] for r in rows) == list(range(1, n + 1))


async def test_each_month_starts_its_own_series():
    c = await factories.customer()
    first = await issue_invoice(c.id, [LINE], date(2026, 10, 31), ISP())
    second = await issue_invoice(c.id, [LINE], date(2026, 11, 1), ISP())
    third = await issue_invoice(c.id, [LINE], date(2026, 11, 2), ISP())
    assert [first.number, second.number, third.number] == ["FV/1/10/2026", "FV/1/11/2026", "FV/2/11/2026"]


async def test_failed_issue_uses_no_number():
    c = await factories.customer()
    with pytest.raises(InvoiceError):
        await issue_invoice(c.id + 999, [LINE], date(2026, 11, 2), ISP())
    with pytest.raises(InvoiceError):
        await issue_invoice(c.id, [], date(2026, 11, 2), ISP())
    issued = await issue_invoice(c.id, [LINE], date(2026, 11, 2), ISP())
    assert issued.number == "FV/1/11/2026"


async def test_issue_books_one_linked_charge_per_line():
    c = await factories.customer()
    lines = [LINE, InvoiceLine("Instalacja", 1, "usł.", 12300, 8)]
    issued = await issue_invoice(c.id, lines, date(2026, 11, 2), ISP())
    charges = await Charge.select().where(Charge.customer == c.id).order_by(Charge.id)
    assert [(x["amount"], x["invoice"], x["date"]) for x in charges] == [
        (7999, issued.id, date(2026, 11, 2)), (12300, issued.id, date(2026, 11, 2))]
    assert issued.total_gross == 20299
    assert issued.due_date == date(2026, 11, 16)


async def test_document_is_frozen_at_issue_time():
    tariff_id = await factories.tariff(name="Światłowód 300", price=7999)
    c = await factories.customer(tariff_name="Światłowód 300", nip="5260250274")
    issued = await issue_invoice(c.id, [LINE], date(2026, 11, 2), ISP())
    before = await load_invoice_doc(issued.id, c.id)
    await Tariff.update({Tariff.price: 12999, Tariff.name: "Nowa"}).where(Tariff.id == tariff_id)
    await Customer.update({Customer.name: "Ktoś Inny", Customer.nip: "", Customer.street: "ul. Nowa 1"}
                          ).where(Customer.id == c.id)
    later = ISP(name="Inna Firma", nip="1234563218", invoice_series="X/{n}")
    await issue_invoice(c.id, [LINE], date(2026, 11, 3), later)
    after = await load_invoice_doc(issued.id, c.id)
    assert after == before
    assert after.buyer.name == c.name and after.buyer.nip == "5260250274"
    assert after.seller.name == ISP().name and after.total_gross == 7999
    assert after.bank_account.endswith(f"{c.id:04d}")


async def test_loader_refuses_foreign_and_mixed_ids():
    mine, other = await factories.customer(), await factories.customer()
    a = await factories.invoice(mine.id)
    b = await factories.invoice(other.id)
    assert await load_invoice_doc(b.id, mine.id) is None
    assert await load_invoice_docs([a.id, b.id], mine.id) is None
    assert await load_invoice_docs([a.id, a.id + b.id + 100], mine.id) is None
    docs = await load_invoice_docs([a.id, a.id], mine.id)
    assert [d.number for d in docs] == [a.number]


async def test_batches_and_singles_interleave_without_gaps_and_a_bad_batch_issues_nothing():
    from app.invoices import InvoiceRequest, issue_invoices

    a, b = await factories.customer(), await factories.customer()
    day = date(2026, 11, 3)
    batch = [InvoiceRequest(c.id, [LINE], day) for c in (a, b, a, b, a)]
    results = await asyncio.gather(issue_invoices(batch, ISP()), issue_invoices(batch, ISP()),
                                   *[issue_invoice(b.id, [LINE], day, ISP()) for _ in range(5)])
    first, second = results[0], results[1]
    # A batch is numbered consecutively in the order given.
    for got in (first, second):
        seqs = [int(x.number.split("/")[1]) for x in got]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
        assert [x.customer_id for x in got] == [a.id, b.id, a.id, b.id, a.id]
    everything = [x.number for x in first + second] + [x.number for x in results[2:]]
    assert sorted(int(n.split("/")[1]) for n in everything) == list(range(1, 16))
    with pytest.raises(InvoiceError):
        await issue_invoices([InvoiceRequest(a.id, [LINE], day), InvoiceRequest(a.id + 999, [LINE], day)], ISP())
    assert (await issue_invoice(a.id, [LINE], day, ISP())).number == "FV/16/11/2026"
    assert await Invoice.count() == 16


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    # Whitespace normalised: a long description wraps inside its table cell.
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


async def test_issued_invoice_pdf_has_every_field_and_stays_the_same_after_changes():
    from app.invoices import invoice_pdf, invoices_pdf

    c = await factories.customer("Grażyna Łęcka-Źrebiec", nip="7792433421")
    lines = [InvoiceLine("Abonament Światłowód 600 — listopad 2026", 1, "usł.", 9999, 23),
             InvoiceLine("Telewizja — pakiet „Żółty”", 1, "usł.", 2999, 8),
             InvoiceLine("Dzierżawa routera", 2, "szt.", 1000, 23)]
    issued = await issue_invoice(c.id, lines, date(2026, 11, 2), ISP())
    text = _pdf_text(await invoice_pdf(await load_invoice_doc(issued.id)))
    for expected in (issued.number, "5260250274", "7792433421", "Grażyna Łęcka-Źrebiec",
                     "Abonament Światłowód 600 — listopad 2026", "Telewizja — pakiet „Żółty”",
                     "Dzierżawa routera", "139,98 zł", "9,98 zł", "16.11.2026",
                     "sto trzydzieści dziewięć złotych 98/100"):
        assert expected in text, expected
    # Per-rate totals: 23% lines 109,99 gross (89,42 net) and 8% line 29,99 gross (27,77 net).
    assert "89,42 zł" in text and "27,77 zł" in text
    await Customer.update({Customer.name: "Ktoś Zupełnie Inny"}).where(Customer.id == c.id)
    again = _pdf_text(await invoice_pdf(await load_invoice_doc(issued.id)))
    assert again == text
    others = [await issue_invoice(c.id, [lines[0]], date(2026, 11, d), ISP()) for d in (3, 4)]
    merged = _pdf_text(await invoices_pdf(await load_invoice_docs([issued.id] + [o.id for o in others])))
    for inv in [issued, *others]:
        assert f"Faktura VAT nr {inv.number}" in merged
