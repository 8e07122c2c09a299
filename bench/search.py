"""Bench: the admin customer search over 50,000 customers, by every kind of key.

    python bench/search.py                 # SQLite, 50,000 customers
    python bench/search.py --pg            # PostgreSQL: a scratch database on the local server
    python bench/search.py --customers 10000

Budget: each search answers (one page and the count) in ≤ 100 ms. Baseline, in the same run:
the customer list without a query (the newest page and a count)."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from traffic import configure  # noqa: E402  (scratch database, shared with the traffic bench)

FIRST = ["Jan", "Anna", "Piotr", "Zofia", "Łukasz", "Małgorzata", "Krzysztof", "Ewa", "Michał", "Agnieszka"]
LAST = ["Kowalski", "Nowak", "Wójcik", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak",
        "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski"]
TOWNS = ["Końskie", "Kielce", "Radom", "Żarnów", "Opoczno", "Skarżysko-Kamienna", "Przysucha", "Stąporków"]
STREETS = ["Polna", "Leśna", "Źródlana", "Słoneczna", "Krótka", "Ogrodowa", "Łąkowa", "Kościuszki"]


async def fill(n: int) -> dict[str, str]:
    """n customers with a device each; returns keys of one known customer to look for."""
    from app import db
    from app.search import search_text
    from app.tables.customers import Customer, Device

    from app.search import ensure_indexes

    rng = random.Random(7)
    await db.migrate()
    await ensure_indexes()  # as `wbok migrate` / `wbok serve` do
    batch = []
    for i in range(1, n + 1):
        last = rng.choice(LAST)
        row = {"name": f"{rng.choice(FIRST)} {last}", "street": f"ul. {rng.choice(STREETS)} {rng.randint(1, 99)}",
               "postal_code": f"{rng.randint(10, 99)}-{rng.randint(100, 999)}", "city": rng.choice(TOWNS),
               "email": f"klient{i}@example.pl", "phone": f"+48 {600 + i // 1_000_000} {i // 1000 % 1000:03d} {i % 1000:03d}",
               "nip": f"{i:010d}"}
        if i == n // 2:
            row.update(name="Jan Łęcki", street="ul. Ściegiennego 3", nip="5260250274")
        batch.append(Customer(**row, search_text=search_text(row), pin_hash="x"))
        if len(batch) == 1000:
            await Customer.insert(*batch)
            batch = []
    if batch:
        await Customer.insert(*batch)
    ids = [r["id"] for r in await Customer.select(Customer.id).order_by(Customer.id)]
    devices = [Device(customer=cid, name="Router", ip=f"10.{cid // 65536}.{cid // 256 % 256}.{cid % 256}",
                      mac=":".join(f"{(cid >> s) & 255:02x}" for s in (40, 32, 24, 16, 8, 0))) for cid in ids]
    for start in range(0, len(devices), 1000):
        await Device.insert(*devices[start:start + 1000])
    if not db.is_sqlite():
        await db.db().run_ddl("ANALYZE customer")  # what autovacuum does to a live table
        await db.db().run_ddl("ANALYZE device")
    known = ids[n // 2 - 1]
    return {"ID": str(known), "name (folded)": "lecki", "name (upper, Polish)": "ŁĘCKI", "street": "sciegiennego",
            "town (many rows)": "konskie", "phone": f"600 {n // 2 // 1000 % 1000:03d} {n // 2 % 1000:03d}",
            "e-mail": f"klient{n // 2}@example.pl", "NIP": "5260250274",
            "IP": f"10.{known // 65536}.{known // 256 % 256}.{known % 256}",
            "MAC": ":".join(f"{(known >> s) & 255:02x}" for s in (40, 32, 24, 16, 8, 0)),
            "nothing": "nikogo takiego"}


async def timed(q: str, runs: int) -> float:
    from app import search

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await search.search(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def main(n: int, runs: int) -> None:
    from app import search

    from app import db

    keys = await fill(n)
    await db.start_pool(4)  # as the served app does: no connection set-up per query
    if "--explain" in sys.argv and not db.is_sqlite():
        from app.tables.customers import Customer
        for q in ("%klient25000@example.pl%",):
            plan = await Customer.raw("EXPLAIN ANALYZE SELECT id FROM customer WHERE email ILIKE {}", q)
            print("\n".join(r["QUERY PLAN"] for r in plan))
    await timed("", 2)  # warm up
    base = await timed("", runs)
    print(f"{n} customers; baseline (list without a query): {base:.1f} ms")
    worst = 0.0
    for label, q in keys.items():
        ms = await timed(q, runs)
        found = (await search.search(q)).total
        worst = max(worst, ms)
        print(f"  {label:22} {q!r:28} {ms:7.1f} ms  ×{ms / base:5.1f}  ({found} found)")
    print(f"worst: {worst:.1f} ms (budget 100 ms) — {'ok' if worst <= 100 else 'OVER BUDGET'}")
    await db.close_pool()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--explain", action="store_true", help="PostgreSQL: print the e-mail query's plan")
    args = parser.parse_args()
    engine, cleanup = configure(args.pg)
    print(f"engine: {engine}")
    try:
        asyncio.run(main(args.customers, args.runs))
    finally:
        cleanup()
