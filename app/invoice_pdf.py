"""Invoice PDF: the faktura VAT document (art. 106e) and its printouts."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.pdf import render_pdf
from app.settings import ISP
from app.transfer import TransferForm, amount_in_words, qr_png


def _div_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero; denominator > 0."""
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


def net_from_gross(gross: int, vat_rate: int) -> int:
    """Net grosze inside `gross` grosze at `vat_rate` percent, rounded half up."""
    return _div_half_up(gross * 100, 100 + vat_rate)


@dataclass(frozen=True)
class Party:
    """Seller or buyer as printed; the buyer's `customer_id` shows as "ID Klienta"."""

    name: str
    address: str
    nip: str | None = None
    customer_id: int | None = None

    @classmethod
    def from_isp(cls, isp: ISP) -> Party:
        return cls(name=isp.name, address=isp.address, nip=isp.nip)


@dataclass(frozen=True)
class InvoiceLine:
    """One line; `gross` is the whole line's value in grosze, `vat_rate` in percent.

    Prices are gross (a tariff is sold at its monthly gross), so net and VAT are
    derived from it, and net + vat == gross holds exactly.
    """

    description: str
    quantity: int
    unit: str
    gross: int
    vat_rate: int

    def __post_init__(self) -> None:
        if self.quantity <= 0 or self.vat_rate < 0:
            raise ValueError(f"bad invoice line: {self!r}")

    @property
    def net(self) -> int:
        return net_from_gross(self.gross, self.vat_rate)

    @property
    def vat(self) -> int:
        return self.gross - self.net

    @property
    def unit_net(self) -> int:
        return _div_half_up(self.net, self.quantity)


@dataclass(frozen=True)
class RateTotal:
    """Sums for one VAT rate, in grosze."""

    vat_rate: int
    net: int
    vat: int
    gross: int


@dataclass(frozen=True)
class InvoiceDoc:
    """An issued invoice as printed; everything needed, nothing read from the DB."""

    number: str
    issue_date: date
    sale_date: date
    due_date: date
    seller: Party
    buyer: Party
    lines: tuple[InvoiceLine, ...]
    bank_account: str
    payment_method: str = "przelew"
    bank_name: str = ""

    @property
    def rate_totals(self) -> list[RateTotal]:
        """Per rate, highest first; sums of the printed lines, so columns add up."""
        rates = sorted({line.vat_rate for line in self.lines}, reverse=True)
        return [self._rate_total(rate) for rate in rates]

    def _rate_total(self, rate: int) -> RateTotal:
        lines = [line for line in self.lines if line.vat_rate == rate]
        net, vat = sum(x.net for x in lines), sum(x.vat for x in lines)
        return RateTotal(vat_rate=rate, net=net, vat=vat, gross=net + vat)

    @property
    def total_net(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def total_vat(self) -> int:
        return sum(line.vat for line in self.lines)

    @property
    def total_gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def amount_words(self) -> str:
        return amount_in_words(self.total_gross)


@dataclass(frozen=True)
class CorrectedLine:
    """One corrected line of a faktura korygująca: the line before and after, gross
    values of the whole line in grosze (quantity after 0: the line is cancelled)."""

    position: int
    description: str
    unit: str
    vat_rate: int
    quantity_before: int
    gross_before: int
    quantity_after: int
    gross_after: int

    @property
    def net_before(self) -> int:
        return net_from_gross(self.gross_before, self.vat_rate)

    @property
    def net_after(self) -> int:
        return net_from_gross(self.gross_after, self.vat_rate)

    @property
    def net_diff(self) -> int:
        return self.net_after - self.net_before

    @property
    def gross_diff(self) -> int:
        return self.gross_after - self.gross_before

    @property
    def vat_diff(self) -> int:
        return self.gross_diff - self.net_diff

    @property
    def quantity_diff(self) -> int:
        return self.quantity_after - self.quantity_before


@dataclass(frozen=True)
class CorrectionRateTotal:
    """Per VAT rate: before, after and the difference, in grosze."""

    vat_rate: int
    net_before: int
    gross_before: int
    net_after: int
    gross_after: int

    @property
    def net_diff(self) -> int:
        return self.net_after - self.net_before

    @property
    def gross_diff(self) -> int:
        return self.gross_after - self.gross_before

    @property
    def vat_diff(self) -> int:
        return self.gross_diff - self.net_diff


@dataclass(frozen=True)
class CorrectionDoc:
    """A faktura korygująca (art. 106j) as printed: references the corrected invoice
    (number and issue date), the reason, and per line before / after / difference."""

    number: str
    issue_date: date
    sale_date: date
    due_date: date
    seller: Party
    buyer: Party
    corrected_number: str
    corrected_issue_date: date
    reason: str
    lines: tuple[CorrectedLine, ...]
    bank_account: str
    payment_method: str = "przelew"
    bank_name: str = ""

    @property
    def rate_totals(self) -> list[CorrectionRateTotal]:
        rates = sorted({line.vat_rate for line in self.lines}, reverse=True)
        out = []
        for rate in rates:
            ls = [x for x in self.lines if x.vat_rate == rate]
            out.append(CorrectionRateTotal(rate, sum(x.net_before for x in ls), sum(x.gross_before for x in ls),
                                           sum(x.net_after for x in ls), sum(x.gross_after for x in ls)))
        return out

    @property
    def total_net(self) -> int:
        return sum(line.net_diff for line in self.lines)

    @property
    def total_gross(self) -> int:
        return sum(line.gross_diff for line in self.lines)

    @property
    def total_vat(self) -> int:
        return self.total_gross - self.total_net

    @property
    def amount_words(self) -> str:
        return amount_in_words(abs(self.total_gross))


def render_invoice(doc: InvoiceDoc | CorrectionDoc, ksef=None) -> bytes:
    """One invoice (or corrective invoice) as PDF bytes (CPU work: run it via app.pdf.in_thread);
    `ksef` is its app.ksef.Stamp when it went to KSeF (the number and the verification QR codes)."""
    if isinstance(doc, CorrectionDoc):
        return render_pdf("correction.html", {"doc": doc, "ksef": ksef})
    return render_pdf("invoice.html", {"doc": doc, "ksef": ksef})


def render_invoices(docs: Iterable[InvoiceDoc | CorrectionDoc], ksefs: Iterable | None = None) -> bytes:
    """Several invoices in one PDF, each starting on its own page.

    One xhtml2pdf document rather than merged single PDFs: the font is embedded once,
    so 50 invoices weigh ~240 KB instead of ~2.3 MB, and render faster too."""
    docs = list(docs)
    if not docs:
        raise ValueError("no invoices to render")
    ksefs = list(ksefs) if ksefs is not None else [None] * len(docs)
    return render_pdf("invoices.html", {"docs": docs, "ksefs": ksefs})


def render_transfer(form: TransferForm) -> bytes:
    """The transfer form with its QR code, as PDF bytes."""
    png = base64.b64encode(qr_png(form.qr)).decode("ascii")
    return render_pdf("transfer.html", {"form": form, "qr_src": f"data:image/png;base64,{png}"})
