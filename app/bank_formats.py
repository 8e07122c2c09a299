"""Bank statement formats: the files Polish banks really send, read into one shape.

Recognised by content, never by file name (README "Bank statements" lists the layouts):

- MT940 (parsed by `mt-940`): `:62F:` optional (mBank "IPH" files have none); `:86:` either
  structured, subfields marked `^` (Pekao, Santander) or `~` (PKO BP, ING, mBank IPH
  variants) — `20`…`25` title (fixed-width pieces, joined), `32`+`33` name, `38` (or
  `30`+`31`) the sender's account — or mBank's free text `Z RACH.: …; OD: …; TYT.: …`.
- CSV exports: mBank "Lista operacji", PKO BP iPKO "historia rachunku", ING "Lista
  transakcji", Santander (headerless, account row first), Pekao24, and WBOK's own layout
  (data;kwota;tytul;rachunek_nadawcy…).

Encoding: UTF-8 (BOM or not); otherwise Windows-1250, ISO-8859-2 or CP852, whichever
decodes into plausible Polish text (charset-normalizer proposes, Polish letters decide).
PKO's 0xFF filler bytes are dropped. Amounts are grosze; debits are counted, not returned.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from app.money import MAX_GROSZE, from_decimal

POLISH = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
# Non-ASCII characters a Polish statement plausibly holds besides its letters.
HARMLESS = frozenset("„”“–—«»°§€…•·éèäöüÉÄÖÜ×\u00a0")
LEGACY = ("cp1250", "iso8859_2", "cp852")


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


@dataclass
class Statement:
    """What one file says: its layout, the accounts and currencies it is for, credits."""

    format: str
    payments: list[BankPayment] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)  # the statement's own account(s), digits
    currencies: set[str] = field(default_factory=set)
    debits: int = 0


# --- encoding ---------------------------------------------------------------------------

def _plausibility(text: str) -> int:
    """Polish letters count for, other non-ASCII characters (and C1 controls) against."""
    score = 0
    for ch in text:
        if ch < "\x80":
            continue
        if ch in POLISH:
            score += 1
        elif ch in HARMLESS:
            continue
        else:
            score -= 5 if "\x80" <= ch <= "\x9f" else 2
    return score


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). 0xFF never occurs in UTF-8 and is PKO's filler in the legacy
    code pages, so it goes first; then UTF-8, else the most plausible Polish code page."""
    data = data.replace(b"\xff", b"")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    proposed = [m.encoding for m in from_bytes(data, cp_isolation=list(LEGACY))]
    order = [e for e in proposed if e in LEGACY] + [e for e in LEGACY if e not in proposed]
    best: tuple[int, int, str, str] | None = None
    for rank, encoding in enumerate(order):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidate = (_plausibility(text), -rank, encoding, text)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise StatementError("nie da się odczytać pliku (oczekiwane kodowanie UTF-8, Windows-1250 "
                             "lub ISO-8859-2).")
    return best[3], best[2]


# --- small helpers ----------------------------------------------------------------------

def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def account_digits(text: str) -> str:
    """An account as digits: "PL61 1090 …" and "/PL61109…" → "61109…"; IBANs of other
    countries keep their digits too (FR76… → 76…)."""
    return digits(text)


def clean(text: str) -> str:
    """One line of plain text: no filler, no control characters, single spaces."""
    text = (text or "").replace("\u02d9", " ").replace("\xff", " ")
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    return " ".join(text.split())


def norm_title(text: str) -> str:
    """A title reduced for comparison across formats: letters and digits, upper case,
    no diacritics (one bank writes "OPŁATA", another "OPLATA")."""
    text = unicodedata.normalize("NFKD", clean(text).upper().replace("Ł", "L"))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def parse_amount(text: str, n: int | None = None) -> tuple[int, str]:
    """(signed grosze, currency or "") from "1 185,61 PLN", "+129.99", "-1.234,50", "12,5"."""
    raw = re.sub(r"[\s\u00a0']", "", text or "")
    currency = ""
    m = re.search(r"([A-Z]{3}|zł)$", raw)
    if m:
        currency = "PLN" if m.group(1) == "zł" else m.group(1)
        raw = raw[:m.start()]
    if re.fullmatch(r"[+-]?\d+([.,]\d{1,2})?", raw) is None:
        raise StatementError(f"nieprawidłowa kwota {text!r} (np. 123,45).", n)
    try:
        grosze = from_decimal(Decimal(raw.replace(",", ".")))
    except (InvalidOperation, ValueError):
        raise StatementError(f"nieprawidłowa kwota {text!r}.", n)
    if abs(grosze) > MAX_GROSZE:
        raise StatementError("kwota jest zbyt duża.", n)
    return grosze, currency


