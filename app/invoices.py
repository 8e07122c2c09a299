"""Invoices: issuing a faktura VAT with a gapless number, and reading it back as a document."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app import db
from app.invoice_pdf import CorrectedLine, CorrectionDoc, InvoiceDoc, InvoiceLine, Party
from app.settings import ISP
from app.tables.customers import Customer
from app.tables.finances import Charge, CorrectionLine, Invoice, InvoiceCounter
from app.tables.finances import InvoiceLine as InvoiceLineRow
from app.transfer import virtual_account

__all__ = ["InvoiceError", "IssuedInvoice", "InvoiceLine", "InvoiceRequest", "issue_invoice",
           "issue_invoices", "series_key", "LineChange", "issue_correction", "current_lines",
           "format_number", "load_invoice_doc", "load_invoice_docs", "invoice_pdf",
           "invoices_pdf"]


class InvoiceError(ValueError):
    """The invoice cannot be issued (no such customer, no lines, bad amounts)."""


@dataclass(frozen=True)
class IssuedInvoice:
    """What issuing returns; amounts in grosze."""

    id: int
    number: str
    customer_id: int
    issue_date: date
    due_date: date
    total_gross: int
    charge_ids: tuple[int, ...]


def series_key(template: str, issue_date: date) -> str:
    """The series an invoice belongs to: the template with month and year filled in and
    `{n}` kept, e.g. "FV/{n}/11/2026"; numbering restarts in every new key."""
    return (template.replace("{MM}", f"{issue_date.month:02d}")
            .replace("{YYYY}", f"{issue_date.year:04d}"))


def format_number(series: str, seq: int) -> str:
    return series.replace("{n}", str(seq))


@dataclass(frozen=True)
class InvoiceRequest:
    """One invoice to issue: `lines` gross in grosze; dates as in issue_invoice."""

    customer_id: int
    lines: Sequence[InvoiceLine]
    issue_date: date
    sale_date: date | None = None
    due_date: date | None = None


async def issue_invoice(
    customer_id: int,
    lines: Sequence[InvoiceLine],
    issue_date: date,
    isp: ISP,
    *,
    sale_date: date | None = None,
    due_date: date | None = None,
) -> IssuedInvoice:
    """Issue one invoice for `lines` and book one charge per line, linked to it.

    Everything happens in one write transaction: the next number of the series
    (gapless, safe with concurrent issuers on SQLite and PostgreSQL), the frozen copy
    of seller, buyer and the buyer's virtual account, the lines and the charges.
    `sale_date` defaults to `issue_date`, `due_date` to issue + `isp.payment_days`.
    Not idempotent by itself: a caller that must issue once per period (the monthly
    billing job) claims its run key first (app/jobs.py)."""
    request = InvoiceRequest(customer_id, lines, issue_date, sale_date, due_date)
    return (await issue_invoices([request], isp))[0]


async def issue_invoices(requests: Sequence[InvoiceRequest], isp: ISP) -> list[IssuedInvoice]:
    """Issue many invoices in ONE transaction, all or none, numbered in the order given.

    The same rules as issue_invoice, with a few queries per batch instead of per
    invoice (a monthly run over thousands of customers; chunk it to keep each
    transaction short: other issuers wait for the series lock meanwhile)."""
    for req in requests:
        if not req.lines:
            raise InvoiceError("Faktura musi mieć co najmniej jedną pozycję.")
        if any(line.gross <= 0 for line in req.lines):
            raise InvoiceError("Wartość pozycji faktury musi być dodatnia.")
    if not requests:
        return []
    series = [series_key(isp.invoice_series, req.issue_date) for req in requests]
    async with db.transaction():
        buyers = await _buyers({req.customer_id for req in requests})
        missing = {req.customer_id for req in requests} - buyers.keys()
        if missing:
            raise InvoiceError(f"Nie ma klienta o ID {min(missing)}.")
        seqs = await _allocate(series)
        heads = [_invoice_row(req, key, seq, buyers[req.customer_id], isp)
                 for req, key, seq in zip(requests, series, seqs)]
        for i in range(0, len(heads), 400):
            await Invoice.insert(*heads[i:i + 400])
        numbers = [h.number for h in heads]
        ids = {}
        for i in range(0, len(numbers), 400):
            rows = await Invoice.select(Invoice.id, Invoice.number).where(
                Invoice.number.is_in(numbers[i:i + 400]))
            ids.update((r["number"], r["id"]) for r in rows)
        line_rows, charge_rows = [], []
        for req, head in zip(requests, heads):
            for pos, line in enumerate(req.lines, start=1):
                line_rows.append(InvoiceLineRow(
                    invoice=ids[head.number], position=pos, description=line.description,
                    quantity=line.quantity, unit=line.unit, gross=line.gross, vat_rate=line.vat_rate))
                charge_rows.append(Charge(customer=req.customer_id, date=req.issue_date,
                                          description=line.description, amount=line.gross,
                                          invoice=ids[head.number]))
        charge_ids: list[int] = []
        for i in range(0, len(line_rows), 400):
            await InvoiceLineRow.insert(*line_rows[i:i + 400])
            rows = await Charge.insert(*charge_rows[i:i + 400]).returning(Charge.id, Charge.invoice)
            charge_ids += [(r["invoice"], r["id"]) for r in rows]
    by_invoice: dict[int, list[int]] = {}
    for invoice_id, charge_id in charge_ids:
        by_invoice.setdefault(invoice_id, []).append(charge_id)
    return [IssuedInvoice(id=ids[h.number], number=h.number, customer_id=req.customer_id,
                          issue_date=req.issue_date, due_date=h.due_date, total_gross=h.total_gross,
                          charge_ids=tuple(sorted(by_invoice[ids[h.number]])))
            for req, h in zip(requests, heads)]


async def _buyers(customer_ids: set[int]) -> dict[int, dict]:
    rows = await Customer.select(
        Customer.id, Customer.name, Customer.street, Customer.postal_code, Customer.city, Customer.nip
    ).where(Customer.id.is_in(list(customer_ids)))
    return {r["id"]: r for r in rows}


async def _allocate(series: list[str]) -> list[int]:
    """Consecutive numbers for each entry of `series`, in order (one bump per series)."""
    counts: dict[str, int] = {}
    for key in series:
        counts[key] = counts.get(key, 0) + 1
    next_seq = {key: await _next_seq(key, n) - n + 1 for key, n in counts.items()}
    out = []
    for key in series:
        out.append(next_seq[key])
        next_seq[key] += 1
    return out


def _invoice_row(req: InvoiceRequest, series: str, seq: int, buyer: dict, isp: ISP) -> Invoice:
    net = sum(line.net for line in req.lines)
    gross = sum(line.gross for line in req.lines)
    return Invoice(
        number=format_number(series, seq), series=series, seq=seq, customer=req.customer_id,
        issue_date=req.issue_date, sale_date=req.sale_date or req.issue_date,
        due_date=req.due_date or req.issue_date + timedelta(days=isp.payment_days),
        seller_name=isp.name, seller_address=isp.address, seller_nip=isp.nip,
        buyer_name=buyer["name"], buyer_address=_address(buyer), buyer_nip=buyer["nip"] or "",
        bank_account=virtual_account(isp, req.customer_id), bank_name=isp.bank_name,
        total_net=net, total_vat=gross - net, total_gross=gross,
    )


async def _next_seq(series: str, count: int = 1) -> int:
    """Bump the series counter by `count` and return the new last value; must run
    inside the issuing transaction. The upsert is atomic on both engines; on PostgreSQL it holds the row
    lock until commit, so a second issuer waits and then sees the committed value."""
    table = InvoiceCounter._meta.tablename
    rows = await InvoiceCounter.raw(
        f'INSERT INTO "{table}" ("series", "last_seq") VALUES ({{}}, {{}}) '
        f'ON CONFLICT ("series") DO UPDATE SET "last_seq" = "{table}"."last_seq" + {{}} '
        f'RETURNING "last_seq"',
        series, count, count,
    )
    return rows[0]["last_seq"]


def _address(row: dict) -> str:
    town = " ".join(x for x in (row["postal_code"], row["city"]) if x)
    return ", ".join(x for x in (row["street"], town) if x)


_DOC_COLUMNS = (
    Invoice.id, Invoice.number, Invoice.customer, Invoice.issue_date, Invoice.sale_date,
    Invoice.due_date, Invoice.seller_name, Invoice.seller_address, Invoice.seller_nip,
    Invoice.buyer_name, Invoice.buyer_address, Invoice.buyer_nip, Invoice.bank_account,
    Invoice.bank_name, Invoice.payment_method, Invoice.kind, Invoice.corrected_number,
    Invoice.corrected_issue_date, Invoice.reason,
)


# --- corrections (faktura korygująca, art. 106j) -----------------------------------------

@dataclass(frozen=True)
class LineChange:
    """What a line should be: its `position` on the corrected invoice, the quantity and
    the gross unit price after the correction (quantity 0 cancels the line)."""

    position: int
    quantity: int
    unit_gross: int


async def current_lines(invoice_id: int) -> list[CorrectedLine] | None:
    """The invoice's lines as they stand now: as issued, with every correction issued
    for it so far applied in order (before = after = the current state). None when
    there is no such invoice of kind "invoice"."""
    if not await Invoice.exists().where((Invoice.id == invoice_id) & (Invoice.kind == "invoice")):
        return None
    state = {}
    for r in await InvoiceLineRow.select().where(InvoiceLineRow.invoice == invoice_id).order_by(
            InvoiceLineRow.position):
        state[r["position"]] = CorrectedLine(r["position"], r["description"], r["unit"], r["vat_rate"],
                                             r["quantity"], r["gross"], r["quantity"], r["gross"])
    for r in await CorrectionLine.select().where(CorrectionLine.correction.corrects == invoice_id).order_by(
            CorrectionLine.correction).order_by(CorrectionLine.position):
        old = state[r["position"]]
        state[r["position"]] = CorrectedLine(old.position, old.description, old.unit, old.vat_rate,
                                             r["quantity_after"], r["gross_after"], r["quantity_after"],
                                             r["gross_after"])
    return [state[k] for k in sorted(state)]


async def issue_correction(invoice_id: int, changes: Sequence[LineChange], reason: str, issue_date: date,
                           isp: ISP) -> IssuedInvoice | None:
    """Issue a faktura korygująca for `invoice_id`: a new immutable document in its own
    gapless series (`isp.correction_series`), referencing the corrected invoice's number
    and date, with before/after per changed line, and one charge per line for the
    difference (negative: the balance goes down). None when there is no such invoice.
    Corrections of corrections are not issued: a second correction of the invoice
    starts from the state after the first."""
    if not await Invoice.exists().where((Invoice.id == invoice_id) & (Invoice.kind == "invoice")):
        return None
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceError("Podaj przyczynę korekty.")
    if len(reason) > 300:
        raise InvoiceError("Przyczyna korekty może mieć najwyżej 300 znaków.")
    series = series_key(isp.correction_series, issue_date)
    async with db.transaction():
        # The number first: bumping the series counter locks it until commit, so two
        # corrections at once are serialised and the second reads the first's lines
        # (a rollback below takes the number back, no gap).
        seq = await _next_seq(series)
        lines = await current_lines(invoice_id)
        if lines is None:
            raise InvoiceError("Nie ma takiej faktury.")  # rolls the number back
        by_pos = {x.position: x for x in lines}
        corrected: list[CorrectedLine] = []
        for ch in changes:
            old = by_pos.get(ch.position)
            if old is None:
                raise InvoiceError(f"Faktura nie ma pozycji {ch.position}.")
            if ch.quantity < 0 or ch.unit_gross < 0:
                raise InvoiceError("Ilość i cena po korekcie nie mogą być ujemne.")
            after = ch.quantity * ch.unit_gross
            if (ch.quantity, after) == (old.quantity_after, old.gross_after):
                continue
            corrected.append(CorrectedLine(old.position, old.description, old.unit, old.vat_rate,
                                           old.quantity_after, old.gross_after, ch.quantity, after))
        if not corrected:
            raise InvoiceError("Korekta niczego nie zmienia: zmień ilość albo cenę co najmniej jednej pozycji.")
        original = await Invoice.select().where(Invoice.id == invoice_id).first()
        net = sum(x.net_diff for x in corrected)
        gross = sum(x.gross_diff for x in corrected)
        head = Invoice(
            number=format_number(series, seq), series=series, seq=seq, customer=original["customer"],
            issue_date=issue_date, sale_date=original["sale_date"],
            due_date=issue_date + timedelta(days=isp.payment_days),
            # The parties as on the corrected invoice (frozen there), the seller as now.
            seller_name=isp.name, seller_address=isp.address, seller_nip=isp.nip,
            buyer_name=original["buyer_name"], buyer_address=original["buyer_address"],
            buyer_nip=original["buyer_nip"], bank_account=original["bank_account"],
            bank_name=isp.bank_name, payment_method=original["payment_method"],
            total_net=net, total_vat=gross - net, total_gross=gross, kind="correction",
            corrects=invoice_id, corrected_number=original["number"],
            corrected_issue_date=original["issue_date"], reason=reason,
        )
        correction_id = (await Invoice.insert(head).returning(Invoice.id))[0]["id"]
        await CorrectionLine.insert(*[CorrectionLine(
            correction=correction_id, position=x.position, description=x.description, unit=x.unit,
            vat_rate=x.vat_rate, quantity_before=x.quantity_before, gross_before=x.gross_before,
            quantity_after=x.quantity_after, gross_after=x.gross_after) for x in corrected])
        rows = await Charge.insert(*[Charge(
            customer=original["customer"], date=issue_date, description=f"Korekta: {x.description}"[:200],
            amount=x.gross_diff, invoice=correction_id) for x in corrected if x.gross_diff]
        ).returning(Charge.id) if any(x.gross_diff for x in corrected) else []
    return IssuedInvoice(id=correction_id, number=head.number, customer_id=original["customer"],
                         issue_date=issue_date, due_date=head.due_date, total_gross=gross,
                         charge_ids=tuple(r["id"] for r in rows))


async def corrections_of(invoice_id: int) -> list[dict]:
    return await Invoice.select(Invoice.id, Invoice.number, Invoice.issue_date, Invoice.total_gross).where(
        Invoice.corrects == invoice_id).order_by(Invoice.id)


async def load_invoice_docs(invoice_ids: Sequence[int], customer_id: int | None = None
                            ) -> list[InvoiceDoc] | None:
    """The documents for `invoice_ids`, in the order given (duplicates dropped), built
    only from the frozen invoice rows. None when any ID is missing or, with
    `customer_id`, belongs to someone else: a mixed request gets nothing at all."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        return []
    query = Invoice.select(*_DOC_COLUMNS).where(Invoice.id.is_in(ids))
    if customer_id is not None:
        query = query.where(Invoice.customer == customer_id)
    heads = {row["id"]: row for row in await query}
    if len(heads) != len(ids):
        return None
    lines: dict[int, list] = {i: [] for i in ids}
    for row in await InvoiceLineRow.select().where(InvoiceLineRow.invoice.is_in(ids)).order_by(
            InvoiceLineRow.invoice).order_by(InvoiceLineRow.position):
        lines[row["invoice"]].append(InvoiceLine(row["description"], row["quantity"], row["unit"],
                                                 row["gross"], row["vat_rate"]))
    fixes = [i for i in ids if heads[i]["kind"] == "correction"]
    if fixes:
        for row in await CorrectionLine.select().where(CorrectionLine.correction.is_in(fixes)).order_by(
                CorrectionLine.correction).order_by(CorrectionLine.position):
            lines[row["correction"]].append(CorrectedLine(
                row["position"], row["description"], row["unit"], row["vat_rate"], row["quantity_before"],
                row["gross_before"], row["quantity_after"], row["gross_after"]))
    return [_correction_doc(heads[i], lines[i]) if heads[i]["kind"] == "correction" else _doc(heads[i], lines[i])
            for i in ids]


