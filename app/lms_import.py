"""LMS import — domain: take an ISP's customers, money, documents, tickets and traffic over
from an LMS database (PostgreSQL or MySQL/MariaDB), idempotently.

`import_lms(url, ...)` reads the LMS tables it needs (schema: doc/lms.pgsql of chilek/lms),
maps them onto WBOK's and writes everything in ONE transaction: a failure leaves WBOK as it
was, and `dry_run` rolls that transaction back after counting. Every imported row is
remembered in `lms_link` ("<kind>:<LMS ID>" → WBOK ID, keyed digest of the LMS row), so a
second run adds what is new, updates what changed and leaves the rest alone; an ISP can run
it nightly while it still works in LMS.

What maps onto what (LMS constants from lib/definitions.php):
- customers (+ customer_addresses/addresses, customercontacts, customerconsents): the LMS ID
  is the WBOK customer ID; deleted customers are skipped. The PIN (plain text in LMS) is
  hashed with the app's argon2 helper in a process pool over the cores, meanwhile the rest
  is written; a PIN LMS keeps hashed (newer versions) cannot be carried and is reported.
- tariffs (+ taxes), assignments with tariffid: see `map_assignment`, the one place that
  knows WBOK's assignment table.
- nodes (+ macs): devices; LMS stores IPv4 as an integer.
- documents of type 1 (invoice) and 3 (credit note) with invoicecontents: frozen invoices
  under their LMS number (numberplans.template, see `lms_number`); a number that falls in
  a WBOK series moves that series' counter past it, so WBOK's own numbering never clashes.
- cash: value < 0 is a charge, value > 0 a payment (a credit note's refund: a negative
  charge on that note); WBOK's balance (payments − charges) then equals LMS's SUM(value).
- rtqueues/rttickets/rtmessages: tickets with threads; notes (type 1) stay internal.
- stats: daily and hourly traffic aggregates, published (Statystyki shows the past).
- users (operators): nothing; operators are created fresh in WBOK.

Bad data never aborts the import: a row that breaks a rule is imported without the bad
value (a NIP with a bad check digit, an invalid e-mail or phone) or skipped (a bad or
duplicate IP, a row of a deleted customer); either way it is reported with its LMS ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from ipaddress import IPv4Address
from urllib.parse import unquote, urlsplit

from app import db
from app.changes import _clean_one
from app.i18n import WARSAW
from app.invoice_pdf import net_from_gross
from app.invoices import format_number, series_key
from app.security import hash_secret
from app.settings import ISP
from app.transfer import virtual_account

# LMS constants (lib/definitions.php).
CTYPES_COMPANY = 1
CONTACT_MOBILE, CONTACT_LANDLINE, CONTACT_EMAIL, CONTACT_DISABLED = 1, 4, 8, 16384
CCONSENT_INVOICENOTICE, CCONSENT_EINVOICE = 2, 4
CCONSENT_SMS_MARKETING, CCONSENT_MAIL_MARKETING = 9, 10
POSTAL_ADDRESS, BILLING_ADDRESS, DEFAULT_LOCATION_ADDRESS = 0, 1, 3
DOC_INVOICE, DOC_CNOTE = 1, 3
RTMESSAGE_REGULAR, RTMESSAGE_NOTE = 0, 1
DEFAULT_NUMBER_TEMPLATE = "%N/LMS/%Y"
# RT_NEW 0 → new; RT_OPEN 1, RT_SCHEDULED 4, RT_WAITING 5 → todo; the rest are closed.
RT_STATUS = {0: "new", 1: "todo", 4: "todo", 5: "todo", 2: "resolved", 3: "resolved",
             6: "resolved", 7: "resolved"}
PAYTYPES = {1: "gotówka", 2: "przelew", 3: "przelew/gotówka", 4: "karta", 5: "kompensata",
            6: "barter", 7: "umowa", 8: "zapłacono", 9: "za pobraniem", 10: "raty"}
UNUSABLE_HASH = "!lms"  # no argon2 hash: every verify fails, an operator sets a new PIN
CHUNK = 500


class LmsImportError(Exception):
    """The LMS database cannot be read (bad URL, unreachable, not an LMS schema)."""


class _DryRun(Exception):
    """Raised at the end of a dry run to roll the whole transaction back."""


# --- reading LMS ---------------------------------------------------------------------

class LmsSource:
    """A read-only connection to the LMS database; `rows(sql)` returns dicts. The SQL is
    written once for both engines (no placeholders: the only inputs are integers)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self.kind = {"postgres": "pg", "postgresql": "pg", "mysql": "mysql",
                     "mariadb": "mysql"}.get(parts.scheme)
        if self.kind is None:
            raise LmsImportError(f"unsupported LMS URL {url!r}: postgresql://… or mysql://…")
        self.parts = parts
        self._conn = None

    async def connect(self) -> None:
        p = self.parts
        try:
            if self.kind == "pg":
                import asyncpg

                self._conn = await asyncpg.connect(
                    host=p.hostname or "localhost", port=p.port or 5432,
                    user=unquote(p.username or "postgres"), password=unquote(p.password or "") or None,
                    database=p.path.lstrip("/") or "lms", timeout=10)
            else:
                import pymysql

                self._conn = await asyncio.to_thread(
                    pymysql.connect, host=p.hostname or "localhost", port=p.port or 3306,
                    user=unquote(p.username or "root"), password=unquote(p.password or ""),
                    database=p.path.lstrip("/") or "lms", charset="utf8mb4",
                    cursorclass=pymysql.cursors.DictCursor, connect_timeout=10)
        except Exception as exc:  # any driver error: one line for the operator
            raise LmsImportError(f"cannot connect to LMS ({type(exc).__name__}: {exc})") from exc

    async def rows(self, sql: str) -> list[dict]:
        try:
            if self.kind == "pg":
                return [dict(r) for r in await self._conn.fetch(sql)]
            return await asyncio.to_thread(self._mysql_rows, sql)
        except Exception as exc:
            raise LmsImportError(f"cannot read LMS ({type(exc).__name__}: {exc})") from exc

    def _mysql_rows(self, sql: str) -> list[dict]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    async def close(self) -> None:
        if self._conn is not None:
            if self.kind == "pg":
                await self._conn.close()
            else:
                self._conn.close()


