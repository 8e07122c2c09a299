"""Klienci — domain: finding a customer by any key an operator has at hand.

Names and addresses are matched against `Customer.search_text`, a copy folded in Python
(lower case, Polish diacritics removed) that every write of those fields refreshes, so
the same rule holds on SQLite and PostgreSQL. The other keys (ID, phone, e-mail, NIP,
a device's IP or MAC, an invoice number) are exact or prefix matches on their own columns."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from piccolo.columns.combination import WhereRaw

from app import db
from app.tables.customers import Customer, Device
from app.tables.finances import Invoice

# Letters NFKD does not take apart (ł is a letter of its own, not l with a mark).
_EXTRA = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o"})
SEARCHED = ("name", "street", "postal_code", "city", "mail_street", "mail_postal_code", "mail_city")
MAX_ID = 2**31  # the ID column is a 32-bit serial; a NIP or phone is not an ID
MAC = re.compile(r"^[0-9a-f]{2}([:\-][0-9a-f]{2}){2,5}$", re.I)  # at least three pairs


def fold(text: str) -> str:
    """Lower case without diacritics and with single spaces: "ŁĘCKI  Wójcik" → "lecki wojcik"."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_EXTRA))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def search_text(row: dict) -> str:
    """The folded name and addresses of a customer row (the keys of SEARCHED it has)."""
    return fold(" | ".join(str(row.get(f) or "") for f in SEARCHED))


async def refresh(customer_ids: list[int]) -> None:
    """Rewrite `search_text` of these customers from their current data (call it in the
    transaction that changed them)."""
    if not customer_ids:
        return
    rows = await Customer.select(Customer.id, *[getattr(Customer, f) for f in SEARCHED]).where(
        Customer.id.is_in(list(customer_ids)))
    for row in rows:
        await Customer.update({Customer.search_text: search_text(row)}).where(Customer.id == row["id"])


async def refresh_missing(batch: int = 1000) -> int:
    """Fill `search_text` where it is empty: rows from before the column existed (the
    migration adds it empty) or written by code that did not set it. Run after every
    migration; a no-op query when all is filled. Returns how many rows it filled."""
    done, last = 0, 0
    while True:
        rows = await Customer.select(Customer.id).where(
            (Customer.search_text == "") & (Customer.id > last)).order_by(Customer.id).limit(batch)
        if not rows:
            return done
        async with db.transaction():
            await refresh([r["id"] for r in rows])
        done, last = done + len(rows), rows[-1]["id"]


# PostgreSQL: trigram indexes let `LIKE '%lecki%'` skip the scan (pg_trgm ships with the
# server; without the right to create it, search still works, only by scanning).
TRIGRAM_INDEXES = {"customer_search_text_trgm": "search_text", "customer_email_trgm": "email",
                   "customer_phone_trgm": "phone"}


async def ensure_indexes() -> bool:
    """Create the trigram indexes on PostgreSQL (idempotent; run after migrating). False
    when the engine is not PostgreSQL or pg_trgm cannot be created."""
    import logging

    from piccolo.engine.postgres import PostgresEngine

    if not isinstance(db.db(), PostgresEngine):
        return False
    try:
        await db.db().run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM_INDEXES.items():
            await db.db().run_ddl(
                f"CREATE INDEX IF NOT EXISTS {name} ON customer USING gin ({column} gin_trgm_ops)")
        await db.db().run_ddl("CREATE INDEX IF NOT EXISTS customer_nip ON customer (nip)")
    except Exception as exc:  # no CREATE privilege, or an old server: scans still answer
        logging.getLogger("wbok.search").warning("no trigram indexes for the customer search: %s", exc)
        return False
    return True


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _like(column, pattern: str):
    # SQLite's LIKE ignores ASCII case already (and Piccolo warns on ilike there).
    return column.like(pattern) if db.is_sqlite() else column.ilike(pattern)


def _escape(text: str) -> str:
    return text.replace("\\", "").replace("%", "").replace("_", " ")


def _is_ip(q: str) -> bool:
    try:
        ipaddress.ip_address(q)
        return True
    except ValueError:
        return False


def _mac(q: str) -> str | None:
    """A MAC address (or at least its first three pairs) as stored: "00:1a:2b…"; else None."""
    hexes = re.sub(r"[:\-. ]", "", q.lower())
    if MAC.match(q) or re.fullmatch(r"[0-9a-f]{12}", hexes) and not hexes.isdigit():
        return ":".join(hexes[i:i + 2] for i in range(0, len(hexes), 2))
    return None


