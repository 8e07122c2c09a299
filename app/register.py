"""Rejestr faktur — domain: the invoice register with its filters and VAT totals, and the
monthly exports for the accountant (sales register, payments, debtors) as streamed CSV.

The register lists documents: invoices (`kind` "invoice") and corrective invoices
("correction", app/invoices.py), both rows of the invoice table; `_documents()` is the one
place that says what feeds the register, and `rate_totals` the one that sums a document's
lines per VAT rate (a correction's by the difference of its lines after and before), so the
filters, pages, totals and the sales export follow."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from app import db, debtors
from app.invoice_pdf import net_from_gross
from app.money import format_input
from app.tables.finances import CorrectionLine, Invoice, InvoiceLine, Payment

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PAID_STATES = ("paid", "unpaid")
EMAIL_STATES = ("yes", "no")
BATCH = 500


class RegisterError(ValueError):
    """A filter that cannot be read; the message is Polish, for the operator or the CLI."""


def parse_month(text: str) -> tuple[date, date]:
    """"2026-11" → (1 Nov 2026, 1 Dec 2026): the month as a half-open range of days."""
    match = MONTH.match((text or "").strip())
    if not match:
        raise RegisterError(f"Miesiąc w formacie RRRR-MM, np. 2026-11 (podano {text!r}).")
    start = date(int(match[1]), int(match[2]), 1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@dataclass(frozen=True)
class Filters:
    month: str = ""  # "YYYY-MM" of the issue date, "" for all
    q: str = ""  # a document number (or its start), a customer ID, part of the buyer's name
    paid: str = ""  # "paid", "unpaid" or ""
    emailed: str = ""  # "yes", "no" or ""


def _documents() -> str:
    """Every register document with the same columns. `paid`: the customer's payments so
    far cover everything charged up to the document's issue date (payments settle the
    oldest charges first); `emailed`: its e-mail delivery was accepted by the SMTP server."""
    return """
        SELECT i.kind AS kind, i.id AS id, i.number AS number, i.customer AS customer,
               i.issue_date AS issue_date, i.sale_date AS sale_date, i.due_date AS due_date,
               i.buyer_name AS buyer_name, i.buyer_nip AS buyer_nip, i.buyer_address AS buyer_address,
               i.total_net AS total_net, i.total_vat AS total_vat, i.total_gross AS total_gross,
               CASE WHEN (SELECT COALESCE(SUM(p.amount), 0) FROM payment p WHERE p.customer = i.customer)
                      >= (SELECT COALESCE(SUM(c.amount), 0) FROM charge c
                          WHERE c.customer = i.customer AND c.date <= i.issue_date)
                    THEN 1 ELSE 0 END AS paid,
               CASE WHEN EXISTS (SELECT 1 FROM invoice_delivery d
                                 WHERE d.invoice = i.id AND d.sent_at IS NOT NULL)
                    THEN 1 ELSE 0 END AS emailed
        FROM invoice i"""


def _where(filters: Filters) -> tuple[str, list]:
    from app.auth import parse_customer_id

    parts, args = [], []
    if filters.month:
        start, end = parse_month(filters.month)
        parts.append("r.issue_date >= {} AND r.issue_date < {}")
        args += [start, end]
    q = filters.q.strip()[:100]
    if q:
        like = "LIKE" if db.is_sqlite() else "ILIKE"
        pattern = "%" + q.replace("%", "").replace("_", " ") + "%"
        cond = f"r.number {like} {{}} OR r.buyer_name {like} {{}}"
        args += [pattern, pattern]
        if (cid := parse_customer_id(q)) is not None and cid < 2**31:
            cond += " OR r.customer = {}"
            args.append(cid)
        parts.append(f"({cond})")
    if filters.paid in PAID_STATES:
        parts.append(f"r.paid = {1 if filters.paid == 'paid' else 0}")
    if filters.emailed in EMAIL_STATES:
        parts.append(f"r.emailed = {1 if filters.emailed == 'yes' else 0}")
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


def _as_date(value) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _row(r: dict) -> dict:
    for k in ("issue_date", "sale_date", "due_date"):
        r[k] = _as_date(r[k])
    for k in ("total_net", "total_vat", "total_gross"):
        r[k] = int(r[k])
    r["paid"], r["emailed"] = bool(r["paid"]), bool(r["emailed"])
    return r


@dataclass(frozen=True)
class RateTotal:
    vat_rate: int
    net: int
    vat: int
    gross: int


@dataclass
class RegisterPage:
    rows: list[dict]
    page: int
    pages: int
    total: int
    filters: Filters
    rates: list[RateTotal] = field(default_factory=list)

    @property
    def gross(self) -> int:
        return sum(r.gross for r in self.rates)


async def _query(filters: Filters, tail: str = "", tail_args: list | None = None) -> list[dict]:
    where, args = _where(filters)
    sql = f"SELECT * FROM ({_documents()}) r{where}{tail}"
    return await Invoice.raw(sql, *args, *(tail_args or []))


async def rate_totals(invoice_ids: list[int]) -> dict[int, dict[int, list[int]]]:
    """{invoice ID: {VAT rate: [net, vat, gross]}}, each line's net rounded as printed."""
    totals: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for start in range(0, len(invoice_ids), BATCH):
        chunk = invoice_ids[start:start + BATCH]
        for line in await InvoiceLine.select(InvoiceLine.invoice, InvoiceLine.gross, InvoiceLine.vat_rate).where(
                InvoiceLine.invoice.is_in(chunk)):
            net = net_from_gross(line["gross"], line["vat_rate"])
            t = totals[line["invoice"]][line["vat_rate"]]
            t[0], t[1], t[2] = t[0] + net, t[1] + line["gross"] - net, t[2] + line["gross"]
        for line in await CorrectionLine.select(
                CorrectionLine.correction, CorrectionLine.vat_rate, CorrectionLine.gross_before,
                CorrectionLine.gross_after).where(CorrectionLine.correction.is_in(chunk)):
            rate = line["vat_rate"]
            net = net_from_gross(line["gross_after"], rate) - net_from_gross(line["gross_before"], rate)
            gross = line["gross_after"] - line["gross_before"]
            t = totals[line["correction"]][rate]
            t[0], t[1], t[2] = t[0] + net, t[1] + gross - net, t[2] + gross
    return totals


