"""KSeF: the FA(3) XML of every invoice shape, which invoices go, the session flow against a
stand-in of KSeF API v2 (tests/ksef_standin.py: KSeF itself cannot be reached from here),
an outage during billing, and the verification QR on the printout."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import io
import subprocess
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ksef_client.utils.ksef_number import is_valid_ksef_number
from lxml import etree
from pypdf import PdfReader

from app import invoices, ksef
from app.invoice_pdf import InvoiceDoc, InvoiceLine, Party
from app.ksef_xml import CorrectionRef, build_xml, xsd_error
from app.settings import settings_from_env
from app.tables.finances import Invoice
from app.tables.ksef import KsefDocument
from tests import factories
from tests.ksef_standin import KsefStandIn

pytestmark = pytest.mark.anyio

XSD_DIR = Path(__file__).parent / "data" / "ksef-fa3"
NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
TOKEN = "20261201-EC-0A1B2C3D4E-5F6A7B8C9D-0E|nip-5260250274|0123456789abcdef"
BUSINESS_NIP = "7251801126"


def mf_schema() -> etree.XMLSchema:
    """The MF's own FA(3) files (copied from ../shared/ksef-fa3), imports resolved by name."""

    class Local(etree.Resolver):
        def resolve(self, url, pubid, context):
            return self.resolve_filename(str(XSD_DIR / url.rsplit("/", 1)[-1]), context)

    parser = etree.XMLParser()
    parser.resolvers.add(Local())
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "schemat_FA(3)_v1-0E.xsd"), parser))


SCHEMA = mf_schema()
SELLER = Party("HLG Networks Sp. z o.o.", "ul. Przykładowa 1, 00-001 Warszawa", "5260250274")
BUYER = Party("Łęcka i Wójcik Sp. j.", "ul. Źródlana 5, 26-200 Końskie", BUSINESS_NIP, customer_id=8)


def doc(*lines: InvoiceLine, buyer: Party = BUYER, number: str = "FV/1/11/2026") -> InvoiceDoc:
    return InvoiceDoc(number=number, issue_date=date(2026, 11, 30), sale_date=date(2026, 11, 30),
                      due_date=date(2026, 12, 14), seller=SELLER, buyer=buyer, lines=lines,
                      bank_account="12109010140000000000000008", bank_name="Santander Bank Polska")


