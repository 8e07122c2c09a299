"""Payments import: bank statements (MT940, CSV) matched to customers by virtual account or title.

Accepted formats
- MT940 (SWIFT): tags :20:, :25:, :28C:, :60F:, :61:, :86:, :62F:, parsed by `mt-940`.
  Only credits (C) are payments; debits are skipped. The account a payment was paid
  to is any valid virtual account (our prefix, correct check digits) written in the
  :61: line, its supplementary details or its :86: text. In a structured :86:
  (`~20`…`~25` title, `~32`/`~33` name, `~38` or `~30`+`~31` sender's account) the
  fields are read; an unstructured :86: is the title as a whole. The bank reference
  is the part after `//` in :61: ("NONREF" counts as none).
- CSV, UTF-8 (or Windows-1250), a header row, `;` or `,` separated (with `,`, quote
  amounts that have a decimal comma). Columns, by header name, in any order:
  `data` (YYYY-MM-DD or DD.MM.YYYY), `kwota` (123,45 or 1 234.56; ≤ 0 is skipped),
  `tytul` (tytuł), `rachunek_nadawcy`; optional `rachunek` (the account paid to, e.g.
  the virtual account), `nadawca` (sender's name), `referencja` (bank reference).
  English headers date, amount, title, sender_account, account, sender, reference too.

Matching: the virtual account, else "ID Klienta 0042" / "ID 42" in the title; the
customer must exist. Others wait in the queue for an operator. Deduplication key: the
bank reference, else date + amount + sender account + title + the occurrence number of
that same combination within the file (so two equal payments in one file both count,
and re-importing the file still books nothing twice).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import anyio

from app import db
from app.money import MAX_GROSZE, from_decimal
from app.settings import ISP
from app.tables.billing import BankLine, StatementImport
from app.tables.customers import Customer
from app.tables.finances import Payment
from app.transfer import nrb_check_digits

# Rows per INSERT: small enough that compiling one query never stalls the event loop.
CHUNK = 100
TITLE_ID = re.compile(r"\bID(?:\s*klienta)?\s*[:.#]?\s*(\d{1,9})\b", re.IGNORECASE)
NUMBERS = re.compile(r"(?:PL)?((?:\d[ ]?){25}\d)")


class StatementError(ValueError):
    """A file that cannot be imported; the message names the line and the reason (Polish)."""

    def __init__(self, reason: str, line: int | None = None):
        self.line, self.reason = line, reason
        super().__init__(f"Wiersz {line}: {reason}" if line else reason)


@dataclass(frozen=True)
class BankPayment:
    """One incoming payment from a statement; amount in grosze (positive)."""

    line: int
    date: date
    amount: int
    title: str
    sender_account: str = ""
    account: str = ""  # the account it was paid to, when known
    sender_name: str = ""
    reference: str = ""
    text: str = ""  # everything else the bank said, searched for a virtual account


@dataclass(frozen=True)
class ImportSummary:
    statement_id: int
    format: str
    lines: int
    matched: int
    unmatched: int
    duplicates: int
    total: int  # grosze booked to customers now


# --- parsing ---------------------------------------------------------------------------

def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1250"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError("nie da się odczytać pliku (oczekiwane kodowanie UTF-8 lub Windows-1250).")


def parse_statement(data: bytes) -> tuple[str, list[BankPayment]]:
    """("mt940" | "csv", payments) from a file's bytes; raises StatementError."""
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise StatementError("plik jest pusty.")
    if text.lstrip().startswith((":20:", "{1:", ":940:")) or "\n:61:" in text:
        return "mt940", parse_mt940(text)
    return "csv", parse_csv(text)


_LINE_61 = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{4})?(R?[CD])[A-Z]?(\d{1,12},\d{0,2})[A-Z]")
REQUIRED_TAGS = (":20:", ":25:", ":60F:", ":62F:")


