"""Bench for Finanse: fragment size (brotli) and invoice PDF render times.

Run: python bench/finances.py   (uses a throwaway SQLite database under /tmp)
Budgets: /finances fragment ≤ 4 KB compressed with 12 months of history;
one invoice PDF ≤ 150 ms; 50 selected, merged, ≤ 5 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.mkdtemp(prefix="wbok-bench-")
os.environ["WBOK_DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ["WBOK_SECRET_KEY"] = "bench"
os.environ["WBOK_SCHEDULER"] = "0"
os.environ["WBOK_DB_POOL_SIZE"] = "0"

import logging  # noqa: E402

import brotli  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from app import db  # noqa: E402
from app.customers import create_customer  # noqa: E402
from app.demo import create_demo_finances  # noqa: E402
from app.invoice_pdf import InvoiceLine, render_invoice, render_invoices  # noqa: E402
from app.invoices import InvoiceRequest, issue_invoices, load_invoice_docs  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import ISP, settings_from_env  # noqa: E402
from app.tables.tariffs import Tariff  # noqa: E402

FRAGMENT_BUDGET = 4 * 1024
ONE_PDF_BUDGET = 0.150
FIFTY_PDF_BUDGET = 5.0


async def setup() -> tuple[int, str, list[int]]:
    await db.migrate()
    await Tariff.insert(Tariff(name="Światłowód 600", price=9999, down_mbit=600, up_mbit=100, vat=23))
    # Customer 1..10 with different payment habits; the 10th is a debtor in credit-less shape.
    ids = []
    for i in range(10):
        cid, pin = await create_customer(f"Bożena Żółtowska-Kędzierzawa {i}", street="ul. Źródlana 15/3",
                                         postal_code="26-200", city="Końskie", tariff="Światłowód 600",
                                         pin="482913", email=f"b{i}@example.pl", today=date(2020, 1, 1))
        ids.append(cid)
    await create_demo_finances(ids, random.Random(7), date.today())
    # 50 more invoices with several lines for the merge measurement.
    many = await issue_invoices([InvoiceRequest(ids[0], [
        InvoiceLine("Abonament Światłowód 600 — dopłata", 1, "usł.", 9999, 23),
        InvoiceLine("Dzierżawa routera", 1, "szt.", 1000, 23),
        InvoiceLine("Telewizja pakiet podstawowy", 1, "usł.", 2999, 8)], date.today())
        for _ in range(50)], ISP())
    debtor = ids[7]  # HABITS[7] is "debtor": a debt, so the QR code is on the page too
    return debtor, "482913", [x.id for x in many]


async def fragment_size(customer_id: int, pin: str) -> tuple[int, int, int]:
    app = create_app(settings_from_env())
    async with AsyncTestClient(app=app) as client:
        await client.get("/login")
        token = client.cookies.get("csrftoken")
        r = await client.post("/login", data={"customer_id": str(customer_id), "pin": pin,
                                              "_csrf_token": token})
        assert r.status_code in (200, 303), r.text
        r = await client.get("/finances", headers={"HX-Request": "true", "HX-Request-Type": "partial"})
        assert r.status_code == 200 and "finances-data" in r.text
        raw = r.content
        rows = r.text.count("<tr") - 1
    return len(raw), len(brotli.compress(raw, quality=5)), rows


def time_pdfs(docs) -> tuple[float, float, float]:
    render_invoice(docs[0])  # warm fonts and templates, as a running server has them
    one = [_timed(render_invoice, doc) for doc in docs[1:8]]
    fifty = _timed(render_invoices, docs[:50])
    size = len(render_invoices(docs[:50]))
    return statistics.median(one), fifty, size


def _timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


async def main() -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    customer_id, pin, many = await setup()
    raw, compressed, rows = await fragment_size(customer_id, pin)
    docs = await load_invoice_docs(many)
    one, fifty, size = await asyncio.to_thread(time_pdfs, docs)
    ok = compressed <= FRAGMENT_BUDGET and one <= ONE_PDF_BUDGET and fifty <= FIFTY_PDF_BUDGET
    print(f"/finances fragment ({rows} statement rows, debt + QR): {raw} B raw, "
          f"{compressed} B brotli-5 (budget {FRAGMENT_BUDGET} B)")
    print(f"one invoice PDF (median of 7, warm): {one * 1000:.0f} ms (budget {ONE_PDF_BUDGET * 1000:.0f} ms)")
    print(f"50 selected invoices in one PDF: {fifty:.2f} s (budget {FIFTY_PDF_BUDGET:.0f} s), "
          f"{size // 1024} KB")
    print("OK" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