CREATED = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
SHAPES = {
    "one rate": doc(InvoiceLine("Abonament Światłowód 300, 11.2026", 1, "usł.", 7999, 23)),
    "two rates": doc(InvoiceLine("Abonament", 1, "usł.", 7999, 23), InvoiceLine("Telewizja", 1, "usł.", 2000, 8)),
    "zero-rated": doc(InvoiceLine("Usługa 0%", 1, "usł.", 5000, 0)),
    "one-off charge": doc(InvoiceLine("Abonament", 1, "usł.", 7999, 23),
                          InvoiceLine("Instalacja i router", 2, "szt.", 30000, 23)),
    "no NIP (mode all)": doc(InvoiceLine("Abonament", 1, "usł.", 7999, 23),
                             buyer=Party("Jan Łęcki", "ul. Ćmielowska 3, 00-950 Warszawa", None, customer_id=9)),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_invoice_shape_is_valid_fa3_by_the_mf_schema(shape):
    xml = build_xml(SHAPES[shape], CREATED)
    SCHEMA.assertValid(etree.fromstring(xml))
    assert xsd_error(xml) is None


def test_a_correction_is_valid_fa3_and_points_at_the_corrected_invoice():
    before = InvoiceLine("Abonament", 1, "usł.", 7999, 23)
    correction = doc(InvoiceLine("Abonament", 1, "usł.", 5000, 23), number="FK/1/12/2026")
    xml = build_xml(correction, CREATED, CorrectionRef("FV/1/11/2026", date(2026, 11, 30),
                                                       "Błędna cena abonamentu", before=(before,)))
    SCHEMA.assertValid(etree.fromstring(xml))
    root = etree.fromstring(xml)
    assert root.findtext("fa:Fa/fa:RodzajFaktury", namespaces=NS) == "KOR"
    assert root.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrFaKorygowanej", namespaces=NS) == "FV/1/11/2026"
    assert root.findtext("fa:Fa/fa:PrzyczynaKorekty", namespaces=NS) == "Błędna cena abonamentu"
    assert root.findtext("fa:Fa/fa:P_15", namespaces=NS) == "-29.99"  # 50,00 - 79,99


async def test_a_corrective_invoice_of_an_accepted_invoice_references_its_ksef_number():
    """A faktura korygująca issued in WBOK (app.invoices.issue_correction) goes to KSeF too:
    valid FA(3), KOR, the corrected invoice's number, date and KSeF number, lines before/after."""
    from app.invoices import LineChange, issue_correction

    b, _ = await two_invoices()
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN)
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        await ksef.send_pending(settings)
        original = await KsefDocument.select().where(KsefDocument.invoice == b).first()
        fix = await issue_correction(b, [LineChange(1, 1, 5000)], "Błędna cena abonamentu",
                                     date(2026, 12, 2), settings.isp)
        result = await ksef.send_pending(settings)
        assert (result.sent, result.accepted) == (1, 1)
    row = await KsefDocument.select().where(KsefDocument.invoice == fix.id).first()
    root = etree.fromstring(row["xml"].encode())
    SCHEMA.assertValid(root)
    assert root.findtext("fa:Fa/fa:RodzajFaktury", namespaces=NS) == "KOR"
    ref = "fa:Fa/fa:DaneFaKorygowanej/"
    assert root.findtext(ref + "fa:NrFaKorygowanej", namespaces=NS) == original["number"]
    assert root.findtext(ref + "fa:DataWystFaKorygowanej", namespaces=NS) == "2026-11-30"
    assert root.findtext(ref + "fa:NrKSeFFaKorygowanej", namespaces=NS) == original["ksef_number"]
    assert root.findtext("fa:Fa/fa:P_15", namespaces=NS) == "-29.99"
    assert [w.findtext("fa:StanPrzed", namespaces=NS) for w in root.findall("fa:Fa/fa:FaWiersz", namespaces=NS)] == ["1", None]


def test_the_xml_is_the_same_document_every_time_and_says_the_pdfs_figures():
    shape = SHAPES["two rates"]
    xml = build_xml(shape, CREATED)
    assert xml == build_xml(shape, CREATED)  # no clock inside: one invoice, one hash
    root = etree.fromstring(xml)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        __import__("app.invoice_pdf", fromlist=["render_invoice"]).render_invoice(shape))).pages)
    assert root.findtext("fa:Fa/fa:P_2", namespaces=NS) == shape.number and shape.number in text
    assert root.findtext("fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP", namespaces=NS) == BUSINESS_NIP
    assert f"NIP: {BUSINESS_NIP}" in text
    assert root.findtext("fa:Fa/fa:P_15", namespaces=NS) == "99.99" and "99,99" in text
    assert root.findtext("fa:Fa/fa:P_13_1", namespaces=NS) == "65.03"  # net of 79,99 at 23%
    assert root.findtext("fa:Fa/fa:Platnosc/fa:RachunekBankowy/fa:NrRB", namespaces=NS) == shape.bank_account
    assert root.findtext("fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:Nazwa", namespaces=NS) == "Łęcka i Wójcik Sp. j."


# --- which invoices go, and the stored documents ------------------------------------------

def ksef_settings(**env) -> object:
    base = {"WBOK_KSEF_MODE": "b2b", "WBOK_KSEF_SINCE": "2026-02-01"}
    return settings_from_env({**base, **env})


async def two_invoices() -> tuple[int, int]:
    business = await factories.customer(nip=BUSINESS_NIP, name="Łęcka i Wójcik Sp. j.")
    consumer = await factories.customer()
    b = await factories.invoice(business.id, issue_date=date(2026, 11, 30))
    c = await factories.invoice(consumer.id, issue_date=date(2026, 11, 30))
    return b.id, c.id