def _check_mt940(text: str) -> None:
    """Point at the first bad line before the library parses (it reports no lines)."""
    lines = text.split("\n")
    seen = set()
    for n, line in enumerate(lines, start=1):
        tag = re.match(r"^(:\d{2}[A-Z]?:)", line)
        if tag:
            seen.add(tag.group(1))
        if line.startswith(":61:"):
            head = re.match(r"^(\d{2})(\d{2})(\d{2})(\d{4})?(R?[CD])", line[4:])
            if not head:
                raise StatementError("pole :61: musi zaczynać się datą RRMMDD i znakiem C lub D.", n)
            try:
                date(2000 + int(head.group(1)), int(head.group(2)), int(head.group(3)))
            except ValueError:
                raise StatementError(f"nieprawidłowa data {line[4:10]} w polu :61:.", n)
            if not _LINE_61.match(line[4:]):
                raise StatementError("nieprawidłowa kwota w polu :61: (oczekiwane np. 79,99).", n)
        elif line.startswith(":6") and line[1:4] in ("60F", "60M", "62F", "62M"):
            if not re.match(r"^:6[02][FM]:[CD]\d{6}[A-Z]{3}\d{1,15},\d{0,2}$", line.strip()):
                raise StatementError(f"saldo {line[:5]} ma zły format.", n)
    missing = [t for t in REQUIRED_TAGS if t not in seen]
    if missing:
        raise StatementError("to nie jest wyciąg MT940 — brak pól " + ", ".join(missing) + ".")


def parse_mt940(text: str) -> list[BankPayment]:
    import mt940

    _check_mt940(text)
    starts = [n for n, line in enumerate(text.split("\n"), start=1) if line.startswith(":61:")]
    try:
        transactions = list(mt940.parse(text))
    except Exception as exc:  # the library raises plain ValueError/RuntimeError
        raise StatementError(f"plik MT940 jest uszkodzony ({exc}).") from exc
    out = []
    for n, tx in zip(starts, transactions):
        d = tx.data
        if d.get("status") not in ("C", "RD"):
            continue  # a debit: money going out, not a payment
        amount = from_decimal(abs(Decimal(d["amount"].amount)))
        details = d.get("transaction_details") or ""
        fields = _subfields(details)
        title = "".join(fields.get(k, "") for k in ("20", "21", "22", "23", "24", "25")).strip() \
            if fields else details.replace("\n", " ").strip()
        sender = fields.get("38", "") or (fields.get("30", "") + fields.get("31", ""))
        ref = (d.get("bank_reference") or "").strip()
        out.append(BankPayment(
            line=n, date=date(d["date"].year, d["date"].month, d["date"].day), amount=amount,
            title=title, sender_account=_digits(sender),
            sender_name=(fields.get("32", "") + fields.get("33", "")).strip(),
            reference="" if ref.upper() == "NONREF" else ref,
            text=" ".join(str(d.get(k) or "") for k in ("customer_reference", "extra_details"))
            + " " + details,
        ))
    return out


def _subfields(details: str) -> dict[str, str]:
    """Structured :86: (`~20text~21text`, also `^` or `<` as the separator)."""
    flat = details.replace("\n", "")
    for sep in ("~", "^", "<"):
        if re.search(re.escape(sep) + r"\d{2}", flat):
            parts = re.split(re.escape(sep) + r"(\d{2})", flat)
            return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    return {}


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


HEADERS = {
    "date": ("data", "date", "data operacji", "data ksiegowania"),
    "amount": ("kwota", "amount"),
    "title": ("tytul", "title", "tytul przelewu", "opis"),
    "sender_account": ("rachunek nadawcy", "sender account", "konto nadawcy", "nadawca rachunek"),
    "account": ("rachunek", "account", "rachunek odbiorcy", "rachunek wirtualny"),
    "sender_name": ("nadawca", "sender", "sender name", "nazwa nadawcy"),
    "reference": ("referencja", "reference", "numer referencyjny"),
}
REQUIRED = ("date", "amount", "title", "sender_account")


def _norm(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.strip().lower().replace("ł", "l"))
    return re.sub(r"[\s_]+", " ", "".join(c for c in text if not unicodedata.combining(c)))


def parse_csv(text: str) -> list[BankPayment]:
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as exc:
        raise StatementError(f"to nie jest plik CSV ({exc}).") from exc
    names = [_norm(h) for h in rows[0]]
    columns = {key: names.index(alias) for key, aliases in HEADERS.items()
               for alias in aliases if alias in names}
    missing = [HEADERS[k][0] for k in REQUIRED if k not in columns]
    if missing:
        raise StatementError("brak kolumn " + ", ".join(missing)
                             + " w nagłówku (data;kwota;tytul;rachunek_nadawcy).", 1)
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(names):
            raise StatementError(f"za mało kolumn ({len(row)} zamiast {len(names)}).", n)
        cell = {k: row[i].strip() for k, i in columns.items()}
        amount = _csv_amount(cell["amount"], n)
        if amount <= 0:
            continue  # outgoing money
        out.append(BankPayment(
            line=n, date=_csv_date(cell["date"], n), amount=amount, title=cell["title"],
            sender_account=_digits(cell["sender_account"]), account=_digits(cell.get("account", "")),
            sender_name=cell.get("sender_name", ""), reference=cell.get("reference", ""),
        ))
    return out