async def load_invoice_doc(invoice_id: int, customer_id: int | None = None) -> InvoiceDoc | None:
    docs = await load_invoice_docs([invoice_id], customer_id)
    return docs[0] if docs else None


def _correction_doc(head: dict, lines: list[CorrectedLine]) -> CorrectionDoc:
    return CorrectionDoc(
        number=head["number"], issue_date=head["issue_date"], sale_date=head["sale_date"],
        due_date=head["due_date"],
        seller=Party(head["seller_name"], head["seller_address"], head["seller_nip"] or None),
        buyer=Party(head["buyer_name"], head["buyer_address"], head["buyer_nip"] or None,
                    customer_id=head["customer"]),
        corrected_number=head["corrected_number"], corrected_issue_date=head["corrected_issue_date"],
        reason=head["reason"], lines=tuple(lines), bank_account=head["bank_account"],
        payment_method=head["payment_method"], bank_name=head["bank_name"],
    )


def _doc(head: dict, lines: list[InvoiceLine]) -> InvoiceDoc:
    return InvoiceDoc(
        number=head["number"], issue_date=head["issue_date"], sale_date=head["sale_date"],
        due_date=head["due_date"],
        seller=Party(head["seller_name"], head["seller_address"], head["seller_nip"] or None),
        buyer=Party(head["buyer_name"], head["buyer_address"], head["buyer_nip"] or None,
                    customer_id=head["customer"]),
        lines=tuple(lines), bank_account=head["bank_account"],
        payment_method=head["payment_method"], bank_name=head["bank_name"],
    )