def parse_date(text: str, n: int | None = None) -> date:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%Y.%m.%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise StatementError(f"nieprawidłowa data {text!r} (RRRR-MM-DD lub DD.MM.RRRR).", n)


# --- MT940 ------------------------------------------------------------------------------

def looks_like_mt940(text: str) -> bool:
    head = text.lstrip()
    return head.startswith((":20:", "{1:", ":940:")) or "\n:61:" in text or "\n:25:" in text[:2000]


_LINE_61 = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{4})?(R?[CD])[A-Z]?(\d{1,12},\d{0,2})[A-Z]")


def _check_mt940(lines: list[str]) -> None:
    """Point at the first bad line before the library parses (it reports no lines)."""
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
        elif line[:5] in (":60F:", ":60M:", ":62F:", ":62M:"):
            if not re.match(r"^:6[02][FM]:[CD]\d{6}[A-Z]{3}\d{1,15},\d{0,2}$", line.strip()):
                raise StatementError(f"saldo {line[:5]} ma zły format.", n)
    missing = [t for t in (":25:", ":60F:") if t not in seen and not (t == ":60F:" and ":60M:" in seen)]
    if missing:
        raise StatementError("to nie jest wyciąg MT940 — brak pól " + ", ".join(missing) + ".")


def parse_mt940(text: str) -> Statement:
    """Every statement in the file (one per :20:), each checked for account and currency."""
    import mt940

    lines = text.split("\n")
    _check_mt940(lines)
    starts = [n for n, line in enumerate(lines) if line.startswith(":20:")] or [0]
    st = Statement("mt940")
    for lo, hi in zip(starts, starts[1:] + [len(lines)]):
        block = "\n".join(lines[lo:hi])
        if ":61:" not in block and ":25:" not in block:
            continue
        tx_lines = [lo + i + 1 for i, line in enumerate(lines[lo:hi]) if line.startswith(":61:")]
        transactions = mt940.models.Transactions()
        try:
            transactions.parse(block)
        except Exception as exc:  # the library raises plain ValueError/RuntimeError
            raise StatementError(f"plik MT940 jest uszkodzony ({exc}).") from exc
        head = transactions.data
        st.accounts.add(account_digits(head.get("account_identification") or ""))
        for key in ("final_opening_balance", "final_closing_balance"):
            if head.get(key) is not None:
                st.currencies.add(head[key].amount.currency)
        for n, tx in zip(tx_lines, transactions):
            d = tx.data
            st.currencies.add(d.get("currency") or d["amount"].currency)
            if d.get("status") not in ("C", "RD"):
                st.debits += 1
                continue
            st.payments.append(_mt940_payment(n, d))
    return st


def _mt940_payment(n: int, d: dict) -> BankPayment:
    details = (d.get("transaction_details") or "").replace("\u02d9", "")
    fields = _subfields(details)
    if fields:
        title = clean("".join(fields.get(k, "") for k in ("20", "21", "22", "23", "24", "25")))
        name = clean("".join(fields.get(k, "") for k in ("32", "33")))
        sender = fields.get("38", "") or (fields.get("30", "") + fields.get("31", ""))
    else:
        free = _free_text(details)
        title, name, sender = free.get("TYT.", ""), free.get("OD", ""), free.get("Z RACH.", "")
        if not free:
            title = clean(details)
    ref = (d.get("bank_reference") or "").strip()
    when = d.get("date") or d.get("entry_date")
    return BankPayment(
        line=n, date=date(when.year, when.month, when.day),
        amount=from_decimal(abs(Decimal(d["amount"].amount))), title=title,
        sender_account=account_digits(sender), sender_name=name,
        reference="" if ref.upper() == "NONREF" else ref,
        text=" ".join(str(d.get(k) or "") for k in ("customer_reference", "extra_details")) + " " + details,
    )


def _subfields(details: str) -> dict[str, str]:
    """Structured :86: (`~20text~21text`, or `^` / `<` as the separator): the lines are
    fixed-width pieces, so they join with nothing between them."""
    flat = details.replace("\r", "").replace("\n", "")
    for sep in ("~", "^", "<"):
        if len(re.findall(re.escape(sep) + r"\d{2}", flat)) >= 2:
            parts = re.split(re.escape(sep) + r"(\d{2})", flat)
            out: dict[str, str] = {}
            for i in range(1, len(parts) - 1, 2):
                out[parts[i]] = out.get(parts[i], "") + parts[i + 1]
            return out
    return {}


_FREE_KEYS = re.compile(r"(?:^|;)\s*(Z RACH\.|NA RACH\.|OD|DO|TYT\.|DATA STEMPLA|TNR|ID IPH)\s*:\s*")


