"""Payments import: bank statements matched to customers by virtual account or title.

The formats (MT940 of mBank, PKO BP, Pekao, Santander, ING; the CSV exports of mBank,
PKO BP, ING, Santander, Pekao and WBOK's own layout) are read in app/bank_formats.py.

Refusals, before anything is written: a statement in any currency but PLN, or for an
account that is not the ISP's (`bank_account`, `statement_accounts`, or one of its
virtual accounts), is refused whole.

Matching: the virtual account, else "ID Klienta 0042" / "ID 42" in the title; the
customer must exist. Others wait in the queue, where an operator assigns, splits or
ignores them (audited in BankLineAction).

Deduplication across formats: a line's key is a fingerprint of value date, amount,
sender's account, normalised title (letters and digits, no diacritics) and the
occurrence number of that combination in the file (two equal payments in one file both
count). A line is a duplicate when its fingerprint is known and the references do not
contradict (one side has none, or they are equal), or when a line with the same bank
reference and amount is known. When the fingerprint is known under a different
reference, the line is another transfer and is keyed by fingerprint + reference.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import anyio

from app import db
from app.bank_formats import BankPayment, Statement, StatementError, norm_title
from app.bank_formats import parse as parse_file
from app.settings import ISP
from app.tables.billing import BankLine, BankLineAction, StatementImport
from app.tables.customers import Customer
from app.tables.finances import Payment
from app.transfer import nrb_check_digits

__all__ = ["BankPayment", "StatementError", "import_statement", "parse_statement"]
# Rows per INSERT: small enough that compiling one query never stalls the event loop.
CHUNK = 100
TITLE_ID = re.compile(r"\bID(?:\s*klienta)?\s*[:.#]?\s*(\d{1,9})\b", re.IGNORECASE)
NUMBERS = re.compile(r"(?:PL)?((?:\d[ ]?){25}\d)")


@dataclass(frozen=True)
class ImportSummary:
    statement_id: int
    format: str
    lines: int
    matched: int
    unmatched: int
    duplicates: int
    total: int  # grosze booked to customers now
    debits: int = 0  # outgoing lines, skipped


def parse_statement(data: bytes) -> tuple[str, list[BankPayment]]:
    """(format, credits) from a file's bytes; raises StatementError."""
    st = parse_file(data)
    return st.format, st.payments


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def check_statement(st: Statement, isp: ISP) -> None:
    """Refuse a statement in a foreign currency or for an account that is not ours."""
    foreign = sorted(c for c in st.currencies if c and c != "PLN")
    if foreign:
        raise StatementError(f"wyciąg jest w walucie {', '.join(foreign)}; przyjmujemy tylko wyciągi "
                             "w PLN. Nic nie zaksięgowano.")
    ours = {_digits(isp.bank_account)} | {_digits(a) for a in isp.statement_accounts}
    for account in sorted(a for a in st.accounts if a):
        nrb = account[-26:]
        if nrb not in ours and virtual_customer(isp, nrb) is None:
            raise StatementError(f"wyciąg dotyczy rachunku {_spaced(nrb)}, który nie jest rachunkiem "
                                 f"dostawcy ({isp.name}). Nic nie zaksięgowano.")


def _spaced(nrb: str) -> str:
    return nrb[:2] + " " + " ".join(nrb[i:i + 4] for i in range(2, len(nrb), 4)) if len(nrb) == 26 else nrb


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


def fingerprints(payments: list[BankPayment]) -> list[str]:
    """The key of each line: value date, amount, sender's account, normalised title and
    the occurrence of that combination in the file."""
    seen: dict[tuple, int] = {}
    keys = []
    for p in payments:
        base = (p.date.isoformat(), p.amount, p.sender_account, norm_title(p.title))
        seen[base] = seen.get(base, 0) + 1
        keys.append(_key(*base, seen[base]))
    return keys


def _legacy_keys(payments: list[BankPayment]) -> list[str]:
    """The keys lines had before the fingerprint (bank reference, else a hash with the
    raw title), so that re-importing an old statement still books nothing twice."""
    seen: dict[tuple, int] = {}
    out = []
    for p in payments:
        if p.reference:
            out.append(f"ref:{p.reference}"[:150])
            continue
        base = (p.date.isoformat(), p.amount, p.sender_account, " ".join(p.title.split()))
        seen[base] = seen.get(base, 0) + 1
        out.append("h:" + hashlib.sha256("|".join(map(str, (*base, seen[base]))).encode()).hexdigest()[:40])
    return out


def _key(*parts) -> str:
    return "f:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40]


