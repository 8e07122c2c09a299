"""Bench: a monthly billing run (1k/5k/10k customers, no PDFs) and statement imports (1k/5k lines).

Budgets: 10,000 customers (1.3 assignments each on average) ≤ 60 s on SQLite; a 5,000-line
statement ≤ 10 s. Baseline, measured in the same run: issuing the same invoices straight
through app.invoices.issue_invoices in batches of 100 (the floor: no pending scan, no
markers). Also timed: a rerun that finds everything billed, and one that picks up a
late assignment per 100 customers.
Run: python bench/billing.py [--sizes 1000,5000,10000] [--lines 1000,5000] [--no-import]
(WBOK_BENCH_DB=postgresql://… to measure PostgreSQL instead; the database is scratch.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="wbok-bench-billing-"))
os.environ["WBOK_DATABASE_URL"] = os.environ.get("WBOK_BENCH_DB", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ.pop("WBOK_CONFIG", None)

from app import db  # noqa: E402
from app.settings import ISP  # noqa: E402


async def wipe() -> None:
    from app.tables.piccolo_app import APP_CONFIG

    for table in reversed(APP_CONFIG.table_classes):
        await table.delete(force=True)


async def seed(customers: int) -> None:
    """Customers with one or two tariffs each (1.3 on average); one in ten starts mid-month
    (prorated)."""
    from app.tables.customers import Customer
    from app.tables.tariffs import Assignment, Tariff

    tariffs = [r["id"] for r in await Tariff.insert(
        Tariff(name="Radio 20", price=4999, down_mbit=20, up_mbit=5),
        Tariff(name="Światłowód 300", price=7999, down_mbit=300, up_mbit=50),
        Tariff(name="Telewizja", price=2500, down_mbit=1, up_mbit=1, vat=8),
    ).returning(Tariff.id)]
    batch = 500
    for lo in range(0, customers, batch):
        rows = await Customer.insert(*[
            Customer(name=f"Klient Zażółć {i}", street="ul. Źródlana 5", postal_code="26-200",
                     city="Końskie", email=f"k{i}@example.pl", pin_hash="x",
                     invoice_by_email=i % 2 == 0)
            for i in range(lo, min(lo + batch, customers))
        ]).returning(Customer.id)
        links = []
        for n, r in enumerate(rows):
            start = date(2026, 11, 11) if n % 10 == 0 else date(2025, 1, 1)
            links.append(Assignment(customer=r["id"], tariff=tariffs[n % 2], start=start))
            if n % 10 in (0, 3, 6):
                links.append(Assignment(customer=r["id"], tariff=tariffs[2], start=date(2025, 1, 1)))
        await Assignment.insert(*links)


def statement_csv(lines: int, customers: list[int]) -> bytes:
    """A CSV statement: most pay to their virtual account, some name the ID in the
    title, some are anonymous (queued)."""
    from app.transfer import virtual_account

    isp = ISP()
    out = ["data;kwota;tytul;rachunek_nadawcy;rachunek;nadawca"]
    for i in range(lines):
        cid = customers[i % len(customers)]
        if i % 10 == 9:
            out.append(f"2026-11-20;{100 + i % 50},00;Przelew {i};{i:026d};;Anonim {i}")
        elif i % 10 == 8:
            out.append(f"2026-11-20;79,99;Abonament ID Klienta {cid:04d} nr {i};{i:026d};;Jan {i}")
        else:
            out.append(f"2026-11-21;79,99;Abonament {i};{i:026d};{virtual_account(isp, cid)};Jan {i}")
    return ("\n".join(out) + "\n").encode()


def statement_mt940(lines: int, customers: list[int]) -> bytes:
    from app.transfer import virtual_account

    isp = ISP()
    out = [":20:BENCH", ":25:/PL61109010140000071219812874", ":28C:1/1", ":60F:C261120PLN0,00"]
    for i in range(lines):
        cid = customers[i % len(customers)]
        out += [f":61:2611201120C79,99NTRFNONREF//B{i:012d}", f"/VA/{virtual_account(isp, cid)}",
                f":86:152~00TRPR~20Abonament {i}~32JAN KOWALSKI~38PL{i:026d}"]
    out.append(f":62F:C261120PLN{lines * 79.99:.2f}".replace(".", ","))
    return ("\n".join(out) + "\n").encode()


async def bench_billing(customers: int) -> tuple[float, int, int, float, float, float]:
    from app.billing import month_lines, run_billing
    from app.invoices import InvoiceRequest, issue_invoices
    from app.tables.customers import Customer
    from app.tables.tariffs import Assignment, Tariff

    await wipe()
    await seed(customers)
    lines = await month_lines(date(2026, 11, 1))
    started = time.perf_counter()
    requests = [InvoiceRequest(cid, [x for _, x in ls], date(2026, 11, 1), date(2026, 11, 30))
                for cid, ls in lines.items()]
    for lo in range(0, len(requests), 100):
        await issue_invoices(requests[lo:lo + 100], ISP())
    baseline = time.perf_counter() - started

    await wipe()
    await seed(customers)
    started = time.perf_counter()
    result = await run_billing("2026-11", date(2026, 11, 1), ISP())
    took = time.perf_counter() - started
    assert result.invoices == customers and not result.errors, result.summary()
    started = time.perf_counter()
    again = await run_billing("2026-11", date(2026, 11, 2), ISP())
    rerun = time.perf_counter() - started
    assert again.invoices == 0 and again.skipped == customers, again.summary()
    ip = (await Tariff.insert(Tariff(name="Publiczny IP", price=1000, down_mbit=1, up_mbit=1))
          .returning(Tariff.id))[0]["id"]
    ids = [r["id"] for r in await Customer.select(Customer.id).order_by(Customer.id)][::100]
    await Assignment.insert(*[Assignment(customer=c, tariff=ip, start=date(2026, 11, 16)) for c in ids])
    started = time.perf_counter()
    late = await run_billing("2026-11", date(2026, 11, 20), ISP())
    late_took = time.perf_counter() - started
    assert late.invoices == len(ids), late.summary()
    return took, result.invoices, result.total, baseline, rerun, late_took


async def bench_import(lines: int, fmt: str) -> tuple[float, object]:
    from app.payments_import import import_statement

    from app.tables.customers import Customer

    ids = [r["id"] for r in await Customer.select(Customer.id)]
    data = statement_csv(lines, ids) if fmt == "csv" else statement_mt940(lines, ids)
    started = time.perf_counter()
    summary = await import_statement(data, ISP(), filename=f"bench.{fmt}")
    took = time.perf_counter() - started
    again = time.perf_counter()
    repeat = await import_statement(data, ISP())
    assert repeat.duplicates == lines and repeat.matched == 0
    return took, summary, time.perf_counter() - again


async def main(sizes: list[int], line_counts: list[int]) -> None:
    from app.money import format_money

    await db.migrate()
    await db.start_pool(10)  # PostgreSQL only; SQLite has no pool
    print(f"database: {os.environ['WBOK_DATABASE_URL']}")
    print("billing run (1.3 assignments per customer, batches of 100, per-assignment markers; no PDFs); "
          "budget 10,000 ≤ 60 s")
    for n in sizes:
        took, invoices, total, baseline, rerun, late = await bench_billing(n)
        print(f"  {n:>6} customers: {took:6.2f} s  ({took / n * 1000:.2f} ms/customer, "
              f"{invoices} invoices, {format_money(total)}); baseline issue_invoices {baseline:.2f} s, "
              f"ratio {took / baseline:.2f}; rerun (all billed) {rerun:.2f} s; "
              f"late assignments ({n // 100}) {late:.2f} s")
    if not line_counts:
        return
    print("statement import (one transaction); budget 5,000 lines ≤ 10 s")
    await wipe()
    await seed(1000)
    for fmt in ("csv", "mt940"):
        for n in line_counts:
            took, s, again = await bench_import(n, fmt)
            print(f"  {fmt:>5} {n:>6} lines: {took:6.2f} s  (matched {s.matched}, unmatched "
                  f"{s.unmatched}); same file again: {again:.2f} s, all duplicates")
            from app.tables.billing import BankLine, StatementImport
            from app.tables.finances import Payment

            await Payment.delete(force=True)
            await BankLine.delete(force=True)
            await StatementImport.delete(force=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--lines", default="1000,5000")
    parser.add_argument("--no-import", action="store_true", help="bench billing only")
    args = parser.parse_args()
    asyncio.run(main([int(x) for x in args.sizes.split(",")],
                     [] if args.no_import else [int(x) for x in args.lines.split(",")]))