def _csv_date(text: str, n: int) -> date:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise StatementError(f"nieprawidłowa data {text!r} (RRRR-MM-DD lub DD.MM.RRRR).", n)


def _csv_amount(text: str, n: int) -> int:
    raw = re.sub(r"[\s\u00a0]|zł|PLN", "", text)
    if re.fullmatch(r"-?\d+([.,]\d{1,2})?", raw) is None:
        raise StatementError(f"nieprawidłowa kwota {text!r} (np. 123,45).", n)
    try:
        grosze = from_decimal(Decimal(raw.replace(",", ".")))
    except (InvalidOperation, ValueError):
        raise StatementError(f"nieprawidłowa kwota {text!r}.", n)
    if grosze > MAX_GROSZE:
        raise StatementError("kwota jest zbyt duża.", n)
    return grosze


# --- matching --------------------------------------------------------------------------

def virtual_customer(isp: ISP, number: str) -> int | None:
    """The customer ID behind one of our virtual accounts; None for any other number."""
    nrb = _digits(number)
    prefix = isp.virtual_prefix
    if len(nrb) != 26 or nrb[2:2 + len(prefix)] != prefix or nrb_check_digits(nrb[2:]) != nrb[:2]:
        return None
    return int(nrb[2 + len(prefix):])


def match(isp: ISP, p: BankPayment) -> int | None:
    """Customer ID by the virtual account paid to, else by the ID in the title."""
    candidates = [p.account] + [m.group(1) for m in NUMBERS.finditer(p.text)]
    for number in candidates:
        if number and (cid := virtual_customer(isp, number)) is not None:
            return cid
    m = TITLE_ID.search(p.title)
    return int(m.group(1)) if m else None


def dedupe_keys(payments: list[BankPayment]) -> list[str]:
    seen: dict[tuple, int] = {}
    keys = []
    for p in payments:
        if p.reference:
            keys.append(f"ref:{p.reference}"[:150])
            continue
        base = (p.date.isoformat(), p.amount, p.sender_account, " ".join(p.title.split()))
        seen[base] = seen.get(base, 0) + 1
        digest = hashlib.sha256("|".join(map(str, (*base, seen[base]))).encode()).hexdigest()
        keys.append(f"h:{digest[:40]}")
    return keys


# --- import ----------------------------------------------------------------------------

def _prepare(data: bytes, isp: ISP) -> tuple[str, list[BankPayment], list[str], set[int]]:
    fmt, payments = parse_statement(data)
    return fmt, payments, dedupe_keys(payments), {match(isp, p) for p in payments} - {None}


async def import_statement(data: bytes, isp: ISP, *, filename: str = "",
                           operator_id: int | None = None) -> ImportSummary:
    """Parse, match and book a statement in ONE transaction: a bad file raises
    StatementError before anything is written; lines seen before are duplicates."""
    # Parsing a 10 MB file is CPU work: in a thread, so the event loop keeps answering.
    fmt, payments, keys, wanted = await anyio.to_thread.run_sync(_prepare, data, isp)
    async with db.transaction():
        known = {r["id"] for r in await _in(lambda: Customer.select(Customer.id), Customer.id,
                                           list(wanted))}
        existing = {r["key"] for r in await _in(lambda: BankLine.select(BankLine.key), BankLine.key,
                                              keys)}
        head = await StatementImport.insert(StatementImport(
            filename=filename[:200], format=fmt, lines=len(payments), operator=operator_id,
        )).returning(StatementImport.id)
        sid = head[0]["id"]
        # Building tens of thousands of rows is CPU work too: in a thread as well.
        rows = await anyio.to_thread.run_sync(_bank_lines, isp, payments, keys, existing, known, sid)
        inserted: set[str] = set()
        for i in range(0, len(rows), CHUNK):
            done = await BankLine.insert(*rows[i:i + CHUNK]).on_conflict(
                action="DO NOTHING").returning(BankLine.key)
            inserted.update(r["key"] for r in done)
        booked = [r for r in rows if r.key in inserted and r.status == "matched"]
        for i in range(0, len(booked), CHUNK):
            await Payment.insert(*[_payment(r, fmt, operator_id) for r in booked[i:i + CHUNK]]
                                 ).on_conflict(target=Payment.reference, action="DO NOTHING")
        summary = ImportSummary(
            statement_id=sid, format=fmt, lines=len(payments), matched=len(booked),
            unmatched=sum(1 for r in rows if r.key in inserted and r.status == "unmatched"),
            duplicates=len(payments) - len(inserted), total=sum(r.amount for r in booked))
        await StatementImport.update({
            StatementImport.matched: summary.matched, StatementImport.unmatched: summary.unmatched,
            StatementImport.duplicates: summary.duplicates, StatementImport.total: summary.total,
        }).where(StatementImport.id == sid)
    return summary