async def register(filters: Filters, page: int = 1, per_page: int = 50) -> RegisterPage:
    """One page of the filtered register, newest first, with the VAT totals of the whole
    filtered set (not only of the page)."""
    ids = [r["id"] for r in await _query(filters)]
    total = len(ids)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = [_row(r) for r in await _query(filters, " ORDER BY r.issue_date DESC, r.id DESC LIMIT {} OFFSET {}",
                                          [per_page, (page - 1) * per_page])]
    by_rate: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for per_invoice in (await rate_totals(ids)).values():
        for rate, (net, vat, gross) in per_invoice.items():
            t = by_rate[rate]
            t[0], t[1], t[2] = t[0] + net, t[1] + vat, t[2] + gross
    rates = [RateTotal(rate, *by_rate[rate]) for rate in sorted(by_rate, reverse=True)]
    return RegisterPage(rows, page, pages, total, filters, rates)


# --- CSV exports --------------------------------------------------------------------

def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def amount(grosze: int) -> str:
    """Polish decimal comma, no thousands separator, no currency: "1234,56"."""
    return format_input(int(grosze))


SALES_HEADER = ["Lp.", "Rodzaj", "Numer", "Data wystawienia", "Data sprzedaży", "Termin płatności",
                "ID Klienta", "Nabywca", "NIP nabywcy", "Adres nabywcy", "Stawka VAT (%)",
                "Netto", "VAT", "Brutto"]
