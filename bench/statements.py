"""Bench: importing 5,000-line statements in the layouts banks really send.

Budget: a 5,000-line statement ≤ 10 s (issue 14). Baseline, measured in the same run:
WBOK's own CSV layout of the same payments (the simplest parse); each layout's ratio to it
shows what encoding detection, the bank's layout and the fingerprint dedupe cost.
Run: python bench/statements.py [--lines 5000]
(WBOK_BENCH_DB=postgresql://… to measure PostgreSQL instead; the database is scratch.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="wbok-bench-statements-"))
os.environ["WBOK_DATABASE_URL"] = os.environ.get("WBOK_BENCH_DB", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ.pop("WBOK_CONFIG", None)

from app import db  # noqa: E402
from app.settings import ISP  # noqa: E402

ACCOUNT = "61109010140000071219812874"


def _rows(lines: int, customers: list[int]):
    """(i, customer, grosze, title, sender account, name): 1 in 10 anonymous (queued)."""
    for i in range(lines):
        cid = customers[i % len(customers)]
        title = f"Przelew {i} za usługi" if i % 10 == 9 else f"Opłata za internet ID Klienta {cid:04d} nr {i}"
        yield i, cid, 7999 + i % 7, title, f"{10_000_000 + i:026d}", f"ŁUKASZ ŻÓŁTOWSKI {i}"


def _money(grosze: int, sep: str = ",") -> str:
    return f"{grosze // 100}{sep}{grosze % 100:02d}"


def wbok_csv(lines, customers) -> bytes:
    out = ["data;kwota;tytul;rachunek_nadawcy;nadawca"]
    out += [f"2026-12-02;{_money(g)};{t};{a};{n}" for i, c, g, t, a, n in _rows(lines, customers)]
    return ("\n".join(out) + "\n").encode()


def mbank_iph(lines, customers) -> bytes:
    out = [":20:ST261202CYC/1", f":25:PL{ACCOUNT}", ":28C:1/1", ":60F:C261201PLN0,00"]
    for i, c, g, t, a, n in _rows(lines, customers):
        out += [f":61:2612021202CN{_money(g)}NTRFNONREF//EL261202-{i:06d}", "911-TRANSAKCJA IPH",
                f":86:911 TRANSAKCJA IPH; Z RACH.: {a}; OD: {n} UL. ŹRÓDLANA 5 ",
                f"00-950 WARSZAWA; TYT.: {t}; DATA STEMPLA: 02.12.2026; TNR: {i}.1"]
    return ("\r\n".join(out) + "\r\n-\r\n").encode("iso8859_2")


def pko_mt940(lines, customers) -> bytes:
    out = [":20:MT940", f":25:/PL{ACCOUNT}", ":28C:1", ":60F:C261201PLN0,00"]
    for i, c, g, t, a, n in _rows(lines, customers):
        out += [f":61:2612021202C{_money(g)}N152NONREF//64605005{i:08d}", "152 0", ":86:020~00152",
                f"~20{t[:27]}", f"~21{t[27:54] or chr(0xFF)}", "~22\xff", "~23\xff", f"~32{n}", "~33\xff",
                f"~38PL{a}", "~60\xff"]
    return ("\r\n".join(out) + "\r\n").encode("iso8859_2", "replace").replace(b"?", b"\xff")


def pko_csv(lines, customers) -> bytes:
    out = ['"Data operacji","Data waluty","Typ transakcji","Kwota","Waluta","Saldo po transakcji",'
           '"Opis transakcji","","","",""']
    for i, c, g, t, a, n in _rows(lines, customers):
        out.append(f'"2026-12-02","2026-12-02","Przelew na rachunek","+{_money(g, ".")}","PLN","+0.00",'
                   f'"Rachunek nadawcy: {a}","Nazwa nadawcy: {n}","Adres nadawcy: ul. Lena 4",'
                   f'"Tytuł: {t}",""')
    return ("\r\n".join(out) + "\r\n").encode("cp1250")


def mbank_csv(lines, customers) -> bytes:
    out = ["mBank S.A. Bankowość Detaliczna;", "#dla rachunków:;", f"mBiznes konto - {ACCOUNT};", "",
           "#Data operacji;#Opis operacji;#Rachunek;#Kategoria;#Kwota;#Saldo po operacji;"]
    for i, c, g, t, a, n in _rows(lines, customers):
        out.append(f'2026-12-02;"{n}, {t}        PRZELEW ZEWNĘTRZNY PRZYCHODZĄCY        {a}  ";'
                   f'"mBiznes 6110 ... 2874";"Wpływy - inne";{_money(g)} PLN;0,00 PLN;')
    return ("\r\n".join(out) + "\r\n").encode("cp1250")


LAYOUTS = [("WBOK CSV (baseline)", wbok_csv), ("mBank MT940 IPH", mbank_iph), ("PKO MT940", pko_mt940),
           ("PKO CSV", pko_csv), ("mBank CSV", mbank_csv)]


async def clear() -> None:
    from app.tables.billing import BankLine, StatementImport
    from app.tables.finances import Payment

    await Payment.delete(force=True)
    await BankLine.delete(force=True)
    await StatementImport.delete(force=True)


async def main(lines: int) -> None:
    from app.payments_import import import_statement
    from app.tables.customers import Customer

    await db.migrate()
    await db.start_pool(10)
    print(f"database: {os.environ['WBOK_DATABASE_URL']}")
    rows = await Customer.insert(*[Customer(name=f"Klient {i}", pin_hash="x") for i in range(1000)]
                                 ).returning(Customer.id)
    ids = [r["id"] for r in rows]
    print(f"statement import, {lines} lines, one transaction; budget ≤ 10 s")
    baseline = None
    for name, make in LAYOUTS:
        data = make(lines, ids)
        await clear()
        started = time.perf_counter()
        s = await import_statement(data, ISP(), filename=name)
        took = time.perf_counter() - started
        again = time.perf_counter()
        repeat = await import_statement(data, ISP())
        took_again = time.perf_counter() - again
        assert (s.matched, s.unmatched) == (lines - lines // 10, lines // 10), (name, s)
        assert repeat.duplicates == lines, (name, repeat)
        baseline = baseline or took
        verdict = "ok" if took <= 10 else "OVER BUDGET"
        print(f"  {name:<20} {took:6.2f} s  ×{took / baseline:4.2f} of baseline  (matched {s.matched}, "
              f"queued {s.unmatched}, {len(data) // 1024} KiB); again: {took_again:.2f} s, all duplicates  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    asyncio.run(main(parser.parse_args().lines))
