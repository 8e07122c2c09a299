"""Bench: `wbok import lms` of 10,000 customers with 12 invoices each, on PostgreSQL.

Budget: ≤ 2 minutes. The bench builds the LMS database itself (tests/lms_data.py's DDL, the
doc/lms.pgsql subset) in a scratch PostgreSQL database, imports it into another scratch
WBOK database, then imports it again (the nightly rerun: nothing changed).

argon2 of 10,000 PINs alone costs 10,000 × (one hash, measured below) CPU-seconds; on this
shared 2-core machine that is far beyond the budget at the current parameters, and a bench
must not hog the cores for 20 minutes. So the import runs with a stand-in hasher, and the
app's hasher is measured apart, through the import's own process pool, on `--pins` PINs
(CPU time per PIN, which the machine's load does not inflate); the total is the sum.
Baseline (same run): reading the same LMS rows with SELECTs only.

Run: python bench/lms_import.py [--customers 10000] [--invoices 12] [--pins 200]
(WBOK_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/postgres is the server.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("WBOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WBOK_DB = f"wbok_bench_lms_{uuid.uuid4().hex[:8]}"
os.environ["WBOK_DATABASE_URL"] = PG.rsplit("/", 1)[0] + "/" + WBOK_DB
os.environ.pop("WBOK_CONFIG", None)

from tests.lms_data import Lms, ip, ts  # noqa: E402

BUDGET_S = 120.0


def build(lms: Lms, customers: int, invoices: int) -> None:
    """LMS-shaped data: a plain PIN, an address, two contacts, a tariff, a node per customer;
    `invoices` monthly invoices each with its charge, and a payment for all but the last."""
    lms.insert("taxes", "id, value, taxed, label", [(1, "23.00", 1, "23%")])
    lms.insert("numberplans", "id, template, period, doctype, isdefault", [(1, "%N/LMS/%Y", 5, 1, 1)])
    lms.insert("tariffs", "id, name, type, value, taxid, uprate, downrate",
               [(1, "Internet 300", 1, "79.99", 1, 50000, 300000), (2, "Internet 100", 1, "59.99", 1, 20000, 100000)])
    start = ts("2025-01-01 00:00")
    lms.insert("customers", "id, lastname, name, type, ten, pin, creationdate",
               [(c, f"Nazwisko{c}", "Jan", 0, "", f"{(c * 7919) % 1000000:06d}", start) for c in range(1, customers + 1)])
    lms.insert("addresses", "id, street, house, zip, city",
               [(c, "ul. Polna", str(c % 200 + 1), "26-200", "Końskie") for c in range(1, customers + 1)])
    lms.insert("customer_addresses", "id, customer_id, address_id, type", [(c, c, c, 1) for c in range(1, customers + 1)])
    lms.insert("customercontacts", "id, customerid, contact, type",
               [(2 * c - 1, c, f"klient{c}@example.pl", 8) for c in range(1, customers + 1)]
               + [(2 * c, c, f"6{c:08d}", 1) for c in range(1, customers + 1)])
    lms.insert("assignments", "id, tariffid, customerid, period, at, datefrom",
               [(c, 1 + c % 2, c, 3, 1, start) for c in range(1, customers + 1)])
    lms.insert("nodes", "id, name, ipaddr, ownerid, netid",
               [(c, f"N{c}", ip("10.0.0.0") + c, c, 1) for c in range(1, customers + 1)])
    docs, lines, cash = [], [], []
    doc = cash_id = 0
    for month in range(invoices):
        cdate = ts(f"{2025 + month // 12}-{month % 12 + 1:02d}-01 10:00")
        for c in range(1, customers + 1):
            doc += 1
            price = "79.99" if c % 2 else "59.99"
            docs.append((doc, 1, month * customers + c, 1, cdate, cdate, c, f"Nazwisko{c} Jan", "ul. Polna 1",
                         "26-200", "Końskie", 14, 2, "ISP Sp. z o.o.", "ul. Sieciowa 1", "26-200", "Końskie"))
            lines.append((doc, 1, price, 1, "szt.", "1", "Abonament", 1))
            cash_id += 1
            cash.append((cash_id, cdate, 0, "-" + price, c, doc, 1, "Abonament"))
            if month < invoices - 1:
                cash_id += 1
                cash.append((cash_id, cdate + 9 * 86400, 1, price, c, None, 0, f"Wpłata ID {c}"))
    lms.insert("documents", "id, type, number, numberplanid, cdate, sdate, customerid, name, address, zip, city, "
               "paytime, paytype, div_name, div_address, div_zip, div_city", docs)
    lms.insert("invoicecontents", "docid, itemid, value, taxid, content, count, description, tariffid", lines)
    lms.insert("cash", "id, time, type, value, customerid, docid, itemid, comment", cash)


async def baseline(url: str) -> float:
    from app.lms_import import LmsSource

    src = LmsSource(url)
    await src.connect()
    started = time.perf_counter()
    for table in ("customers", "customer_addresses", "addresses", "customercontacts", "assignments", "nodes",
                  "documents", "invoicecontents", "cash"):
        await src.rows(f"SELECT * FROM {table}")
    await src.close()
    return time.perf_counter() - started


async def main(args) -> None:
    from app import db, lms_import
    from app.settings import settings_from_env
    from tests.lms_data import Lms as _Lms

    admin = _Lms("pg")
    admin._pg("postgres", f'CREATE DATABASE "{WBOK_DB}"')
    lms = Lms("pg").create()
    try:
        started = time.perf_counter()
        build(lms, args.customers, args.invoices)
        print(f"LMS database built: {args.customers} customers × {args.invoices} invoices "
              f"in {time.perf_counter() - started:.1f} s")
        await db.migrate()
        settings = settings_from_env(dict(os.environ))

        def stand_in(pins: list[str]) -> list[str]:
            return [lms_import.UNUSABLE_HASH] * len(pins)

        import resource

        # argon2 through the import's own process pool, on a sample, apart from the import.
        sample = [f"{(c * 7919) % 1000000:06d}" for c in range(max(args.pins, 100))]
        t, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        lms_import._hash_pins(sample)
        hash_wall = time.perf_counter() - t
        cpu_per_pin = (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu) / len(sample)

        base = await baseline(lms.url)
        t = time.perf_counter()
        report = await lms_import.import_lms(lms.url, settings.isp, settings.secret_key, hasher=stand_in)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = await lms_import.import_lms(lms.url, settings.isp, settings.secret_key, hasher=stand_in)
        second = time.perf_counter() - t
        print(report.summary())
        print(again.summary(), "(rerun)")
        pins = report.counts["customer"].new
        cores = os.cpu_count() or 1
        print(f"load average now: {os.getloadavg()[0]:.1f} on {cores} cores")
        print(f"baseline, reading the LMS rows only: {base:.1f} s")
        print(f"import without argon2: {first:.1f} s ({first / base:.1f}× the baseline, "
              f"{first / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget)")
        print(f"argon2 (the app's hasher, {len(sample)} PINs in the pool): {cpu_per_pin * 1000:.0f} ms CPU per PIN, "
              f"{len(sample) / hash_wall:.1f} PINs/s wall here; {pins} PINs on {cores} idle cores "
              f"≈ {cpu_per_pin * pins / cores:.0f} s")
        total = first + cpu_per_pin * pins / cores
        print(f"import with every PIN hashed (estimate, idle cores): {total:.0f} s = {total / BUDGET_S:.2f} of the budget")
        print(f"rerun, nothing changed: {second:.1f} s ({second / base:.1f}× the baseline)")
    finally:
        lms.drop()
        admin._pg("postgres", f'DROP DATABASE IF EXISTS "{WBOK_DB}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=12)
    parser.add_argument("--pins", type=int, default=200, help="PINs hashed to measure argon2 (≥ 100)")
    asyncio.run(main(parser.parse_args()))
