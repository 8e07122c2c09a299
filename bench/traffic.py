"""Bench: the nightly traffic publication (N customers × 288 samples), ingest of 10,000 lines,
and the compressed size of a /stats fragment.

    python bench/traffic.py                       # SQLite, 1k and 10k customers
    python bench/traffic.py --sizes 1000,10000,50000
    python bench/traffic.py --pg                  # PostgreSQL: a scratch database on the server
                                                  # named by WBOK_DATABASE_URL (default local)
Budget: 10,000 customers × 288 samples published in ≤ 60 s on SQLite; fragment ≤ 3 KB."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logging

logging.getLogger("httpx").setLevel(logging.WARNING)
DAY = date(2026, 11, 10)
SLOTS = 288  # one sample every 5 minutes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="customer counts, comma-separated")
    parser.add_argument("--pg", action="store_true", help="measure PostgreSQL instead of SQLite")
    parser.add_argument("--history", type=int, default=0,
                        help="days of daily aggregates already published before DAY (year/all cost)")
    return parser.parse_args()


def configure(pg: bool) -> tuple[str, callable]:
    """Point WBOK_DATABASE_URL at a scratch database before the app is imported."""
    if not pg:
        path = Path(tempfile.mkdtemp(prefix="wbok-bench-")) / "bench.sqlite3"
        os.environ["WBOK_DATABASE_URL"] = f"sqlite:///{path}"
        return "sqlite", lambda: None
    import asyncpg

    server = os.environ.get("WBOK_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    if not server.startswith("postgres"):
        server = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"wbok_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    os.environ["WBOK_DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name
    return "postgresql", lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def wipe() -> None:
    from app.tables.piccolo_app import APP_CONFIG
    from app import db

    for table in APP_CONFIG.table_classes:
        await db.db().run_ddl(f'DELETE FROM "{table._meta.tablename}"')


def ip(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


async def people(n: int) -> None:
    """n customers with one device each (PINs unusable: nobody logs in as them)."""
    from app import db, traffic

    async with db.transaction():
        await traffic._bulk_insert("customer", ("id", "name", "pin_hash"),
                                   [(i, f"Klient {i}", "x") for i in range(1, n + 1)])
        await traffic._bulk_insert("device", ("id", "customer", "name", "ip", "mac"),
                                   [(i, i, "Router", ip(i), "") for i in range(1, n + 1)])
    if not db.is_sqlite():  # explicit ids: move the sequences past them
        for table in ("customer", "device"):
            await db.db().run_ddl(f"SELECT setval('{table}_id_seq', {n + 1000})")


async def fill(n: int) -> None:
    """n customers with one device each, and SLOTS samples per device on DAY."""
    from app import db, traffic

    await people(n)
    start = traffic.warsaw_midnight(DAY)
    now = datetime.now(timezone.utc)
    for slot in range(SLOTS):
        at = start + timedelta(minutes=5 * slot + 2)
        async with db.transaction():
            await traffic._bulk_insert(
                "traffic_sample", ("customer", "device", "at", "upload", "download"),
                [(i, i, at, 1000 + i, 50_000 + slot) for i in range(1, n + 1)])
    if not db.is_sqlite():
        await db.db().run_ddl("ANALYZE")
    print(f"  setup: {n * SLOTS:,} samples in {(datetime.now(timezone.utc) - now).total_seconds():.1f} s")


async def history(n: int, days: int) -> None:
    """`days` of daily aggregates before DAY, as if published on earlier nights."""
    from app import db, traffic

    for back in range(days, 0, -1):
        async with db.transaction():
            await traffic._bulk_insert("traffic_daily", ("customer", "device", "day", "upload", "download"),
                                       [(i, i, DAY - timedelta(days=back), 10**8, 10**9) for i in range(1, n + 1)])
    if days:
        began = time.perf_counter()
        await traffic.import_aggregates([], [], DAY - timedelta(days=1), datetime.now(timezone.utc))
        print(f"  history: {n * days:,} daily rows, published by a full recount in "
              f"{time.perf_counter() - began:.2f} s")


async def measure_publish(n: int, history_days: int = 0) -> float:
    from app import traffic

    await wipe()
    await fill(n)
    await history(n, history_days)
    began = time.perf_counter()
    result = await traffic.publish(DAY, now=traffic.warsaw_midnight(DAY + timedelta(days=1)) + timedelta(hours=2))
    elapsed = time.perf_counter() - began
    assert result.days == [DAY] and result.rows == n * SLOTS, result
    from app.tables.traffic import TrafficPublished

    row = await TrafficPublished.select().where((TrafficPublished.customer == 1)
                                                & (TrafficPublished.period == "day")).first()
    assert row["download"] == sum(50_000 + s for s in range(SLOTS)), row
    return elapsed


async def measure_ingest(n_lines: int = 10_000) -> float:
    from app import traffic

    text = "\n".join(f"{ip(i)} {1000 + i} {50_000 + i}" for i in range(1, n_lines + 1))
    at = traffic.warsaw_midnight(DAY + timedelta(days=1)) + timedelta(hours=3)
    began = time.perf_counter()
    result = await traffic.ingest(text, at)
    elapsed = time.perf_counter() - began
    assert result.stored == n_lines, result
    return elapsed


async def measure_fragment() -> tuple[int, int]:
    """Bytes of the /stats?period=year fragment for a customer with 3 devices, raw and brotli."""
    import brotli
    from litestar.testing import AsyncTestClient

    from app import traffic
    from app.customers import create_customer
    from app.main import create_app
    from app.settings import settings_from_env
    from app.tables.customers import Device

    customer_id, pin = await create_customer("Żaneta Wróbel-Kościuszko", ip="10.250.0.1", pin="482913")
    for k, name in enumerate(["Laptop Łukasza", "Telewizor w salonie"], 2):
        await Device.insert(Device(customer=customer_id, name=name, ip=f"10.250.0.{k}"))
    for day in range(3):
        at = traffic.warsaw_midnight(DAY + timedelta(days=2 + day)) + timedelta(hours=23, minutes=30)
        await traffic.ingest("\n".join(f"10.250.0.{k} {k * 10**9} {k * 7 * 10**9}" for k in (1, 2, 3)), at)
    await traffic.publish(DAY + timedelta(days=4), now=datetime.now(timezone.utc))
    app = create_app(settings_from_env(dict(os.environ, WBOK_SCHEDULER="0", WBOK_DB_POOL_SIZE="0")))
    async with AsyncTestClient(app=app) as client:
        await client.get("/login")
        await client.post("/login", data={"customer_id": str(customer_id), "pin": pin,
                                          "_csrf_token": client.cookies.get("csrftoken")})
        response = await client.get("/stats?period=year", headers={
            "HX-Request": "true", "HX-Request-Type": "partial", "Accept-Encoding": "br"})
        assert response.status_code == 200 and 'id="stats-traffic"' in response.text
        body = response.content
    return len(body), len(brotli.compress(body, quality=5))


def main() -> None:
    args = parse_args()
    engine, cleanup = configure(args.pg)
    try:
        asyncio.run(run(args, engine))
    finally:
        cleanup()


async def run(args: argparse.Namespace, engine: str) -> None:
    if True:
        from app import db

        await db.migrate()
        print(f"engine: {engine}")
        for n in [int(s) for s in args.sizes.split(",")]:
            print(f"publication, {n:,} customers × {SLOTS} samples:")
            seconds = await measure_publish(n, args.history)
            budget = "  (budget ≤ 60 s)" if n == 10_000 else ""
            print(f"  publish: {seconds:.2f} s{budget}")
        await wipe()
        await people(10_000)
        print(f"ingest, 10,000 lines: {await measure_ingest():.3f} s (budget: well under 300 s, every 5 minutes)")
        await wipe()
        raw, compressed = await measure_fragment()
        print(f"/stats?period=year fragment, 3 devices: {raw} B, {compressed} B brotli (budget ≤ 3072 B)")


if __name__ == "__main__":
    main()