PAYMENTS_HEADER = ["Lp.", "Data", "ID Klienta", "Klient", "Tytuł", "Kwota", "Źródło", "Referencja"]
DEBTORS_HEADER = ["Lp.", "ID Klienta", "Klient", "Adres", "E-mail", "Telefon", "Zaległość",
                  "Najstarsza nieopłacona od", "Dni po terminie", "Ostatnie przypomnienie", "Kanał"]
KINDS = {"invoice": "faktura VAT", "correction": "faktura korygująca"}
CHANNEL_NAMES = {"email": "e-mail", "paper": "list", "": ""}


async def sales_csv(month: str) -> AsyncIterator[str]:
    """The sales register of a month: one line per document and VAT rate, in batches of
    BATCH documents (never the whole month in memory). UTF-8 with BOM, `;`, decimal comma."""
    parse_month(month)
    yield "\ufeff" + _csv_line(SALES_HEADER)
    n, last = 0, 0
    while True:
        # Filters(month=...) always makes a WHERE, which this tail continues.
        rows = [_row(r) for r in await _query(Filters(month=month), " AND r.id > {} ORDER BY r.id LIMIT {}",
                                              [last, BATCH])]
        if not rows:
            return
        totals = await rate_totals([r["id"] for r in rows])
        for r in rows:
            for rate in sorted(totals[r["id"]], reverse=True):
                net, vat, gross = totals[r["id"]][rate]
                n += 1
                yield _csv_line([n, KINDS.get(r["kind"], r["kind"]), r["number"], r["issue_date"].isoformat(),
                                 r["sale_date"].isoformat(), r["due_date"].isoformat(), r["customer"],
                                 r["buyer_name"], r["buyer_nip"], r["buyer_address"], rate,
                                 amount(net), amount(vat), amount(gross)])
        last = rows[-1]["id"]


async def payments_csv(month: str) -> AsyncIterator[str]:
    """Payments dated in the month, by date, in batches."""
    start, end = parse_month(month)
    yield "\ufeff" + _csv_line(PAYMENTS_HEADER)
    n, last = 0, 0
    while True:
        rows = await Payment.select(Payment.id, Payment.date, Payment.customer, Payment.customer.name,
                                    Payment.title, Payment.amount, Payment.source, Payment.reference).where(
            (Payment.date >= start) & (Payment.date < end) & (Payment.id > last)).order_by(Payment.id).limit(BATCH)
        if not rows:
            return
        for r in rows:
            n += 1
            yield _csv_line([n, _as_date(r["date"]).isoformat(), r["customer"], r["customer.name"], r["title"],
                             amount(r["amount"]), r["source"], r["reference"] or ""])
        last = rows[-1]["id"]


def month_end(month: str, today: date) -> date:
    """The last day of the month, or today while the month lasts."""
    _, end = parse_month(month)
    return min(end - timedelta(days=1), today)


async def debtors_csv(month: str, today: date) -> AsyncIterator[str]:
    """Debtors as of the month's last day (today for the current month)."""
    as_of = month_end(month, today)
    yield "\ufeff" + _csv_line(DEBTORS_HEADER)
    for n, d in enumerate(await debtors.debtors(as_of, sort="id"), 1):
        yield _csv_line([n, d.id, d.name, d.address, d.email, d.phone, amount(d.debt),
                         d.oldest_unpaid.isoformat() if d.oldest_unpaid else "", d.days_overdue,
                         d.last_reminder.date().isoformat() if d.last_reminder else "",
                         CHANNEL_NAMES.get(d.last_channel, d.last_channel)])


EXPORTS = {"sales": "rejestr-sprzedazy", "payments": "wplaty", "debtors": "dluznicy"}


def export(kind: str, month: str, today: date) -> AsyncIterator[str]:
    """The CSV lines of one export; RegisterError for a bad month (checked before any line)."""
    parse_month(month)
    if kind == "sales":
        return sales_csv(month)
    if kind == "payments":
        return payments_csv(month)
    if kind == "debtors":
        return debtors_csv(month, today)
    raise RegisterError(f"Nieznany eksport {kind!r}: sales, payments albo debtors.")
