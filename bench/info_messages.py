"""Bench for Informacje and Wiadomości: fragment sizes (brotli) and a 50,000-customer broadcast.

Run: python bench/info_messages.py            (throwaway SQLite database under /tmp)
     python bench/info_messages.py --postgres (throwaway database on 127.0.0.1:5432)
Budgets: /info, /info/edit and /messages fragments ≤ 4 KB compressed (a customer with
pending changes and 40 messages); broadcast to 50,000 customers in seconds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
POSTGRES = "--postgres" in sys.argv
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = f"wbok_bench_{uuid.uuid4().hex[:8]}"
if POSTGRES:
    os.environ["WBOK_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME
else:
    os.environ["WBOK_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='wbok-bench-')}/bench.sqlite3"
os.environ.update(WBOK_SECRET_KEY="bench", WBOK_SCHEDULER="0", WBOK_DB_POOL_SIZE="0")

import logging  # noqa: E402

import brotli  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from app import changes, db, messages  # noqa: E402
from app.customers import create_customer  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import settings_from_env  # noqa: E402
from app.tables.customers import Customer  # noqa: E402

FRAGMENT_BUDGET = 4 * 1024
BROADCAST = 50_000
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def setup() -> tuple[int, str]:
    await db.migrate()
    cid, pin = await create_customer("Bożena Żółtowska-Kędzierzawa", street="ul. Źródlana 15/3",
                                     postal_code="26-200", city="Końskie", email="bozena@example.pl",
                                     phone="+48 600 100 200", pin="482913")
    await changes.submit(cid, {"phone": "+48 601 202 303", "mail_street": "ul. Długa 7",
                               "mail_postal_code": "26-220", "mail_city": "Stąporków",
                               "invoice_by_email": "1"}, datetime.now(timezone.utc))
    for i in range(40):
        category = ("serwisowa", "rozliczeniowa", "handlowa")[i % 3]
        draft = messages.Draft(f"Wiadomość {i}: prace serwisowe w węźle Końskie-Źródlana", "Treść.",
                               category, "customer", customer_id=cid)
        await messages.send(draft, None, datetime.now(timezone.utc), date.today())
    return cid, pin


async def fragment_sizes(cid: int, pin: str) -> dict[str, tuple[int, int]]:
    sizes = {}
    async with AsyncTestClient(app=create_app(settings_from_env())) as client:
        await client.get("/login")
        await client.post("/login", data={"customer_id": str(cid), "pin": pin,
                                          "_csrf_token": client.cookies.get("csrftoken")})
        for path in ("/info", "/info/edit", "/messages", "/messages?category=serwisowa"):
            body = (await client.get(path, headers=PARTIAL)).content
            sizes[path] = (len(body), len(brotli.compress(body, quality=5)))
    return sizes


async def broadcast() -> tuple[float, int]:
    await Customer.raw(
        'INSERT INTO "customer" (name, pin_hash, marketing_consent) '
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {}) "
        "SELECT 'Klient ' || i, 'x', (i % 2) = 0 FROM seq", BROADCAST - 1)
    draft = messages.Draft("Przerwa techniczna", "W nocy z soboty na niedzielę.", "serwisowa", "all")
    started = time.perf_counter()
    sent = await messages.send(draft, None, datetime.now(timezone.utc), date.today())
    return time.perf_counter() - started, sent.recipients


async def main() -> int:
    logging.disable(logging.INFO)
    if POSTGRES:
        await _pg(f'CREATE DATABASE "{PG_NAME}"')
    try:
        cid, pin = await setup()
        ok = True
        print(f"engine: {'postgresql' if POSTGRES else 'sqlite'}")
        for path, (raw, compressed) in (await fragment_sizes(cid, pin)).items():
            ok &= compressed <= FRAGMENT_BUDGET
            print(f"fragment {path}: {raw} B raw, {compressed} B brotli (budget {FRAGMENT_BUDGET} B)")
        seconds, recipients = await broadcast()
        print(f"broadcast to {recipients} customers: {seconds:.2f} s (one INSERT … SELECT)")
        return 0 if ok and recipients == BROADCAST else 1
    finally:
        if POSTGRES:
            await _pg(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
