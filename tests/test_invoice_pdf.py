"""Invoice PDF: VAT arithmetic, and the text that really lands in the PDFs."""

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from xhtml2pdf.config.resources import ResourceAccessPolicy

from app import pdf
from app.invoice_pdf import (
    InvoiceDoc,
    InvoiceLine,
    Party,
    RateTotal,
    _div_half_up,
    net_from_gross,
    render_invoice,
    render_invoices,
    render_transfer,
)
from app.settings import ISP
from app.transfer import build_transfer

ISP_ = ISP()
BUYER = Party("Zażółć Gęślą Jaźń Spółdzielnia „Łąka”", "ul. Źródlana 12/3, 62-001 Chludowo",
              "7792433421", 42)


@pytest.fixture
def clean_db():
    """Pure domain code: no database to wipe (shadows conftest's autouse fixture)."""


def make_doc(number="FV/7/11/2025", lines=None):
    lines = lines or (InvoiceLine("Abonament internetowy 300/50 Mb/s", 1, "usł.", 123456, 23),)
    return InvoiceDoc(
        number=number,
        issue_date=date(2025, 11, 3),
        sale_date=date(2025, 10, 31),
        due_date=date(2025, 11, 17),
        seller=Party.from_isp(ISP_),
        buyer=BUYER,
        lines=tuple(lines),
        bank_account=ISP_.bank_account,
    )