@pytest.mark.parametrize(("mode", "expected"), [("b2b", {"b"}), ("all", {"b", "c"}), ("off", set())])
async def test_the_mode_decides_which_invoices_get_a_ksef_document(mode, expected):
    b, c = await two_invoices()
    await ksef.prepare(ksef_settings(WBOK_KSEF_MODE=mode))
    await ksef.prepare(ksef_settings(WBOK_KSEF_MODE=mode))  # idempotent
    names = {b: "b", c: "c"}
    rows = await KsefDocument.select(KsefDocument.invoice, KsefDocument.status)
    assert {names[r["invoice"]] for r in rows} == expected
    assert all(r["status"] == "pending" for r in rows)


async def test_preparing_walks_past_invoices_that_do_not_go():
    """More consumer invoices than one batch, then a business one: the walk ends, and the
    business invoice gets its document (a batch of only skipped rows is not read again)."""
    for _ in range(3):
        await factories.invoice((await factories.customer()).id, issue_date=date(2026, 11, 30))
    b, _ = await two_invoices()
    assert await asyncio.wait_for(ksef.prepare(ksef_settings(), limit=2), timeout=30) == 1
    assert [r["invoice"] for r in await KsefDocument.select(KsefDocument.invoice)] == [b]


async def test_invoices_before_the_start_date_are_not_sent():
    business = await factories.customer(nip=BUSINESS_NIP)
    await factories.invoice(business.id, issue_date=date(2026, 1, 31))
    assert await ksef.prepare(ksef_settings()) == 0


async def test_an_invalid_document_is_stored_as_an_error_and_never_sent(monkeypatch):
    b, _ = await two_invoices()
    broken = lambda d, created, **kw: build_xml(d, created, **kw).replace(  # noqa: E731
        b"<P_2>", b"<Nieznane>1</Nieznane><P_2>")
    monkeypatch.setattr(ksef, "build_xml", broken)
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN)
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        await ksef.send_pending(settings)
        assert standin.received == []
    row = await KsefDocument.select().where(KsefDocument.invoice == b).first()
    assert row["status"] == "invalid" and "Nieznane" in row["error"]


# --- the session flow against the stand-in ---------------------------------------------------

async def test_pending_invoices_are_sent_in_a_session_and_get_their_ksef_numbers():
    b, _ = await two_invoices()
    second = await factories.invoice((await factories.customer(nip="5213017228")).id,
                                     issue_date=date(2026, 12, 1), lines=[
        invoices.InvoiceLine("Abonament", 1, "usł.", 7999, 23),
        invoices.InvoiceLine("Telewizja", 1, "usł.", 2000, 8)])
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN)
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        result = await ksef.send_pending(settings)
        assert (result.sent, result.accepted, result.error) == (2, 2, "")
        stored = {r["invoice"]: r for r in await KsefDocument.select()}
        # KSeF got exactly the stored bytes, decrypted from AES-256 with the session's key
        assert sorted(standin.received) == sorted(stored[i]["xml"].encode() for i in (b, second.id))
        assert len(standin.closed) == 1
        again = await ksef.send_pending(settings)
        assert (again.sent, len(standin.received)) == (0, 2)
    for row in stored.values():
        assert row["status"] == "accepted" and is_valid_ksef_number(row["ksef_number"])
        assert row["ksef_number"].startswith(settings.isp.nip + "-")
        assert row["accepted_at"] is not None and row["reference"]


async def test_a_wrong_token_is_a_refusal_not_an_outage():
    await two_invoices()
    settings = ksef_settings(WBOK_KSEF_TOKEN="zły-token")
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        result = await ksef.send_pending(dataclasses.replace(settings, ksef_api_url=standin.url))
    assert "401" in result.error
    row = await KsefDocument.select().first()
    assert row["status"] == "pending" and row["offline_mode"] == "" and row["attempts"] == 1
    assert row["next_attempt_at"] is not None