# Issued invoices never change, so their PDF bytes can be kept. A bounded in-process
# LRU (about 25 KB each, so ~6 MB at most) rather than bytes in the database: nothing
# to migrate or back up, a restart only costs one re-render, and a fix to the PDF
# template reaches old invoices too (the data printed is frozen; the layout is not).
# The key is the frozen document itself, not its ID: equal documents print equally,
# and a recycled ID (a test database, a restored backup) can never serve stale bytes.
_PDF_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PDF_LOCK = threading.Lock()
PDF_CACHE_SIZE = 256


def _cached_render(doc: InvoiceDoc, ksef=None) -> bytes:
    from app.invoice_pdf import render_invoice

    key = (doc, ksef)  # the KSeF stamp (frozen too) changes the printout once accepted
    with _PDF_LOCK:
        pdf = _PDF_CACHE.get(key)
        if pdf is not None:
            _PDF_CACHE.move_to_end(key)
            return pdf
    pdf = render_invoice(doc, ksef)
    with _PDF_LOCK:
        _PDF_CACHE[key] = pdf
        while len(_PDF_CACHE) > PDF_CACHE_SIZE:
            _PDF_CACHE.popitem(last=False)
    return pdf


async def invoice_pdf(doc: InvoiceDoc, ksef=None) -> bytes:
    """One invoice's PDF, rendered in a worker thread, cached (see _PDF_CACHE); `ksef` is
    its app.ksef.Stamp, if any."""
    from app.pdf import in_thread

    return await in_thread(_cached_render, doc, ksef)


async def invoices_pdf(docs: list[InvoiceDoc], ksefs: list | None = None) -> bytes:
    """Several invoices as one PDF (in a worker thread); a single one comes from the cache.
    Selections are not cached: they are rarely repeated exactly."""
    from app.invoice_pdf import render_invoices
    from app.pdf import in_thread

    if len(docs) == 1:
        return await invoice_pdf(docs[0], ksefs[0] if ksefs else None)
    return await in_thread(render_invoices, docs, ksefs)


async def transfer_pdf(form) -> bytes:
    """The pre-filled transfer form (an app.transfer.TransferForm) as PDF, in a worker
    thread like the invoices; not cached, its amount follows the balance."""
    from app.invoice_pdf import render_transfer
    from app.pdf import in_thread

    return await in_thread(render_transfer, form)