async def dedupe(payments: list[BankPayment]) -> list[str | None]:
    """The key to store each line under, None for a line that is already known."""
    keys = fingerprints(payments)
    known = {r["key"]: r["reference"] for r in await _in(
        lambda: BankLine.select(BankLine.key, BankLine.reference), BankLine.key, keys)}
    refs = [p.reference for p in payments if p.reference]
    by_ref = {(r["reference"], r["amount"]) for r in await _in(
        lambda: BankLine.select(BankLine.reference, BankLine.amount), BankLine.reference, refs)}
    alt = {}
    for p, key in zip(payments, keys):
        if key in known and p.reference and known[key] and known[key] != p.reference:
            alt[key] = _key(key, p.reference)
    if alt:
        known.update({r["key"]: r["reference"] for r in await _in(
            lambda: BankLine.select(BankLine.key, BankLine.reference), BankLine.key, list(alt.values()))})
    legacy = _legacy_keys(payments)
    old = {r["key"] for r in await _in(lambda: BankLine.select(BankLine.key), BankLine.key,
                                       [k for k in legacy if k])}
    out: list[str | None] = []
    for p, key, before in zip(payments, keys, legacy):
        if before in old:
            out.append(None)  # imported before the fingerprint existed
            continue
        if p.reference and (p.reference, p.amount) in by_ref:
            out.append(None)  # known, or twice in this file
            continue
        if p.reference:
            by_ref.add((p.reference, p.amount))
        if key in known and p.reference and known[key] and known[key] != p.reference:
            key = _key(key, p.reference)
        out.append(None if key in known else key)
    return out


# --- import ----------------------------------------------------------------------------

def _prepare(data: bytes, isp: ISP) -> tuple[Statement, set[int]]:
    """Decode, parse and check a statement file, and the customers it may pay (CPU work)."""
    st = parse_file(data)
    check_statement(st, isp)
    return st, {match(isp, p) for p in st.payments} - {None}


async def import_statement(data: bytes, isp: ISP, *, filename: str = "",
                           operator_id: int | None = None) -> ImportSummary:
    """Parse, check, match and book a statement in ONE transaction: a bad or refused file
    raises StatementError before anything is written; lines seen before are duplicates."""
    # Parsing a 10 MB file is CPU work: in a thread, so the event loop keeps answering.
    st, wanted = await anyio.to_thread.run_sync(_prepare, data, isp)
    fmt, payments = st.format, st.payments
    keys = await dedupe(payments)
    async with db.transaction():
        known = {r["id"] for r in await _in(lambda: Customer.select(Customer.id), Customer.id,
                                           list(wanted))}
        head = await StatementImport.insert(StatementImport(
            filename=filename[:200], format=fmt, lines=len(payments), operator=operator_id,
            debits=st.debits,
        )).returning(StatementImport.id)
        sid = head[0]["id"]
        # Building tens of thousands of rows is CPU work too: in a thread as well.
        rows = await anyio.to_thread.run_sync(_bank_lines, isp, payments, keys, known, sid)
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
            duplicates=len(payments) - len(inserted), total=sum(r.amount for r in booked),
            debits=st.debits)
        await StatementImport.update({
            StatementImport.matched: summary.matched, StatementImport.unmatched: summary.unmatched,
            StatementImport.duplicates: summary.duplicates, StatementImport.total: summary.total,
        }).where(StatementImport.id == sid)
    return summary