def _free_text(details: str) -> dict[str, str]:
    """mBank's unstructured :86: ("…; Z RACH.: 0410…; OD: NAME ADDR; TYT.: title; …"); its
    lines break between words, so they join with a space."""
    flat = clean(details.replace("\n", " "))
    parts = _FREE_KEYS.split(flat)
    return {parts[i]: clean(parts[i + 1]).rstrip(";").strip() for i in range(1, len(parts) - 1, 2)}


# --- CSV --------------------------------------------------------------------------------

def norm_header(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.strip().strip("#").strip().lower().replace("ł", "l"))
    return re.sub(r"[\s_]+", " ", "".join(c for c in text if not unicodedata.combining(c))).strip()


# Layouts by header row: (format, columns that identify it, field → header aliases).
LAYOUTS: list[tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]] = [
    ("mbank", ("data operacji", "opis operacji", "kwota"), {
        "date": ("data operacji",), "amount": ("kwota",), "description": ("opis operacji",),
        "account": ("rachunek",)}),
    ("pko", ("data operacji", "data waluty", "typ transakcji", "opis transakcji"), {
        "date": ("data waluty", "data operacji"), "amount": ("kwota",), "currency": ("waluta",),
        "type": ("typ transakcji",), "details": ("opis transakcji",)}),
    ("ing", ("data transakcji", "dane kontrahenta"), {
        "date": ("data transakcji",), "amount": ("kwota transakcji (waluta rachunku)", "kwota"),
        "currency": ("waluta",), "sender_name": ("dane kontrahenta",), "title": ("tytul",),
        "sender_account": ("nr rachunku",), "reference": ("nr transakcji",)}),
    ("pekao", ("rachunek zrodlowy", "rachunek docelowy"), {
        "date": ("data waluty", "data ksiegowania"), "amount": ("kwota operacji", "kwota"),
        "currency": ("waluta",), "sender_name": ("nadawca / odbiorca", "nadawca/odbiorca"),
        "sender_account": ("rachunek zrodlowy",), "account": ("rachunek docelowy",),
        "title": ("tytulem", "tytul"), "reference": ("numer referencyjny",),
        "type": ("typ operacji",)}),
    ("csv", (), {
        "date": ("data", "date", "data operacji", "data ksiegowania"), "amount": ("kwota", "amount"),
        "title": ("tytul", "title", "tytul przelewu", "opis"),
        "sender_account": ("rachunek nadawcy", "sender account", "konto nadawcy", "nadawca rachunek"),
        "account": ("rachunek", "account", "rachunek odbiorcy", "rachunek wirtualny"),
        "sender_name": ("nadawca", "sender", "sender name", "nazwa nadawcy"),
        "reference": ("referencja", "reference", "numer referencyjny"),
        "currency": ("waluta", "currency")}),
]
WBOK_REQUIRED = ("date", "amount", "title", "sender_account")


def _delimiter(text: str) -> str:
    sample = text[:20000]
    return ";" if sample.count(";") >= sample.count(",") and ";" in sample else ","


def parse_csv(text: str) -> Statement:
    sep = _delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise StatementError(f"to nie jest plik CSV ({exc}).") from exc
    rows = [(n, row) for n, row in rows if any(c.strip() for c in row)]
    if not rows:
        raise StatementError("plik jest pusty.")
    if _is_santander(rows):
        return _parse_santander(rows)
    for i, (_, row) in enumerate(rows[:60]):
        names = [norm_header(c) for c in row]
        for fmt, marks, aliases in LAYOUTS:
            if fmt == "csv":
                continue
            if all(m in names for m in marks):
                return _parse_layout(fmt, names, aliases, rows[:i], rows[i + 1:])
    n, first = rows[0]
    names = [norm_header(c) for c in first]
    aliases = LAYOUTS[-1][2]
    columns = _columns(names, aliases)
    missing = [aliases[k][0] for k in WBOK_REQUIRED if k not in columns]
    if missing:
        raise StatementError("nie rozpoznano układu pliku: brak kolumn " + ", ".join(missing)
                             + " w nagłówku (data;kwota;tytul;rachunek_nadawcy).", n)
    return _parse_layout("csv", names, aliases, [], rows[1:])