def _bank_lines(isp: ISP, payments: list[BankPayment], keys: list[str], existing: set[str],
                known: set[int], sid: int) -> list[BankLine]:
    rows, fresh = [], set()
    for p, key in zip(payments, keys):
        if key in existing or key in fresh:
            continue
        fresh.add(key)
        cid = match(isp, p)
        cid = cid if cid in known else None
        rows.append(BankLine(key=key, statement=sid, date=p.date, amount=p.amount,
                             title=p.title[:300], sender_account=p.sender_account[:40],
                             account=p.account[:40], sender_name=p.sender_name[:200],
                             customer=cid, status="matched" if cid else "unmatched"))
    return rows


def _payment(line: BankLine, source: str, operator_id: int | None) -> Payment:
    return Payment(customer=line.customer, date=line.date, title=(line.title or "Wpłata")[:200],
                   amount=line.amount, source=source, reference=f"bank:{line.key}",
                   operator=operator_id)


async def _in(make_query, column, values: list) -> list[dict]:
    """`column IN values` in chunks (SQLite limits bound parameters); a fresh query per
    chunk, since Piccolo's where() adds to the query it is called on."""
    out: list[dict] = []
    for i in range(0, len(values), CHUNK):
        out += await make_query().where(column.is_in(values[i:i + CHUNK]))
    return out


class AssignError(ValueError):
    """An unmatched line that cannot be assigned; the message is for the operator."""


async def assign(line_id: int, customer_id: int | None, operator_id: int | None) -> int:
    """Book a queued line to `customer_id` by hand; returns the payment ID."""
    if customer_id is None:
        raise AssignError("Podaj ID Klienta (same cyfry).")
    async with db.transaction():
        line = await BankLine.select(BankLine.all_columns(), BankLine.statement.format).where(
            BankLine.id == line_id).first()
        if line is None or line["status"] != "unmatched":
            raise AssignError("Ta wpłata została już przypisana.")
        if not await Customer.exists().where(Customer.id == customer_id):
            raise AssignError(f"Nie ma klienta o ID {customer_id}.")
        rows = await Payment.insert(Payment(
            customer=customer_id, date=line["date"], title=(line["title"] or "Wpłata")[:200],
            amount=line["amount"], source=line["statement.format"], reference=f"bank:{line['key']}",
            operator=operator_id)).returning(Payment.id)
        await BankLine.update({BankLine.status: "assigned", BankLine.customer: customer_id}).where(
            BankLine.id == line_id)
    return rows[0]["id"]


async def unmatched(limit: int = 200) -> list[dict]:
    """The queue: lines no customer was found for, oldest first."""
    return await BankLine.select(BankLine.id, BankLine.date, BankLine.amount, BankLine.title,
                                 BankLine.sender_account, BankLine.sender_name).where(
        BankLine.status == "unmatched").order_by(BankLine.date).order_by(BankLine.id).limit(limit)


async def recent_imports(limit: int = 10) -> list[dict]:
    return await StatementImport.select().order_by(StatementImport.id, ascending=False).limit(limit)


async def statement_summary(statement_id: int) -> dict | None:
    """One import's counts and total, for the page its upload redirects to."""
    return await StatementImport.select().where(StatementImport.id == statement_id).first()