async def test_two_senders_at_once_send_each_document_once():
    for n in range(4):
        await factories.invoice((await factories.customer(nip=BUSINESS_NIP)).id, issue_date=date(2026, 11, 30))
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN)
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        await ksef.prepare(settings)
        results = await asyncio.gather(ksef.send_pending(settings), ksef.send_pending(settings))
        assert sum(r.sent for r in results) == 4 and len(standin.received) == 4


def offline_certificate(tmp_path) -> dict[str, str]:
    """A stand-in for the ISP's offline KSeF certificate (its own RSA key, self-signed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HLG Networks offline")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x01F2A3B4C5D6E7F8).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    (tmp_path / "offline.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "offline.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {"WBOK_KSEF_OFFLINE_CERT": str(tmp_path / "offline.pem"),
            "WBOK_KSEF_OFFLINE_KEY": str(tmp_path / "offline.key")}


async def test_an_outage_during_billing_issues_the_invoices_and_sends_them_later(tmp_path):
    """KSeF is down while the month is billed: billing issues every invoice, the documents go
    offline (offline24, with the deadline of the next business day) and carry KOD I and KOD II;
    when KSeF is back they are sent with offlineMode and accepted."""
    from app import billing

    tariff = await factories.tariff("Światłowód 300")
    for _ in range(2):
        await factories.customer(nip=BUSINESS_NIP, tariff_name="Światłowód 300")
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN, **offline_certificate(tmp_path))
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        standin.down = True
        today = date.today()
        result = await billing.run_billing(today.replace(day=1), today, settings.isp)
        assert result.invoices == 2 and not result.errors and tariff
        down = await ksef.send_pending(settings)
        assert down.offline == 2 and "503" in down.error
        rows = await KsefDocument.select()
        assert all(r["status"] == "offline" and r["offline_mode"] == "offline24" for r in rows)
        issued = (await Invoice.select(Invoice.issue_date).first())["issue_date"]
        day = issued + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        deadline = datetime.combine(day, time(23, 59, 59), ZoneInfo("Europe/Warsaw"))
        assert all(r["deadline_at"] == deadline for r in rows)  # offline24: the next business day
        stamp = await ksef.stamp(rows[0]["invoice"], settings)
        assert stamp.offline and stamp.kod1.startswith("https://qr-test.ksef.mf.gov.pl/invoice/")
        nip = settings.isp.nip
        assert stamp.kod2.startswith(f"https://qr-test.ksef.mf.gov.pl/certificate/Nip/{nip}/{nip}/1F2A3B4C5D6E7F8/")
        pdf = await invoices.invoice_pdf(await invoices.load_invoice_doc(rows[0]["invoice"]), stamp)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "OFFLINE" in text and "CERTYFIKAT" in text and "trybie offline" in text
        standin.down = False
        back = await ksef.send_pending(settings, force=True)
        assert (back.sent, back.accepted) == (2, 2)
        assert all(s["invoicingMode"] == "Offline" for s in standin.invoices.values())
    assert {r["status"] for r in await KsefDocument.select()} == {"accepted"}


def test_deadlines_of_the_offline_modes_count_business_days():
    friday = date(2026, 12, 4)
    assert ksef.business_deadline(friday, 1).date() == date(2026, 12, 7)  # Monday (22:59 UTC)
    assert ksef.business_deadline(friday, 7).date() == date(2026, 12, 15)


# --- the printout and the customer's XML -------------------------------------------------------

def kod1_expected(nip: str, day: date, xml: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).rstrip(b"=").decode()
    return f"https://qr-test.ksef.mf.gov.pl/invoice/{nip}/{day:%d-%m-%Y}/{digest}"


async def test_the_printout_of_an_accepted_invoice_has_its_ksef_number_and_a_kod_i_that_scans(tmp_path):
    b, _ = await two_invoices()
    settings = ksef_settings(WBOK_KSEF_TOKEN=TOKEN)
    with KsefStandIn(TOKEN, settings.isp.nip) as standin:
        settings = dataclasses.replace(settings, ksef_api_url=standin.url)
        await ksef.send_pending(settings)
    row = await KsefDocument.select().where(KsefDocument.invoice == b).first()
    pdf = await invoices.invoice_pdf(await invoices.load_invoice_doc(b), await ksef.stamp(b, settings))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Numer KSeF: {row['ksef_number']}" in text
    (tmp_path / "f.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(tmp_path / "f.pdf"),
                    str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sqrcode.enable", str(page)],
                             capture_output=True, text=True).stdout.split("\n")
    assert kod1_expected(settings.isp.nip, date(2026, 11, 30), row["xml"].encode()) in decoded


async def test_customers_download_the_xml_of_their_own_invoices_only(customer_client):
    client, me = customer_client, customer_client.customer
    mine = await factories.invoice(me.id, issue_date=date(2026, 11, 30))
    other = await factories.invoice((await factories.customer()).id, issue_date=date(2026, 11, 30))
    response = await client.get(f"/finances/invoices/{mine.id}.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert etree.fromstring(response.content).findtext("fa:Fa/fa:P_2", namespaces=NS) == mine.number
    SCHEMA.assertValid(etree.fromstring(response.content))
    assert (await client.get(f"/finances/invoices/{other.id}.xml")).status_code == 404
    assert (await client.get("/finances/invoices/99999999999999999999.xml")).status_code == 404
    assert (await client.get(f"/finances/invoices/{mine.id}")).headers["content-type"] == "application/pdf"


async def test_the_finances_tab_shows_the_ksef_number(client, settings):
    business = await factories.customer(nip=BUSINESS_NIP)
    inv = await factories.invoice(business.id, issue_date=date(2026, 11, 30))
    await ksef.prepare(settings)
    await KsefDocument.update({KsefDocument.status: "accepted",
                               KsefDocument.ksef_number: "5260250274-20261130-0A1B2C3D4E5F-AB"}).where(
        KsefDocument.invoice == inv.id)
    from tests.conftest import post_form

    await client.get("/login")
    await post_form(client, "/login", {"customer_id": str(business.id), "pin": business.pin})
    page = (await client.get("/finances")).text
    assert "5260250274-20261130-0A1B2C3D4E5F-AB" in page and f"/finances/invoices/{inv.id}.xml" in page


async def test_the_operator_sees_documents_by_status_and_sends_now(admin_client):
    from tests.conftest import post_form, soup

    b, _ = await two_invoices()
    await ksef.prepare(ksef_settings())
    page = soup(await admin_client.get("/admin/ksef?status=pending"))
    assert page.select_one("#ksef-list tbody tr.ksef-pending") is not None
    assert "brak tokenu KSeF" in page.text
    response = await post_form(admin_client, "/admin/ksef/send")
    assert response.status_code in (302, 303)
    assert (await post_form(admin_client, "/admin/ksef/999999/retry")).status_code == 404


def test_cli_prints_the_xml_and_refuses_an_unknown_number(tmp_path, capsysbinary):
    from app.cli import main

    async def setup() -> str:
        business = await factories.customer(nip=BUSINESS_NIP)
        return (await factories.invoice(business.id, issue_date=date(2026, 11, 30))).number

    from tests.conftest import run_sync

    number = run_sync(setup())
    assert main(["ksef", "xml", number]) == 0
    out = capsysbinary.readouterr().out
    assert etree.fromstring(out.strip()).findtext("fa:Fa/fa:P_2", namespaces=NS) == number
    assert main(["ksef", "xml", "FV/0/00/0000"]) == 2
    assert "nie ma faktury" in capsysbinary.readouterr().err.decode()


def test_cli_send_without_a_token_says_so_and_fails(capsys, monkeypatch):
    from app.cli import main
    from app.settings import get_settings

    monkeypatch.delenv("WBOK_KSEF_TOKEN", raising=False)
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exit_:
        main(["ksef", "send"])
    assert exit_.value.code == 1
    assert "brak tokenu KSeF" in capsys.readouterr().out