def pdf_text(data: bytes) -> list[str]:
    """Each page's text with whitespace runs collapsed, so wrapped cells still match."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize(
    ("numerator", "denominator", "quotient"),
    [(5, 2, 3), (7, 2, 4), (-5, 2, -3), (1, 3, 0), (2, 3, 1), (0, 7, 0)],
)
def test_div_half_up(numerator, denominator, quotient):
    assert _div_half_up(numerator, denominator) == quotient


@pytest.mark.parametrize(
    ("gross", "rate", "net"),
    [(12300, 23, 10000), (7999, 23, 6503), (7999, 8, 7406), (10800, 8, 10000), (5000, 0, 5000),
     (1, 23, 1), (-12300, 23, -10000)],
)
def test_net_from_gross(gross, rate, net):
    assert net_from_gross(gross, rate) == net


def test_line_net_and_vat_add_up_to_gross():
    line = InvoiceLine("x", 3, "usł.", 7999, 23)
    assert (line.net, line.vat) == (6503, 1496)
    assert line.net + line.vat == line.gross
    assert line.unit_net == 2168


def test_line_refuses_zero_quantity():
    with pytest.raises(ValueError):
        InvoiceLine("x", 0, "usł.", 100, 23)


def test_totals_per_rate():
    doc = make_doc(lines=[
        InvoiceLine("a", 1, "usł.", 7999, 23),
        InvoiceLine("b", 1, "usł.", 4999, 8),
        InvoiceLine("c", 1, "usł.", 12300, 23),
    ])
    assert doc.rate_totals == [
        RateTotal(vat_rate=23, net=6503 + 10000, vat=1496 + 2300, gross=7999 + 12300),
        RateTotal(vat_rate=8, net=4629, vat=370, gross=4999),
    ]
    assert doc.total_gross == 25298
    assert doc.total_net + doc.total_vat == doc.total_gross
    assert doc.total_net == sum(t.net for t in doc.rate_totals)
    assert doc.amount_words == "dwieście pięćdziesiąt dwa złote 98/100"


def test_invoice_pdf_has_the_106e_fields():
    (text,) = pdf_text(render_invoice(make_doc()))
    for expected in [
        "Faktura VAT nr FV/7/11/2025",
        "Data wystawienia: 03.11.2025",
        "Data sprzedaży: 31.10.2025",
        "Termin płatności: 17.11.2025",
        f"NIP: {ISP_.nip}",
        "NIP: 7792433421",
        "Zażółć Gęślą Jaźń Spółdzielnia „Łąka”",
        "ID Klienta: 0042",
        "Razem do zapłaty: 1 234,56 zł",
        "Słownie: tysiąc dwieście trzydzieści cztery złote 56/100",
        "Forma płatności: przelew",
        "61 1090 1014 0000 0712 1981 2874",
        "1 003,71 zł",  # net
        "230,85 zł",  # VAT
        "23%",
    ]:
        assert expected in text, expected


def test_invoice_pdf_embeds_dejavu():
    page = PdfReader(io.BytesIO(render_invoice(make_doc()))).pages[0]
    fonts = [f.get_object()["/BaseFont"] for f in page["/Resources"]["/Font"].values()]
    assert any(name.endswith("+DejaVuSans") for name in fonts)
    assert any(name.endswith("+DejaVuSans-Bold") for name in fonts)


def test_invoice_pdf_keeps_every_line():
    lines = [
        InvoiceLine(f"Usługa numer {i:02d} ąćęłńóśźż", 1, "usł.", 1000 * i + 99, 23 if i % 2 else 8)
        for i in range(1, 13)
    ]
    text = " ".join(pdf_text(render_invoice(make_doc(lines=lines))))
    for i in range(1, 13):
        assert f"Usługa numer {i:02d} ąćęłńóśźż" in text
    assert "Razem do zapłaty: 791,88 zł" in text


def test_long_invoice_spreads_over_pages_without_losing_lines():
    lines = [InvoiceLine(f"Pozycja {i:03d}", 1, "usł.", 100 + i, 23) for i in range(1, 71)]
    pages = pdf_text(render_invoice(make_doc(lines=lines)))
    assert len(pages) >= 2
    text = " ".join(pages)
    assert all(f"Pozycja {i:03d}" in text for i in range(1, 71))
    assert "Lp." in pages[1]  # the header row repeats


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler's pdftotext")
def test_pdftotext_reads_polish_letters(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(render_invoice(make_doc()))
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True)
    assert "Zażółć Gęślą Jaźń" in out.stdout and "Słownie" in out.stdout


def test_merged_print_has_every_invoice():
    numbers = ["FV/1/11/2025", "FV/2/11/2025", "FV/3/11/2025"]
    pages = pdf_text(render_invoices(make_doc(number=n) for n in numbers))
    assert len(pages) == 3
    for number, page in zip(numbers, pages, strict=True):
        assert f"Faktura VAT nr {number}" in page


def test_merge_needs_parts():
    with pytest.raises(ValueError):
        pdf.merge_pdfs([])


def test_transfer_pdf():
    payer, address = "Grzegorz Brzęczyszczykiewicz", "ul. Żółkiewskiego 7, Łódź"
    form = build_transfer(ISP_, 42, payer, address, 123456)
    data = render_transfer(form)
    (text,) = pdf_text(data)
    assert text.count("72 1090 1014 0001 0000 0000 0042") == 2
    assert "1 234,56 zł" in text
    assert "tysiąc dwieście trzydzieści cztery złote 56/100" in text
    assert payer in text and address in text
    assert "Abonament, ID Klienta 0042" in text
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1  # the QR code


def test_a_refused_font_is_an_error_not_a_silent_fallback(monkeypatch):
    monkeypatch.setattr(pdf, "POLICY", ResourceAccessPolicy(base_dir=Path("/nonexistent")))
    with pytest.raises(pdf.PdfError, match="font"):
        render_invoice(make_doc())


@pytest.mark.anyio
async def test_render_pdf_async():
    data = await pdf.render_pdf_async("invoice.html", {"doc": make_doc()})
    assert "Faktura VAT nr FV/7/11/2025" in pdf_text(data)[0]


@pytest.mark.anyio
async def test_in_thread_runs_any_pdf_function():
    data = await pdf.in_thread(render_invoices, [make_doc(), make_doc("FV/8/11/2025")])
    assert len(PdfReader(io.BytesIO(data)).pages) == 2