# --- the report ----------------------------------------------------------------------

@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    same: int = 0

    @property
    def total(self) -> int:
        return self.new + self.changed + self.same


@dataclass
class ImportReport:
    """What an import did (or, dry, would do): per kind new/changed/unchanged, the rows
    skipped or imported without a bad value (kind, LMS ID, reason), and the balances that
    differ: (customer ID, LMS grosze, WBOK grosze)."""

    dry_run: bool = False
    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    balance_diffs: list[tuple[int, int, int]] = field(default_factory=list)
    pin_seconds: float = 0.0

    def skip(self, kind: str, lms_id, reason: str) -> None:
        self.skipped.append((kind, str(lms_id), reason))

    def warn(self, kind: str, lms_id, reason: str) -> None:
        self.warnings.append((kind, str(lms_id), reason))

    def n(self, *kinds: str) -> int:
        return sum(self.counts[k].total for k in kinds)

    def summary(self) -> str:
        balances = f"{len(self.balance_diffs)} differ" if self.balance_diffs else "ok"
        return (f"import lms: {self.n('customer')} customers, {self.n('invoice')} invoices, "
                f"{self.n('payment')} payments, {self.n('ticket')} tickets, "
                f"{len(self.skipped)} skipped, balances {balances}")

    def lines(self) -> list[str]:
        """The details above the summary: counts per kind, then every reported row."""
        out = [f"{kind}: {c.new} new, {c.changed} changed, {c.same} unchanged"
               for kind, c in self.counts.items()]
        out += [f"skipped {kind} {lms_id}: {reason}" for kind, lms_id, reason in self.skipped]
        out += [f"imported {kind} {lms_id}: {reason}" for kind, lms_id, reason in self.warnings]
        out += [f"balance differs: customer {cid} LMS {lms / 100:.2f} WBOK {wbok / 100:.2f}"
                for cid, lms, wbok in self.balance_diffs]
        return out


# --- small mappings --------------------------------------------------------------------

def inet_ntoa(value) -> str | None:
    """LMS's integer IPv4 (nodes.ipaddr) as dotted text; None for 0 or out of range."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**32:
        return None
    return str(IPv4Address(number))


def grosze(value) -> int:
    """An LMS numeric(9,2)/(12,5) in zł as integer grosze, rounded half up."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _day(timestamp) -> date | None:
    """An LMS integer time (Unix seconds) as a Warsaw date; None for 0."""
    if not timestamp:
        return None
    return datetime.fromtimestamp(int(timestamp), WARSAW).date()


def _moment(timestamp) -> datetime:
    return datetime.fromtimestamp(int(timestamp or 0), timezone.utc)


def lms_number(template: str | None, number: int, cdate: int, customer_id: int | None = None,
               extnumber: str = "") -> str:
    """A document number as LMS prints it: the number plan's template with %N (or %4N,
    zero-padded), %I (extnumber), %C (customer ID) and strftime's %Y %y %m %d of the
    issue time in Warsaw. No template: LMS's default "%N/LMS/%Y"."""
    when = datetime.fromtimestamp(int(cdate or 0), WARSAW)
    text = re.sub(r"%(\d*)N", lambda m: f"{int(number):0{m[1] or 0}d}", template or DEFAULT_NUMBER_TEMPLATE)
    text = text.replace("%I", extnumber or "").replace("%C", str(customer_id or ""))
    return re.sub(r"%([YymdjHMS])", lambda m: when.strftime("%" + m[1]), text)


def _street(row: dict) -> str:
    """"ul. Polna 12/3"; a village without streets: "Wólka 12"."""
    place = (row.get("street") or "").strip() or (row.get("city") or "").strip()
    house = (row.get("house") or "").strip()
    flat = (row.get("flat") or "").strip()
    number = house + (f"/{flat}" if flat else "")
    return " ".join(x for x in (place, number) if x)[:200]


# --- writing WBOK ----------------------------------------------------------------------

def _connection():
    return db.db().current_transaction.get().connection


async def _bulk_insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """executemany (SQLite) or COPY (PostgreSQL) on the transaction's connection."""
    if not rows:
        return
    connection = _connection()
    if db.is_sqlite():
        names, marks = ", ".join(f'"{c}"' for c in columns), ", ".join("?" for _ in columns)
        for i in range(0, len(rows), CHUNK * 10):
            await connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                                         rows[i:i + CHUNK * 10])
    else:
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))


async def _raw(sql: str, *args):
    from app.tables.lms import LmsLink

    return await LmsLink.raw(sql, *args)