async def matching_ids(q: str) -> list[int]:
    """Customer IDs found by the keys that live outside the customer row: a device's IP
    or MAC, an invoice number (exact, or the start of one: "FV/12/11")."""
    ids: set[int] = set()
    if _is_ip(q):
        ip = str(ipaddress.ip_address(q))
        ids |= {r["customer"] for r in await Device.select(Device.customer).where(Device.ip == ip)}
    if (mac := _mac(q)) is not None:
        ids |= {r["customer"] for r in await Device.select(Device.customer).where(Device.mac.like(f"{mac}%"))}
    if "/" in q:
        ids |= {r["customer"] for r in await Invoice.select(Invoice.customer).where(
            _like(Invoice.number, f"{_escape(q)}%")).limit(200)}
    return sorted(ids)


def _contains(column, folded: str):
    """`folded` inside an already folded column: a plain substring test, which SQLite runs
    faster than its case-folding LIKE."""
    if db.is_sqlite():
        return WhereRaw(f"instr({column._meta.db_column_name}, {{}}) > 0", folded)
    return column.like(f"%{folded}%")


def conditions(q: str, extra_ids: list[int]):
    """The WHERE of a search for `q` (already stripped, non-empty). The kind of key decides
    the columns: an IP or MAC is a device, an e-mail address only an e-mail, digits alone
    an ID, a phone or a NIP; anything else a name, an address or part of an e-mail."""
    from app.auth import parse_customer_id

    cond = Customer.id.is_in(extra_ids) if extra_ids else None
    if _is_ip(q) or _mac(q) is not None:
        return cond if cond is not None else Customer.id == -1
    text = _escape(q)
    if "@" in q:
        return _or(cond, _like(Customer.email, f"%{text}%"))
    digits = _digits(q)
    if digits and len(digits) == len(re.sub(r"[\s\-+().]", "", q)):
        if (cid := parse_customer_id(q)) is not None and cid < MAX_ID:
            cond = _or(cond, Customer.id == cid)
        if len(digits) >= 6:
            # NIP is stored as ten digits; phones as "+48 600 100 200" (the last nine digits).
            cond = _or(cond, Customer.nip == digits)
            local = digits[-9:]
            cond = _or(cond, Customer.phone.like(f"%{local[:3]} {local[3:6]} {local[6:]}%")
                       if len(local) == 9 else Customer.phone.like(f"%{digits}%"))
        if q.isdigit() or len(digits) < 6:
            return cond
    folded = _escape(fold(q))
    if folded:
        cond = _or(cond, _contains(Customer.search_text, folded))
    if "." in q:
        cond = _or(cond, _like(Customer.email, f"%{text}%"))
    return cond


def _or(a, b):
    return b if a is None else a | b


@dataclass(frozen=True)
class CustomerPage:
    rows: list[dict]
    page: int
    pages: int
    total: int
    q: str


async def search(q: str, page: int = 1, per_page: int = 25) -> CustomerPage:
    """Customers matching `q` by any key, newest first, one page of them, and their count."""
    q = (q or "").strip()[:100]
    columns = (Customer.id, Customer.name, Customer.email, Customer.phone, Customer.street,
               Customer.city, Customer.blocked)
    if not q:
        total = await Customer.count()
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = await Customer.select(*columns).order_by(Customer.id, ascending=False).limit(
            per_page).offset((page - 1) * per_page)
        return CustomerPage(rows, page, pages, total, q)
    cond = conditions(q, await matching_ids(q))
    # The page first, newest first: a common word fills it after a few rows; when it comes
    # back short on page 1, its length is the count and the one scan was all it took.
    page = max(1, page)
    rows = await Customer.select(*columns).where(cond).order_by(Customer.id, ascending=False).limit(
        per_page).offset((page - 1) * per_page)
    if page == 1 and len(rows) < per_page:
        return CustomerPage(rows, 1, 1, len(rows), q)
    total = await Customer.count().where(cond)
    pages = max(1, -(-total // per_page))
    if page > pages:  # past the end: show the last page
        return await search(q, pages, per_page)
    return CustomerPage(rows, page, pages, total, q)