def _columns(names: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for key, options in aliases.items():
        for alias in options:
            if alias in names:
                columns[key] = names.index(alias)
                break
    return columns


def _parse_layout(fmt: str, names: list[str], aliases: dict, before: list, body: list) -> Statement:
    st = Statement(fmt)
    columns = _columns(names, aliases)
    # A header block above the table (mBank, ING) names the account and the currency.
    for _, row in before:
        line = " ".join(row)
        for m in re.finditer(r"(?<!\d)((?:PL)?\d{2}(?:[ ]?\d{4}){6})(?!\d)", line):
            st.accounts.add(account_digits(m.group(1)))
        if re.fullmatch(r"\s*[A-Z]{3}\s*", row[0] or "") and len(row) > 1:
            st.currencies.add(row[0].strip())
    details_at = columns.get("details")
    for n, row in body:
        if len(row) < len(columns) or (len(row) < len(names) and fmt == "csv"):
            raise StatementError(f"za mało kolumn ({len(row)} zamiast {len(names)}).", n)
        cell = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        if fmt == "mbank" and not re.match(r"\d{4}-\d{2}-\d{2}$", cell["date"]):
            continue  # mBank repeats totals and notes below the table
        amount, currency = parse_amount(cell["amount"], n)
        currency = cell.get("currency") or currency
        if currency:
            st.currencies.add(currency.upper())
        if amount < 0:
            st.debits += 1
            continue
        if amount == 0:
            continue
        when = parse_date(cell["date"], n)
        name, title, sender, paid_to, text = (cell.get("sender_name", ""), cell.get("title", ""),
                                              cell.get("sender_account", ""), cell.get("account", ""), "")
        if fmt == "mbank":
            name, title, sender = _mbank_description(cell.get("description", ""))
            paid_to = ""  # "4811 ... 0685": our own account, masked
        elif fmt == "pko":
            found = _pko_details(row[details_at:] if details_at is not None else [])
            name, title = found.get("nazwa nadawcy", ""), found.get("tytul", "")
            sender, paid_to = found.get("rachunek nadawcy", ""), found.get("rachunek odbiorcy", "")
            text = " ".join(row[details_at:]) if details_at is not None else ""
        st.payments.append(BankPayment(
            line=n, date=when, amount=amount, title=clean(title), sender_account=account_digits(sender),
            account=account_digits(paid_to), sender_name=clean(name),
            reference=clean(cell.get("reference", "")).strip("'"), text=text,
        ))
        if fmt in ("pekao", "pko") and paid_to:
            st.accounts.add(account_digits(paid_to))  # the credit's own account: ours
    return st


def _mbank_description(text: str) -> tuple[str, str, str]:
    """mBank's "Opis operacji": "NAME, TITLE   TYPE   ACCOUNT" in runs of spaces."""
    parts = [p.strip() for p in re.split(r"\s{3,}", text.strip()) if p.strip()]
    account = ""
    if parts and re.fullmatch(r"(?:[A-Z]{2}\d{2}[A-Z0-9 ]{8,30}|\d[\d ]{9,33})", parts[-1]):
        account = parts.pop()
    parts = [p for p in parts if not re.match(r"PRZELEW\b|WPŁATA\b|ZWROT\b", p.upper())]
    head = parts[0] if parts else ""
    name, _, title = head.partition(", ")
    return (name, title, account) if title else ("", head, account)


def _pko_details(cells: list[str]) -> dict[str, str]:
    """PKO puts "Label: value" in the cells after "Opis transakcji"."""
    out: dict[str, str] = {}
    for c in cells:
        label, sep, value = c.partition(":")
        if sep:
            out.setdefault(norm_header(label), value.strip())
    return out


def _is_santander(rows: list) -> bool:
    """Santander: no header; the first row is "to,from,'account,owner,PLN,…"."""
    _, first = rows[0]
    return (len(first) >= 5 and re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}", first[0].strip() or "-")
            is not None and first[2].strip().startswith("'") and re.fullmatch(r"[A-Z]{3}", first[4].strip())
            is not None)


def _parse_santander(rows: list) -> Statement:
    st = Statement("santander")
    _, first = rows[0]
    st.accounts.add(account_digits(first[2]))
    st.currencies.add(first[4].strip())
    for n, row in rows[1:]:
        if len(row) < 6:
            raise StatementError(f"za mało kolumn ({len(row)} zamiast 8).", n)
        amount, _ = parse_amount(row[5], n)
        if amount < 0:
            st.debits += 1
            continue
        if amount == 0:
            continue
        st.payments.append(BankPayment(
            line=n, date=parse_date(row[0], n), amount=amount, title=clean(row[2]),
            sender_account=account_digits(row[4]), sender_name=clean(row[3]),
        ))
    return st


def parse(data: bytes) -> Statement:
    """The statement in a file's bytes, whatever its layout; raises StatementError."""
    text, _ = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise StatementError("plik jest pusty.")
    if looks_like_mt940(text):
        return parse_mt940(text)
    return parse_csv(text)