def _bank_lines(isp: ISP, payments: list[BankPayment], keys: list[str | None],
                known: set[int], sid: int) -> list[BankLine]:
    """The new lines (a None key: a duplicate of a line seen before)."""
    rows, fresh = [], set()
    for p, key in zip(payments, keys):
        if key is None or key in fresh:
            continue
        fresh.add(key)
        cid = match(isp, p)
        cid = cid if cid in known else None
        rows.append(BankLine(key=key, statement=sid, date=p.date, amount=p.amount,
                             title=p.title[:300], sender_account=p.sender_account[:40],
                             account=p.account[:40], sender_name=p.sender_name[:200],
                             reference=p.reference[:150],
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
    """An unmatched line that cannot be assigned, split or ignored; the message is for the operator."""


async def _take(line_id: int) -> dict:
    """The queued line, inside the caller's transaction; taken by one operator only."""
    line = await BankLine.select(BankLine.all_columns(), BankLine.statement.format).where(
        BankLine.id == line_id).first()
    if line is None or line["status"] != "unmatched":
        raise AssignError("Ta wpłata została już rozliczona.")
    return line


async def _settle(line_id: int, status: str, customer_id: int | None, note: str = "") -> None:
    """Mark the line decided; the condition makes a concurrent second decision fail."""
    done = await BankLine.update({BankLine.status: status, BankLine.customer: customer_id,
                                  BankLine.note: note}).where(
        (BankLine.id == line_id) & (BankLine.status == "unmatched")).returning(BankLine.id)
    if not done:
        raise AssignError("Ta wpłata została już rozliczona.")


async def assign(line_id: int, customer_id: int | None, operator_id: int | None) -> int:
    """Book a queued line to `customer_id` by hand; returns the payment ID."""
    if customer_id is None:
        raise AssignError("Podaj ID Klienta (same cyfry).")
    async with db.transaction():
        line = await _take(line_id)
        if not await Customer.exists().where(Customer.id == customer_id):
            raise AssignError(f"Nie ma klienta o ID {customer_id}.")
        await _settle(line_id, "assigned", customer_id)
        rows = await Payment.insert(Payment(
            customer=customer_id, date=line["date"], title=(line["title"] or "Wpłata")[:200],
            amount=line["amount"], source=line["statement.format"], reference=f"bank:{line['key']}",
            operator=operator_id)).returning(Payment.id)
        await BankLineAction.insert(BankLineAction(line=line_id, action="assign", customer=customer_id,
                                                   amount=line["amount"], operator=operator_id,
                                                   at=datetime.now(timezone.utc)))
    return rows[0]["id"]


def parse_split(customer_ids: list[str], amounts: list[str]) -> list[tuple[int, int]]:
    """The split form's rows (ID Klienta, kwota) as [(customer ID, grosze)]; empty rows
    are skipped; raises AssignError with the first problem."""
    from app.auth import parse_customer_id
    from app.money import parse_money

    parts = []
    for raw_id, raw_amount in zip(customer_ids, amounts):
        if not raw_id.strip() and not raw_amount.strip():
            continue
        cid = parse_customer_id(raw_id)
        if cid is None:
            raise AssignError("Podaj ID Klienta (same cyfry) w każdym wierszu podziału.")
        try:
            parts.append((cid, parse_money(raw_amount)))
        except ValueError as exc:
            raise AssignError(str(exc)) from exc
    return parts


async def split(line_id: int, parts: list[tuple[int, int]], operator_id: int | None) -> list[int]:
    """Book a queued line to several customers: `parts` is [(customer ID, grosze)], each
    amount positive and together exactly the line's amount. Returns the payment IDs."""
    if len(parts) < 2:
        raise AssignError("Podział wymaga co najmniej dwóch klientów.")
    if any(amount <= 0 for _, amount in parts):
        raise AssignError("Każda część musi być większa od zera.")
    if len({cid for cid, _ in parts}) != len(parts):
        raise AssignError("Każdy klient może wystąpić w podziale tylko raz.")
    async with db.transaction():
        line = await _take(line_id)
        total = sum(amount for _, amount in parts)
        if total != line["amount"]:
            from app.money import format_money

            raise AssignError(f"Części dają razem {format_money(total)}, a wpłata to "
                              f"{format_money(line['amount'])}.")
        ids = {cid for cid, _ in parts}
        found = {r["id"] for r in await Customer.select(Customer.id).where(Customer.id.is_in(list(ids)))}
        if missing := sorted(ids - found):
            raise AssignError(f"Nie ma klienta o ID {missing[0]}.")
        await _settle(line_id, "split", None)
        now = datetime.now(timezone.utc)
        rows = await Payment.insert(*[Payment(
            customer=cid, date=line["date"], title=(line["title"] or "Wpłata")[:200], amount=amount,
            source=line["statement.format"], reference=f"bank:{line['key']}:{n}", operator=operator_id)
            for n, (cid, amount) in enumerate(parts, start=1)]).returning(Payment.id)
        await BankLineAction.insert(*[BankLineAction(line=line_id, action="split", customer=cid,
                                                     amount=amount, operator=operator_id, at=now)
                                      for cid, amount in parts])
    return [r["id"] for r in rows]


async def ignore(line_id: int, reason: str, operator_id: int | None) -> None:
    """Take a line off the queue without booking it (a refund, a transfer between our
    own accounts…); the reason is required and kept."""
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise AssignError("Podaj powód pominięcia wpłaty.")
    async with db.transaction():
        line = await _take(line_id)
        await _settle(line_id, "ignored", None, reason)
        await BankLineAction.insert(BankLineAction(line=line_id, action="ignore", amount=line["amount"],
                                                   reason=reason, operator=operator_id,
                                                   at=datetime.now(timezone.utc)))


async def line_actions(line_id: int) -> list[dict]:
    """The audit of one queue line, oldest first, operators by login."""
    return await BankLineAction.select(BankLineAction.all_columns(), BankLineAction.operator.username
                                       ).where(BankLineAction.line == line_id).order_by(BankLineAction.id)


async def recent_actions(limit: int = 20) -> list[dict]:
    """The queue's latest decisions, newest first, for the import page."""
    return await BankLineAction.select(
        BankLineAction.all_columns(), BankLineAction.operator.username, BankLineAction.line.title,
        BankLineAction.line.sender_name, BankLineAction.line.date,
    ).order_by(BankLineAction.id, ascending=False).limit(limit)


async def unmatched(limit: int = 200) -> list[dict]:
    """The queue: lines no customer was found for, oldest first; the sender's account
    printed as an NRB (`37 1050 …`) when it is one."""
    rows = await BankLine.select(BankLine.id, BankLine.date, BankLine.amount, BankLine.title,
                                 BankLine.sender_account, BankLine.sender_name, BankLine.reference,
                                 BankLine.statement.format).where(
        BankLine.status == "unmatched").order_by(BankLine.date).order_by(BankLine.id).limit(limit)
    for r in rows:
        r["sender_account_display"] = _spaced(r["sender_account"])
    return rows


async def recent_imports(limit: int = 10) -> list[dict]:
    return await StatementImport.select().order_by(StatementImport.id, ascending=False).limit(limit)


async def statement_summary(statement_id: int) -> dict | None:
    """One import's counts and total, for the page its upload redirects to."""
    return await StatementImport.select().where(StatementImport.id == statement_id).first()
