"""FA(3): the structured invoice of KSeF, built from the same frozen document as the PDF.

`build_xml(doc, created_at)` turns an app.invoice_pdf.InvoiceDoc into FA(3) XML with the
ksef-client SDK's builders, then fixes the two header fields the SDK fills from the clock
(DataWytworzeniaFa, SystemInfo) so that the same invoice always gives the same bytes.
`xsd_error(xml)` validates against the official FA(3) schema the SDK ships (the MF's
files, also in ../shared/ksef-fa3/) and returns the error text, or None when valid.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from ksef_client.documents.fa3 import (
    Address,
    BankAccount,
    BasicInvoiceBuilder,
    CorrectionInvoiceBuilder,
    FA3XmlValidationError,
    InvoiceLine as FaLine,
    InvoiceParty,
    PartyIdentifier,
    PaymentTerms,
    TaxCategory,
    validate_fa3_xml_xsd,
)
from lxml import etree

from app.invoice_pdf import CorrectionDoc, InvoiceDoc, InvoiceLine, Party, net_from_gross

FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SYSTEM_INFO = "WBOK"
TRANSFER = "6"  # FormaPlatnosci: przelew


@dataclass(frozen=True)
class CorrectionRef:
    """What a corrective invoice points at: the corrected invoice and why."""

    number: str
    issue_date: date
    reason: str
    ksef_number: str | None = None
    # The corrected invoice's lines as they stood ("before"); the new doc's lines are "after".
    before: tuple[InvoiceLine, ...] = ()


def _zl(grosze: int) -> Decimal:
    return Decimal(grosze).scaleb(-2)


def _tax(rate: int) -> TaxCategory:
    if rate == 0:
        return TaxCategory.zero_domestic()
    return {23: TaxCategory.standard_23, 8: TaxCategory.reduced_8,
            5: TaxCategory.reduced_5}.get(rate, lambda: TaxCategory.from_vat_rate(rate))()


def _address(text: str) -> Address:
    """"ul. Łąkowa 1, 30-001 Kraków" -> AdresL1 "ul. Łąkowa 1", AdresL2 "30-001 Kraków"."""
    street, sep, city = text.rpartition(", ")
    return Address.polish(street, city) if sep else Address.polish(text)


def _party(party: Party) -> InvoiceParty:
    ident = PartyIdentifier.polish_nip(party.nip) if party.nip else PartyIdentifier.none()
    return InvoiceParty(name=party.name, identifier=ident, address=_address(party.address),
                        customer_number=str(party.customer_id) if party.customer_id else None)


def _fa_line(description: str, unit: str, quantity: int, gross: int, rate: int) -> FaLine:
    """WBOK sells at gross prices: the line carries gross (P_11A, P_9B) and the net and
    VAT derived from it exactly as the PDF prints them. Quantity 0 is a cancelled line
    (the "after" state of a correction)."""
    net = net_from_gross(gross, rate)
    unit_net = (2 * net + quantity) // (2 * quantity) if quantity else 0
    return FaLine.create(description, quantity=quantity, unit=unit, unit_net_price=_zl(unit_net),
                         tax=_tax(rate), net_amount=_zl(net), vat_amount=_zl(gross - net),
                         gross_amount=_zl(gross),
                         unit_gross_price=_zl(gross // quantity) if quantity and gross % quantity == 0 else None)


def _line(line: InvoiceLine) -> FaLine:
    return _fa_line(line.description, line.unit, line.quantity, line.gross, line.vat_rate)


def build_xml(doc: InvoiceDoc | CorrectionDoc, created_at: datetime,
              correction: CorrectionRef | None = None, corrected_ksef_number: str | None = None) -> bytes:
    """The FA(3) XML of `doc`: a faktura VAT, or a faktura korygująca (an
    app.invoice_pdf.CorrectionDoc, or an InvoiceDoc with `correction`), whose lines are
    given before and after (StanPrzed). `corrected_ksef_number` is the corrected invoice's
    KSeF number when it has one."""
    if isinstance(doc, CorrectionDoc):
        correction = CorrectionRef(doc.corrected_number, doc.corrected_issue_date,
                                   doc.reason or "Korekta", corrected_ksef_number)
    if correction is None:
        builder = BasicInvoiceBuilder(invoice_number=doc.number)
    else:
        builder = CorrectionInvoiceBuilder(invoice_number=doc.number)
        builder.corrects_invoice(number=correction.number, issue_date=correction.issue_date,
                                 reason=correction.reason, ksef_number=correction.ksef_number)
    builder.issued_on(doc.issue_date).sale_date(doc.sale_date).currency("PLN")
    builder.seller(_party(doc.seller)).buyer(_party(doc.buyer))
    if isinstance(doc, CorrectionDoc):
        for line in doc.lines:
            builder.add_corrected_line_before_after(
                before=_fa_line(line.description, line.unit, line.quantity_before, line.gross_before, line.vat_rate),
                after=_fa_line(line.description, line.unit, line.quantity_after, line.gross_after, line.vat_rate))
    elif correction is None:
        for line in doc.lines:
            builder._append_line(_line(line))
    else:
        for before, after in zip(correction.before, doc.lines, strict=True):
            builder.add_corrected_line_before_after(before=_line(before), after=_line(after))
    builder.payment(PaymentTerms(
        due_dates=(doc.due_date,), method=TRANSFER,
        bank_accounts=(BankAccount(doc.bank_account, bank_name=doc.bank_name or None),)))
    xml = builder.build().to_xml(validate=True)
    return _freeze_header(xml, created_at)


def _freeze_header(xml: bytes, created_at: datetime) -> bytes:
    root = etree.fromstring(xml)
    stamp = created_at.astimezone(timezone.utc).replace(microsecond=0)
    ns = {"fa": FA3_NS}
    root.find("fa:Naglowek/fa:DataWytworzeniaFa", ns).text = stamp.isoformat().replace("+00:00", "Z")
    root.find("fa:Naglowek/fa:SystemInfo", ns).text = SYSTEM_INFO
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def xsd_error(xml: bytes) -> str | None:
    """None when `xml` is valid FA(3) by the official XSD, else the validator's message."""
    try:
        validate_fa3_xml_xsd(xml)
    except FA3XmlValidationError as exc:
        return str(exc) or "FA(3): dokument niezgodny ze schematem"
    return None


def sha256_b64(xml: bytes) -> str:
    """The document hash as KSeF wants it (SHA-256, base64)."""
    return base64.b64encode(hashlib.sha256(xml).digest()).decode()