async def _next_ids(table: str, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, so rows can be COPYed with their IDs and
    referenced at once. PostgreSQL: from the table's sequence; SQLite: after MAX(id),
    safe because the import holds the write lock (BEGIN IMMEDIATE) throughout."""
    if count <= 0:
        return []
    if db.is_sqlite():
        row = await _raw(f'SELECT COALESCE(MAX(id), 0) AS m FROM "{table}"')
        start = row[0]["m"] + 1
        return list(range(start, start + count))
    rows = await _raw(f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) AS id "
                      f"FROM generate_series(1, {int(count)})")
    return [r["id"] for r in rows]


def _hash_pins(pins: list[str]) -> list[str]:
    """argon2 hashes of `pins`, in a process pool over the cores (argon2 is CPU-bound and
    holds the GIL for none of it, but one process is one core)."""
    if not pins:
        return []
    workers = max(1, min(os.cpu_count() or 1, len(pins) // 50 or 1))
    if workers == 1:
        return [hash_secret(p) for p in pins]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(hash_secret, pins, chunksize=max(1, len(pins) // (workers * 8))))


@contextmanager
def _no_progress(label: str, total: int):
    yield lambda: None


class _Importer:
    def __init__(self, src: LmsSource, isp: ISP, secret_key: str, report: ImportReport,
                 since: date | None, progress, hasher: Callable[[list[str]], list[str]]) -> None:
        self.src, self.isp, self.report, self.progress = src, isp, report, progress
        self.touched: list[int] = []  # customers new or changed in this run (search_text)
        self.key = secret_key.encode()
        self.since_ts = int(datetime.combine(since, datetime.min.time(), WARSAW).timestamp()) if since else 0
        self.hasher = hasher
        self.links: dict[str, tuple[int | None, str, str]] = {}  # key → (wbok id, digest, kind)
        self.new_links: list[tuple] = []
        self.changed_links: list[tuple] = []
        self.now = datetime.now(timezone.utc)
        self._accounts: dict[int, str] = {}

    # -- links --
    def digest(self, row) -> str:
        text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    async def load_links(self) -> None:
        from app.tables.lms import LmsLink

        for r in await LmsLink.select(LmsLink.key, LmsLink.wbok_id, LmsLink.digest, LmsLink.kind):
            self.links[r["key"]] = (r["wbok_id"], r["digest"], r["kind"])

    def wbok_id(self, key: str) -> int | None:
        link = self.links.get(key)
        return link[0] if link else None

    def state(self, key: str, digest: str) -> str:
        """"new", "changed" or "same" for an LMS row."""
        link = self.links.get(key)
        if link is None:
            return "new"
        return "same" if link[1] == digest else "changed"

    def link(self, key: str, kind: str, wbok_id: int | None, digest: str) -> None:
        old = self.links.get(key)
        self.links[key] = (wbok_id, digest, kind)
        if old is None:
            self.new_links.append((key, kind, wbok_id, digest, self.now))
        else:
            self.changed_links.append((key, kind, wbok_id, digest))

    async def save_links(self) -> None:
        from app.tables.lms import LmsLink

        await _bulk_insert("lms_link", ("key", "kind", "wbok_id", "digest", "updated_at"), self.new_links)
        for key, kind, wbok_id, digest in self.changed_links:
            await LmsLink.update({LmsLink.kind: kind, LmsLink.wbok_id: wbok_id, LmsLink.digest: digest,
                                  LmsLink.updated_at: self.now}).where(LmsLink.key == key)

    def count(self, kind: str, state: str) -> None:
        setattr(self.report.counts[kind], state, getattr(self.report.counts[kind], state) + 1)

    async def read(self, label: str, sql: str) -> list[dict]:
        with self.progress(f"LMS: {label}", 1) as tick:
            rows = await self.src.rows(sql)
            tick()
        return rows

    # -- customers --
    async def customers(self) -> None:
        from app.tables.customers import Customer

        rows = await self.read("customers", "SELECT id, lastname, name, type, ten, pin, deleted, "
                               "creationdate FROM customers ORDER BY id")
        addresses = defaultdict(dict)
        for a in await self.read("addresses", "SELECT ca.customer_id, ca.type, a.street, a.house, "
                                 "a.flat, a.zip, a.city FROM customer_addresses ca "
                                 "JOIN addresses a ON a.id = ca.address_id ORDER BY ca.id"):
            addresses[a["customer_id"]].setdefault(a["type"], a)
        contacts = defaultdict(list)
        for c in await self.read("contacts", "SELECT customerid, contact, type FROM customercontacts ORDER BY id"):
            contacts[c["customerid"]].append(c)
        consents = defaultdict(set)
        for c in await self.read("consents", "SELECT customerid, type FROM customerconsents"):
            consents[c["customerid"]].add(c["type"])
        native = {r["id"] for r in await Customer.select(Customer.id)} - {
            wid for key, (wid, _, kind) in self.links.items() if kind == "customer"}
        inserts, self.pins, seen_emails = [], [], {}
        self.customer_ids: set[int] = set()
        self.created: dict[int, date | None] = {}
        with self.progress("customers", len(rows)) as tick:
            for r in rows:
                tick()
                cid = r["id"]
                key = f"customer:{cid}"
                if r["deleted"]:
                    self.report.skip("customer", cid, "deleted in LMS")
                    continue
                if cid in native:
                    self.report.skip("customer", cid, "the ID belongs to a customer created in WBOK")
                    continue
                values = self.customer_values(r, addresses.get(cid, {}), contacts.get(cid, []),
                                              consents.get(cid, set()))
                email = values["email"].lower()
                if email and email in seen_emails:
                    self.report.warn("customer", cid, f"its e-mail is also customer {seen_emails[email]}'s")
                elif email:
                    seen_emails[email] = cid
                self.customer_ids.add(cid)
                self.created[cid] = _day(r["creationdate"])
                digest = self.digest([r, values])
                state = self.state(key, digest)
                self.count("customer", state)
                if state == "same":
                    continue
                self.touched.append(cid)
                pin = str(r["pin"] or "").strip()
                if pin.startswith("$argon2"):
                    pin_hash, pin = pin, None
                elif pin.startswith("$"):
                    self.report.warn("customer", cid,
                                     "without a usable PIN (LMS keeps it hashed, not with argon2): set a new one")
                    pin_hash, pin = UNUSABLE_HASH, None
                else:
                    pin_hash = UNUSABLE_HASH
                    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
                        self.report.warn("customer", cid, "without a usable PIN (not 4–8 digits): set a new one")
                    self.pins.append((cid, pin))
                if state == "new":
                    inserts.append((cid, *values.values(), pin_hash, 0, False,
                                    _moment(r["creationdate"]) if r["creationdate"] else self.now))
                else:
                    await Customer.update({getattr(Customer, k): v for k, v in values.items()}).where(
                        Customer.id == cid)
                    if pin is None:
                        await Customer.update({Customer.pin_hash: pin_hash}).where(Customer.id == cid)
                self.link(key, "customer", cid, digest)
        columns = ("id", "name", "street", "postal_code", "city", "mail_street", "mail_postal_code",
                   "mail_city", "email", "phone", "nip", "invoice_by_email", "marketing_consent",
                   "pin_hash", "failed_logins", "blocked", "created_at")
        await _bulk_insert("customer", columns, inserts)
        if inserts and not db.is_sqlite():
            await _raw("SELECT setval(pg_get_serial_sequence('customer', 'id'), "
                       "(SELECT MAX(id) FROM customer))")

    def customer_values(self, r: dict, addresses: dict, contacts: list[dict], consents: set) -> dict:
        cid = r["id"]
        if r["type"] == CTYPES_COMPANY:
            name = (r["lastname"] or "").strip()
        else:
            name = f"{(r['name'] or '').strip()} {(r['lastname'] or '').strip()}".strip()
        main = addresses.get(BILLING_ADDRESS) or addresses.get(DEFAULT_LOCATION_ADDRESS) or {}
        post = addresses.get(POSTAL_ADDRESS) or {}

        def clean(field_name: str, text: str, what: str) -> str:
            value, error = _clean_one(field_name, text or "")
            if error:
                self.report.warn("customer", cid, f"without {what} {text!r} ({error})")
                return ""
            return value

        def contact(mask: int) -> str:
            for c in contacts:
                if c["type"] and c["type"] & mask and not c["type"] & CONTACT_DISABLED and c["contact"]:
                    return c["contact"].strip()
            return ""

        return {
            "name": (name or f"Klient {cid}")[:200],
            "street": _street(main),
            "postal_code": (main.get("zip") or "")[:10],
            "city": (main.get("city") or "")[:100],
            "mail_street": _street(post) if post else "",
            "mail_postal_code": clean("mail_postal_code", post.get("zip") or "", "the postal code") if post else "",
            "mail_city": (post.get("city") or "")[:100] if post else "",
            "email": clean("email", contact(CONTACT_EMAIL), "the e-mail"),
            "phone": clean("phone", contact(CONTACT_MOBILE | CONTACT_LANDLINE), "the phone"),
            "nip": clean("nip", r["ten"] or "", "the NIP"),
            "invoice_by_email": bool(consents & {CCONSENT_INVOICENOTICE, CCONSENT_EINVOICE}),
            "marketing_consent": bool(consents & {CCONSENT_MAIL_MARKETING, CCONSENT_SMS_MARKETING}),
        }

    def start_hashing(self, loop) -> asyncio.Future | None:
        if self.report.dry_run or not self.pins:
            return None
        import time

        started = time.perf_counter()

        def run():
            hashes = self.hasher([pin for _, pin in self.pins])
            self.report.pin_seconds = time.perf_counter() - started
            return hashes

        return loop.run_in_executor(None, run)

    async def store_pins(self, future) -> None:
        if future is None:
            return
        hashes = await future
        pairs = [(cid, h) for (cid, _), h in zip(self.pins, hashes)]
        with self.progress("PIN", len(pairs)) as tick:
            for i in range(0, len(pairs), CHUNK):
                chunk = pairs[i:i + CHUNK]
                values = ", ".join("({}, {})" if db.is_sqlite() else "({}::integer, {}::text)" for _ in chunk)
                args = [x for pair in chunk for x in pair]
                sql = (f"UPDATE customer SET pin_hash = v.h FROM (VALUES {values}) AS v(i, h) "
                       "WHERE customer.id = v.i")
                if db.is_sqlite():
                    sql = (f"WITH v(i, h) AS (VALUES {values}) UPDATE customer SET pin_hash = "
                           "(SELECT h FROM v WHERE v.i = customer.id) WHERE id IN (SELECT i FROM v)")
                await _raw(sql, *args)
                for _ in chunk:
                    tick()

    # -- tariffs and assignments --
    async def tariffs(self) -> None:
        from app.tables.tariffs import Tariff

        rows = await self.read("tariffs", "SELECT t.id, t.name, t.value, t.downrate, t.downceil, "
                               "t.uprate, t.upceil, x.value AS tax FROM tariffs t "
                               "LEFT JOIN taxes x ON x.id = t.taxid ORDER BY t.id")
        taken = {r["name"]: r["id"] for r in await Tariff.select(Tariff.id, Tariff.name)}
        with self.progress("tariffs", len(rows)) as tick:
            for r in rows:
                tick()
                key = f"tariff:{r['id']}"
                mine = self.wbok_id(key)
                name = (r["name"] or f"Taryfa {r['id']}").strip()[:100]
                if name in taken and taken[name] != mine:
                    name = f"{name[:85]} (LMS {r['id']})"
                values = {"name": name, "price": grosze(r["value"]),
                          "down_mbit": max(r["downceil"] or 0, r["downrate"] or 0) // 1000,
                          "up_mbit": max(r["upceil"] or 0, r["uprate"] or 0) // 1000,
                          "vat": int(Decimal(str(r["tax"] or 0)))}
                digest = self.digest(values)
                state = self.state(key, digest)
                self.count("tariff", state)
                if state == "new":
                    rows_ = await Tariff.insert(Tariff(**values)).returning(Tariff.id)
                    mine = rows_[0]["id"]
                elif state == "changed":
                    await Tariff.update({getattr(Tariff, k): v for k, v in values.items()}).where(
                        Tariff.id == mine)
                taken[name] = mine
                if state != "same":
                    self.link(key, "tariff", mine, digest)

    def map_assignment(self, r: dict) -> dict | None:
        """One LMS assignment as WBOK's Assignment row (the one place that knows it; point
        it at the contract model's table when that lands), or None when it is not a
        tariff of an imported customer. LMS's dateto is the last moment; 0 means open."""
        tariff = self.wbok_id(f"tariff:{r['tariffid']}")
        if tariff is None or r["customerid"] not in self.customer_ids:
            return None
        start = _day(r["datefrom"]) or self.created.get(r["customerid"]) or self.now.date()
        end = _day(r["dateto"])
        return {"customer": r["customerid"], "tariff": tariff, "start": start,
                "end": end if end is None or end >= start else start,
                "discount_percent": min(100, max(0, round(float(r.get("pdiscount") or 0)))),
                "discount_amount": max(0, round(float(r.get("vdiscount") or 0) * 100))}

    async def assignments(self) -> None:
        from app.tables.tariffs import Assignment

        rows = await self.read("assignments", "SELECT id, tariffid, customerid, at, datefrom, dateto, "
                               "suspended, pdiscount, vdiscount FROM assignments WHERE tariffid IS NOT NULL ORDER BY id")
        ids = iter(await _next_ids("assignment", sum(1 for r in rows if f"assignment:{r['id']}" not in self.links)))
        inserts = []
        with self.progress("assignments", len(rows)) as tick:
            for r in rows:
                tick()
                if r["suspended"] and r["customerid"] in self.customer_ids:
                    self.report.skip("assignment", r["id"], "suspended in LMS")
                    continue
                values = self.map_assignment(r)
                if values is None:
                    if r["customerid"] in self.customer_ids:
                        self.report.skip("assignment", r["id"], "its tariff was not imported")
                    continue
                key = f"assignment:{r['id']}"
                digest = self.digest(values)
                state = self.state(key, digest)
                self.count("assignment", state)
                mine = self.wbok_id(key)
                if state == "new":
                    mine = next(ids)
                    inserts.append((mine, *values.values()))
                elif state == "changed":
                    await Assignment.update({getattr(Assignment, k): v for k, v in values.items()}).where(
                        Assignment.id == mine)
                if state != "same":
                    self.link(key, "assignment", mine, digest)
        await _bulk_insert("assignment", ("id", "customer", "tariff", "start", "end", "discount_percent",
                                          "discount_amount"), inserts)

    # -- devices --
    async def nodes(self) -> None:
        from app.tables.customers import Device

        rows = await self.read("nodes", "SELECT id, name, ipaddr, ownerid FROM nodes ORDER BY id")
        macs = {}
        for m in await self.read("macs", "SELECT nodeid, mac FROM macs ORDER BY id"):
            macs.setdefault(m["nodeid"], m["mac"])
        ips = {r["ip"]: r["id"] for r in await Device.select(Device.id, Device.ip)}
        inserts = []
        ids = iter(await _next_ids("device", sum(1 for r in rows if f"node:{r['id']}" not in self.links)))
        with self.progress("nodes", len(rows)) as tick:
            for r in rows:
                tick()
                key = f"node:{r['id']}"
                mine = self.wbok_id(key)
                if r["ownerid"] not in self.customer_ids:
                    if key not in self.links:
                        next(ids)
                    if r["ownerid"] is not None:
                        self.report.skip("node", r["id"], f"its customer {r['ownerid']} is not imported")
                    continue
                ip = inet_ntoa(r["ipaddr"])
                if ip is None or (ip in ips and ips[ip] != mine):
                    if key not in self.links:
                        next(ids)
                    self.report.skip("node", r["id"], f"invalid IP {r['ipaddr']}" if ip is None
                                     else f"IP {ip} is another device's")
                    continue
                mac = (macs.get(r["id"]) or "").upper()[:17]
                values = {"customer": r["ownerid"], "name": (r["name"] or ip)[:100], "ip": ip, "mac": mac}
                digest = self.digest(values)
                state = self.state(key, digest)
                self.count("node", state)
                if state == "new":
                    mine = next(ids)
                    inserts.append((mine, *values.values(), self.now))
                elif state == "changed":
                    await Device.update({getattr(Device, k): v for k, v in values.items()}).where(
                        Device.id == mine)
                ips[ip] = mine
                if state != "same":
                    self.link(key, "node", mine, digest)
        await _bulk_insert("device", ("id", "customer", "name", "ip", "mac", "created_at"), inserts)

    # -- invoices --
    async def invoices(self) -> None:
        from app.tables.finances import Invoice

        since = f" AND d.cdate >= {self.since_ts}" if self.since_ts else ""
        docs = await self.read("documents", "SELECT d.id, d.type, d.number, d.cdate, d.sdate, d.paytime, "
                               "d.paytype, d.customerid, d.name, d.address, d.zip, d.city, d.ten, "
                               "d.div_name, d.div_address, d.div_zip, d.div_city, d.div_ten, d.div_bank, "
                               "d.extnumber, d.fullnumber, d.reference, d.cancelled, n.template FROM documents d "
                               "LEFT JOIN numberplans n ON n.id = d.numberplanid "
                               f"WHERE d.type IN ({DOC_INVOICE}, {DOC_CNOTE}){since} ORDER BY d.id")
        lines = defaultdict(list)
        for c in await self.read("invoicecontents", "SELECT c.docid, c.itemid, c.value, c.count, c.content, "
                                 "c.description, x.value AS tax FROM invoicecontents c "
                                 "JOIN documents d ON d.id = c.docid LEFT JOIN taxes x ON x.id = c.taxid "
                                 f"WHERE d.type IN ({DOC_INVOICE}, {DOC_CNOTE}){since} ORDER BY c.docid, c.itemid"):
            lines[c["docid"]].append(c)
        numbers = {r["number"]: r["id"] for r in await Invoice.select(Invoice.id, Invoice.number)}
        self.cnotes = {int(k.split(":")[1]) for k, (_, _, kind) in self.links.items() if kind == "cnote"}
        todo = [d for d in docs if f"invoice:{d['id']}" not in self.links]
        ids = iter(await _next_ids("invoice", len(todo)))
        line_ids = iter(await _next_ids("invoice_line", sum(len(lines[d["id"]]) for d in todo)))
        heads, body, counters, billed = [], [], {}, []
        with self.progress("invoices", len(docs)) as tick:
            for d in docs:
                tick()
                key = f"invoice:{d['id']}"
                if d["customerid"] not in self.customer_ids:
                    if key not in self.links:
                        next(ids)
                        [next(line_ids) for _ in lines[d["id"]]]
                    self.report.skip("invoice", d["id"], f"its customer {d['customerid']} is not imported")
                    continue
                if d["cancelled"] and key not in self.links:
                    next(ids)
                    [next(line_ids) for _ in lines[d["id"]]]
                    self.report.skip("invoice", d["id"], "cancelled in LMS")
                    continue
                digest = self.digest([d, lines[d["id"]]])
                state = self.state(key, digest)
                if state == "changed":
                    # An issued invoice never changes: WBOK keeps the copy it took.
                    self.report.warn("invoice", d["id"], "kept as first imported; an issued invoice never changes")
                    state = "same"
                if state == "same":
                    self.count("invoice", "same")
                    continue
                head, rows = self.invoice_values(d, lines[d["id"]])
                mine = next(ids)
                row_ids = [next(line_ids) for _ in rows]
                if head["number"] in numbers:
                    self.report.skip("invoice", d["id"], f"number {head['number']} is taken in WBOK")
                    self.link(key, "invoice", None, digest)
                    continue
                numbers[head["number"]] = mine
                self.count("invoice", "new")
                series = series_key(self.isp.invoice_series, head["issue_date"])
                if format_number(series, d["number"]) == head["number"]:
                    head["series"], head["seq"] = series, d["number"]
                    counters[series] = max(counters.get(series, 0), d["number"])
                heads.append((mine, *head.values(), self.now))
                body += [(rid, mine, *line) for rid, line in zip(row_ids, rows)]
                if d["type"] == DOC_CNOTE:
                    self.cnotes.add(d["id"])
                elif head["sale_date"]:
                    period = f"{head['sale_date']:%Y-%m}"
                    billed.append((f"{period}:{d['customerid']}", period, d["customerid"], mine, head["total_gross"]))
                self.link(key, "cnote" if d["type"] == DOC_CNOTE else "invoice", mine, digest)
        columns = ("id", "number", "series", "seq", "customer", "issue_date", "sale_date", "due_date",
                   "seller_name", "seller_address", "seller_nip", "buyer_name", "buyer_address",
                   "buyer_nip", "bank_account", "bank_name", "payment_method", "total_net", "total_vat",
                   "total_gross", "created_at")
        await _bulk_insert("invoice", columns, heads)
        await _bulk_insert("invoice_line", ("id", "invoice", "position", "description", "quantity",
                                            "unit", "gross", "vat_rate"), body)
        await self.bump_counters(counters)
        await self.mark_billed(billed)

    def account(self, customer_id: int) -> str:
        """The customer's virtual account (an IBAN check per call: kept per customer)."""
        if customer_id not in self._accounts:
            self._accounts[customer_id] = virtual_account(self.isp, customer_id)
        return self._accounts[customer_id]

    def invoice_values(self, d: dict, contents: list[dict]) -> tuple[dict, list[tuple]]:
        number = (d["fullnumber"] or "").strip() or lms_number(
            d["template"], d["number"], d["cdate"], d["customerid"], d["extnumber"] or "")
        issue = _day(d["cdate"])
        rows = []
        for pos, c in enumerate(contents, start=1):
            count = Decimal(str(c["count"] or 0))
            text = (c["description"] or "").strip() or "Usługa"
            quantity = int(count) if count == count.to_integral_value() and count > 0 else 1
            if quantity != count:
                text = f"{text} ({count.normalize():f} {c['content'] or ''})".strip()
            gross = grosze(Decimal(str(c["value"])) * count)
            rows.append((pos, text[:200], quantity, (c["content"] or "szt.")[:20], gross,
                         int(Decimal(str(c["tax"] or 0)))))
        total = sum(r[4] for r in rows)
        net = sum(net_from_gross(r[4], r[5]) for r in rows)
        town = " ".join(x for x in (d["zip"] or "", d["city"] or "") if x)
        div_town = " ".join(x for x in (d["div_zip"] or "", d["div_city"] or "") if x)
        head = {
            "number": number[:60], "series": "lms", "seq": int(d["number"]), "customer": d["customerid"],
            "issue_date": issue, "sale_date": _day(d["sdate"]) or issue,
            "due_date": issue + timedelta(days=max(0, int(d["paytime"] or 0))),
            "seller_name": (d["div_name"] or self.isp.name)[:200],
            "seller_address": (", ".join(x for x in (d["div_address"], div_town) if x) or self.isp.address)[:300],
            "seller_nip": re.sub(r"\D", "", d["div_ten"] or "")[:13] or self.isp.nip,
            "buyer_name": (d["name"] or "")[:200],
            "buyer_address": ", ".join(x for x in (d["address"] or "", town) if x)[:300],
            "buyer_nip": re.sub(r"[^0-9A-Za-z]", "", d["ten"] or "")[:13],
            "bank_account": self.account(d["customerid"]),
            "bank_name": (d["div_bank"] or self.isp.bank_name or "")[:100],
            "payment_method": PAYTYPES.get(d["paytype"], "przelew"),
            "total_net": net, "total_vat": total - net, "total_gross": total,
        }
        return head, rows

    async def bump_counters(self, counters: dict[str, int]) -> None:
        """Move each WBOK series past the LMS numbers that fall in it (never back)."""
        bigger = "MAX" if db.is_sqlite() else "GREATEST"
        for series, seq in counters.items():
            await _raw('INSERT INTO invoice_counter (series, last_seq) VALUES ({}, {}) '
                       f'ON CONFLICT (series) DO UPDATE SET last_seq = {bigger}(invoice_counter.last_seq, '
                       'excluded.last_seq)', series, seq)

    async def mark_billed(self, billed: list[tuple]) -> None:
        """A month LMS invoiced is billed: WBOK's monthly run must not bill it again."""
        first = list({key: (key, p, c, i, t, self.now) for key, p, c, i, t in reversed(billed)}.values())
        for i in range(0, len(first), CHUNK):
            chunk = first[i:i + CHUNK]
            values = ", ".join("({}, {}, {}, {}, {}, {})" for _ in chunk)
            await _raw("INSERT INTO billed_month (key, period, customer, invoice, total, created_at) "
                       f"VALUES {values} ON CONFLICT (key) DO NOTHING", *[x for row in chunk for x in row])
        await self.mark_assignments_billed(first)

    async def mark_assignments_billed(self, billed: list[tuple]) -> None:
        """Billing is idempotent per (assignment, month) (app/billing.py): every assignment of
        a customer that runs in a month LMS invoiced gets that month's marker, so WBOK never
        bills it a second time."""
        from app.billing import month_end, parse_month
        from app.tables.billing import BilledAssignment
        from app.tables.tariffs import Assignment

        customers = list({c for _, _, c, _, _, _ in billed})
        running: dict[int, list[dict]] = {}
        for i in range(0, len(customers), CHUNK):
            for a in await Assignment.select(Assignment.id, Assignment.customer, Assignment.start,
                                             Assignment.end).where(
                    Assignment.customer.is_in(customers[i:i + CHUNK])):
                running.setdefault(a["customer"], []).append(a)
        markers = []
        for _, period, customer, invoice, _, _ in billed:
            first = parse_month(period)
            last = month_end(first)
            for a in running.get(customer, []):
                if a["start"] <= last and (a["end"] is None or a["end"] >= first):
                    markers.append(BilledAssignment(key=f"{period}:{a['id']}", period=period,
                                                    assignment=a["id"], customer=customer, invoice=invoice))
        for i in range(0, len(markers), CHUNK):
            await BilledAssignment.insert(*markers[i:i + CHUNK]).on_conflict(action="DO NOTHING")

    # -- cash --
    async def cash(self) -> None:
        from app.tables.finances import Charge, Payment

        since = f" WHERE time >= {self.since_ts}" if self.since_ts else ""
        rows = await self.read("cash", "SELECT id, time, value, customerid, docid, comment "
                               f"FROM cash{since} ORDER BY id")
        todo = []  # (key, kind, row without its ID, digest): IDs are drawn once all are known
        with self.progress("cash", len(rows)) as tick:
            for r in rows:
                tick()
                key = f"cash:{r['id']}"
                if r["customerid"] not in self.customer_ids:
                    if r["customerid"] is not None:
                        self.report.skip("cash", r["id"], f"its customer {r['customerid']} is not imported")
                    continue
                amount = grosze(r["value"])
                if amount == 0:
                    continue
                invoice = self.wbok_id(f"invoice:{r['docid']}") if r["docid"] else None
                kind = "payment" if amount > 0 and r["docid"] not in self.cnotes else "charge"
                when = _day(r["time"]) or self.now.date()
                text = " ".join((r["comment"] or "").split())[:200]
                digest = self.digest([r, invoice])
                state = self.state(key, digest)
                self.count(kind, state)
                if state == "same":
                    continue
                if state == "changed":
                    old_id, _, old_kind = self.links[key]
                    table = Payment if old_kind == "payment" else Charge
                    await table.delete().where(table.id == old_id)
                if kind == "payment":
                    row = (r["customerid"], when, text or "Wpłata", amount, "lms", f"lms:{r['id']}", self.now)
                else:
                    row = (r["customerid"], when, text or "Opłata", -amount, invoice, self.now)
                todo.append((key, kind, row, digest))
        ids = {kind: iter(await _next_ids(kind, sum(1 for t in todo if t[1] == kind)))
               for kind in ("charge", "payment")}
        charges, payments = [], []
        for key, kind, row, digest in todo:
            mine = next(ids[kind])
            (payments if kind == "payment" else charges).append((mine, *row))
            self.link(key, kind, mine, digest)
        await _bulk_insert("charge", ("id", "customer", "date", "description", "amount", "invoice",
                                      "created_at"), charges)
        await _bulk_insert("payment", ("id", "customer", "date", "title", "amount", "source", "reference",
                                       "created_at"), payments)

    # -- helpdesk --
    @staticmethod
    def queue_for(name: str) -> str:
        text = (name or "").lower()
        if any(w in text for w in ("tech", "serw", "awar", "sie", "net")):
            return "technical"
        if any(w in text for w in ("fin", "bill", "rozlicz", "płat", "plat", "księg", "faktur")):
            return "billing"
        return "office"

    async def tickets(self) -> None:
        from app.tables.helpdesk import Ticket, TicketMessage

        queues = {q["id"]: self.queue_for(q["name"])
                  for q in await self.read("rtqueues", "SELECT id, name FROM rtqueues")}
        tickets = await self.read("rttickets", "SELECT id, queueid, customerid, subject, state, createtime, "
                                  "deleted FROM rttickets ORDER BY id")
        since = f" AND createtime >= {self.since_ts}" if self.since_ts else ""
        messages = defaultdict(list)
        for m in await self.read("rtmessages", "SELECT id, ticketid, customerid, userid, body, createtime, "
                                 f"type FROM rtmessages WHERE deleted = 0{since} ORDER BY id"):
            messages[m["ticketid"]].append(m)
        with self.progress("tickets", len(tickets)) as tick:
            for t in tickets:
                tick()
                key = f"ticket:{t['id']}"
                if t["deleted"] or t["customerid"] not in self.customer_ids:
                    if not t["deleted"] and t["customerid"] is not None:
                        self.report.skip("ticket", t["id"], f"its customer {t['customerid']} is not imported")
                    continue
                thread = messages.get(t["id"], [])
                last = max([t["createtime"] or 0] + [m["createtime"] or 0 for m in thread])
                values = {"customer": t["customerid"], "queue": queues.get(t["queueid"], "office"),
                          "subject": (t["subject"] or "Zgłoszenie")[:100],
                          "status": RT_STATUS.get(t["state"], "todo")}
                digest = self.digest(values)
                state = self.state(key, digest)
                self.count("ticket", state)
                mine = self.wbok_id(key)
                if state == "new":
                    mine = (await Ticket.insert(Ticket(**values, created_at=_moment(t["createtime"]),
                                                       last_activity_at=_moment(last))).returning(Ticket.id))[0]["id"]
                elif state == "changed":
                    await Ticket.update({getattr(Ticket, k): v for k, v in values.items()}).where(Ticket.id == mine)
                if state != "same":
                    self.link(key, "ticket", mine, digest)
                added = []
                for m in thread:
                    mkey = f"message:{m['id']}"
                    if mkey in self.links:
                        self.count("message", "same")
                        continue
                    if m["type"] not in (RTMESSAGE_REGULAR, RTMESSAGE_NOTE) or not (m["body"] or "").strip():
                        continue  # LMS's change records (owner, queue, state…), not messages
                    author = "customer" if m["customerid"] and not m["userid"] else "operator"
                    self.count("message", "new")
                    added.append((mkey, TicketMessage(ticket=mine, author=author, body=m["body"].strip(),
                                                      internal=m["type"] == RTMESSAGE_NOTE,
                                                      created_at=_moment(m["createtime"]))))
                if added:
                    rows = await TicketMessage.insert(*[x for _, x in added]).returning(TicketMessage.id)
                    for (mkey, _), row in zip(added, rows):
                        self.link(mkey, "message", row["id"], "")
                    if state == "same":
                        await Ticket.update({Ticket.last_activity_at: _moment(last)}).where(Ticket.id == mine)

    # -- traffic --
    async def stats(self) -> None:
        from app import traffic

        since = f" WHERE dt >= {self.since_ts}" if self.since_ts else ""
        rows = await self.read("stats", f"SELECT nodeid, dt, upload, download FROM stats{since}")
        daily, hourly = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
        devices = set()
        for r in rows:
            device = self.wbok_id(f"node:{r['nodeid']}")
            if device is None:
                continue
            devices.add(device)
            moment = _moment(r["dt"])
            day = moment.astimezone(WARSAW).date()
            hour = moment.replace(minute=0, second=0, microsecond=0)
            for bucket in (daily[(device, day)], hourly[(device, hour)]):
                bucket[0] += int(r["upload"] or 0)
                bucket[1] += int(r["download"] or 0)
        owner = {}
        from app.tables.customers import Device

        for d in await Device.select(Device.id, Device.customer).where(Device.id.is_in(list(devices) or [0])):
            owner[d["id"]] = d["customer"]
        today = datetime.now(WARSAW).date()
        new_daily, new_hourly, touched, replaced = [], [], set(), set()
        with self.progress("stats", len(daily)) as tick:
            for (device, day), (up, down) in sorted(daily.items()):
                tick()
                if day >= today or device not in owner:
                    continue  # a day is published once it is over
                key = f"stats:{device}:{day}"
                digest = self.digest([up, down])
                state = self.state(key, digest)
                self.count("stats", state)
                if state == "same":
                    continue
                touched.add((device, day))
                if state == "changed":
                    replaced.add((device, day))
                new_daily.append((owner[device], device, day, up, down))
                self.link(key, "stats", device, digest)
        if not new_daily:
            return
        for device, day in replaced:
            start = traffic.warsaw_midnight(day)
            await _raw("DELETE FROM traffic_daily WHERE device = {} AND day = {}", device, day)
            await _raw("DELETE FROM traffic_hourly WHERE device = {} AND hour >= {} AND hour < {}",
                       device, start, traffic.warsaw_midnight(day + timedelta(days=1)))
        for (device, hour), (up, down) in hourly.items():
            if (device, hour.astimezone(WARSAW).date()) in touched:
                new_hourly.append((owner[device], device, hour, up, down))
        stamp = await traffic.publication()
        last = max(day for _, _, day, _, _ in new_daily)
        if stamp and stamp["day"] > last:
            last = stamp["day"]
        await traffic.import_aggregates(new_hourly, new_daily, last, self.now)

    # -- the balance check --
    async def check_balances(self) -> None:
        lms = {r["customerid"]: grosze(r["total"]) for r in await self.read(
            "balances", "SELECT customerid, SUM(value) AS total FROM cash WHERE customerid IS NOT NULL "
            "GROUP BY customerid")}
        wbok = defaultdict(int)
        for r in await _raw("SELECT customer, SUM(amount) AS total FROM payment GROUP BY customer"):
            wbok[r["customer"]] += int(r["total"] or 0)
        for r in await _raw("SELECT customer, SUM(amount) AS total FROM charge GROUP BY customer"):
            wbok[r["customer"]] -= int(r["total"] or 0)
        for cid in sorted(self.customer_ids):
            if lms.get(cid, 0) != wbok.get(cid, 0):
                self.report.balance_diffs.append((cid, lms.get(cid, 0), wbok.get(cid, 0)))


async def import_lms(url: str, isp: ISP, secret_key: str, *, dry_run: bool = False,
                     since: date | None = None, progress=None,
                     hasher: Callable[[list[str]], list[str]] = _hash_pins) -> ImportReport:
    """Import (or, with `dry_run`, only count) everything from the LMS database at `url`.

    One write transaction: all or nothing; a dry run rolls back after the balance check.
    `since` limits the time-stamped tables (documents, cash, ticket messages, traffic) to
    what LMS recorded from that Warsaw day on; customers, tariffs, assignments and devices
    are always compared whole (they are small). `progress(label, total)` is a context
    manager yielding a tick (the CLI's progress bars). `hasher` turns PINs into argon2
    hashes (default: the app's helper in a process pool); PINs are never stored or
    printed in plain text, and a dry run hashes none."""
    report = ImportReport(dry_run=dry_run)
    src = LmsSource(url)
    await src.connect()
    importer = _Importer(src, isp, secret_key, report, since, progress or _no_progress, hasher)
    loop = asyncio.get_running_loop()
    try:
        async with db.transaction():
            await importer.load_links()
            await importer.customers()
            hashing = importer.start_hashing(loop)
            try:
                await importer.tariffs()
                await importer.assignments()
                await importer.nodes()
                await importer.invoices()
                await importer.cash()
                await importer.tickets()
                await importer.stats()
            finally:
                if hashing is not None and not hashing.done():
                    await asyncio.wait([hashing])
            await importer.store_pins(hashing)
            await importer.save_links()
            from app import search

            await search.refresh(importer.touched)  # new and changed customers are found by name
            await importer.check_balances()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        await src.close()
    return report


def summary_lines(report: ImportReport) -> Iterable[str]:
    """What the CLI prints: the details, then the one summary line (last, for scripts)."""
    yield from report.lines()
    if report.dry_run:
        yield "dry run: nothing was written; the counts are what a real run would do"
    yield report.summary()
