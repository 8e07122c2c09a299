"""Transfer form: virtual accounts, amounts in words and the ZBP QR payload."""

import dataclasses

import pytest
from stdnum import iban

from app.settings import ISP
from app.transfer import (
    amount_in_words,
    build_transfer,
    format_nrb,
    nrb_check_digits,
    qr_payload,
    qr_png,
    qr_svg,
    virtual_account,
    zloty_form,
)

ISP_ = ISP()


@pytest.fixture
def clean_db():
    """Pure domain code: no database to wipe (shadows conftest's autouse fixture)."""


@pytest.mark.parametrize("customer_id", [1, 42, 1234, 987654, 999999999999])
def test_virtual_account_is_valid_iban_with_the_customer_id(customer_id):
    nrb = virtual_account(ISP_, customer_id)
    assert len(nrb) == 26 and nrb.isdigit()
    assert iban.is_valid("PL" + nrb)
    assert nrb[2:14] == ISP_.virtual_prefix
    assert nrb[14:] == str(customer_id).zfill(12)


def test_virtual_account_known_value():
    assert virtual_account(ISP_, 42) == "72109010140001000000000042"


def test_check_digits_match_a_real_account():
    assert nrb_check_digits("109010140000071219812874") == "61"


def test_virtual_account_refuses_an_id_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        virtual_account(ISP_, 10**12)
    long_prefix = ISP(virtual_prefix="1090101400010000000000")
    with pytest.raises(ValueError):
        virtual_account(long_prefix, 123)


def test_format_nrb():
    assert format_nrb("61109010140000071219812874") == "61 1090 1014 0000 0712 1981 2874"
    assert format_nrb("61 1090 1014 0000 0712 1981 2874") == "61 1090 1014 0000 0712 1981 2874"


@pytest.mark.parametrize(
    ("grosze", "words"),
    [
        (12345, "sto dwadzieścia trzy złote 45/100"),
        (0, "zero złotych 00/100"),
        (7, "zero złotych 07/100"),
        (100, "jeden złoty 00/100"),
        (201, "dwa złote 01/100"),
        (499, "cztery złote 99/100"),
        (500, "pięć złotych 00/100"),
        (1200, "dwanaście złotych 00/100"),
        (1400, "czternaście złotych 00/100"),
        (2100, "dwadzieścia jeden złotych 00/100"),
        (2200, "dwadzieścia dwa złote 00/100"),
        (7999, "siedemdziesiąt dziewięć złotych 99/100"),
        (100000, "tysiąc złotych 00/100"),
        (100100, "tysiąc jeden złotych 00/100"),
        (
            123456789,
            "milion dwieście trzydzieści cztery tysiące pięćset sześćdziesiąt siedem złotych 89/100",
        ),
    ],
)
def test_amount_in_words(grosze, words):
    assert amount_in_words(grosze) == words


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "złoty"), (2, "złote"), (4, "złote"), (5, "złotych"), (11, "złotych"), (12, "złotych"),
     (14, "złotych"), (22, "złote"), (101, "złotych"), (112, "złotych"), (1003, "złote")],
)
def test_zloty_form(n, form):
    assert zloty_form(n) == form


def test_amount_in_words_refuses_negative():
    with pytest.raises(ValueError):
        amount_in_words(-1)


def test_qr_payload_exact():
    payload = qr_payload(
        "526-025-02-74",
        "61 1090 1014 0000 0712 1981 2874",
        12345,
        "HLG Networks Sp. z o.o.",
        "Abonament, ID Klienta 0042",
    )
    assert payload == (
        "5260250274|PL|61109010140000071219812874|012345|"
        "HLG Networks Sp. z o|Abonament, ID Klienta 0042|||"
    )


def test_qr_payload_cuts_fields_and_strips_pipes():
    title = "Za|fakturę FV/1/11/2025 i FV/2/11/2025, ID Klienta 0042"
    payload = qr_payload("5260250274", "61109010140000071219812874", 1, "A|B", title)
    fields = payload.split("|")
    assert len(fields) == 9 and fields[6:] == ["", "", ""]
    assert fields[3] == "000001"
    assert fields[4] == "A B"
    assert fields[5] == title.replace("|", " ")[:32].rstrip()
    assert len(fields[5]) <= 32


def test_qr_payload_leaves_an_amount_too_large_for_the_field_blank():
    assert qr_payload("1", "2", 999_999, "x", "y").split("|")[3] == "999999"
    assert qr_payload("1", "2", 1_000_000, "x", "y").split("|")[3] == "000000"


def test_qr_svg_is_inline_and_160px():
    svg = qr_svg("5260250274|PL|61109010140000071219812874|012345|HLG|Tytuł|||")
    assert svg.startswith("<svg") and "<?xml" not in svg
    assert 'width="160' in svg and 'height="160' in svg


def test_qr_png_is_a_png():
    assert qr_png("abc").startswith(b"\x89PNG\r\n\x1a\n")


def test_build_transfer():
    form = build_transfer(ISP_, 42, "Jan Żółć", "ul. Łąkowa 5, 00-950 Łódź", 12345)
    assert form.account == virtual_account(ISP_, 42)
    assert "ID Klienta 0042" in form.title and len(form.title) <= 32
    assert form.payee_name == ISP_.name and form.payee_address == ISP_.address
    assert form.amount == 12345 and form.amount_display == "123,45 zł"
    assert form.amount_words == "sto dwadzieścia trzy złote 45/100"
    assert form.account_display == format_nrb(form.account)
    assert form.qr == qr_payload(ISP_.nip, form.account, 12345, "HLG Networks", form.title)
    assert f"|{form.title}|" in form.qr
    with pytest.raises(dataclasses.FrozenInstanceError):
        form.amount = 1


def _payload(grosze: int) -> str:
    nrb = virtual_account(ISP_, 42)
    return qr_payload(ISP_.nip, nrb, grosze, ISP_.name, "Abonament, ID Klienta 0042")


def test_qr_svg_is_built_once_per_content_and_is_the_same_code():
    qr_svg.cache_clear()
    first = qr_svg(_payload(12345))
    again = qr_svg(_payload(12345))
    assert again is first  # served from the cache, not rebuilt
    assert qr_svg.cache_info().hits == 1 and qr_svg.cache_info().misses == 1
    assert first == qr_svg.__wrapped__(_payload(12345))  # exactly what segno builds


def test_qr_cache_changes_with_the_amount():
    qr_svg.cache_clear()
    owed, less = qr_svg(_payload(12345)), qr_svg(_payload(2345))
    assert owed != less
    assert less == qr_svg.__wrapped__(_payload(2345))
    assert qr_svg.cache_info().misses == 2
    assert qr_png(_payload(12345)) != qr_png(_payload(2345))
    assert qr_png(_payload(2345)) == qr_png.__wrapped__(_payload(2345))

def test_title_names_the_unpaid_invoices_when_they_fit():
    one = build_transfer(ISP_, 8, "Jan Żółć", "Łódź", 7999, ("FV/7/11/2026",))
    assert one.title == "FV/7/11/2026, ID Klienta 0008"
    assert one.qr.split("|")[5] == one.title  # the form and the QR say the same, whole
    two = build_transfer(ISP_, 8, "Jan Żółć", "Łódź", 15998, ("FV/7/10/2026", "FV/7/11/2026"))
    assert two.title == "Abonament, ID Klienta 0008" and two.qr.split("|")[5] == two.title


def test_qr_payee_is_the_configured_short_name_not_a_cut(tmp_path):
    from app.settings import load_isp

    assert build_transfer(ISP_, 8, "Jan", "Łódź", 100).qr.split("|")[4] == "HLG Networks"
    config = tmp_path / "wbok.toml"
    config.write_text('[isp]\nname = "Światłonet Żółkiewski Sp. z o.o."\nshort_name = "Światłonet"\n',
                      encoding="utf-8")
    isp = load_isp(config)
    assert build_transfer(isp, 8, "Jan", "Łódź", 100).qr.split("|")[4] == "Światłonet"
    config.write_text('[isp]\nname = "Światłonet Żółkiewski Sp. z o.o."\n', encoding="utf-8")
    with pytest.raises(ValueError, match="short_name"):
        load_isp(config)
    config.write_text('[isp]\nshort_name = "Światłonet Żółkiewski Sp."\n', encoding="utf-8")
    with pytest.raises(ValueError, match="20"):
        load_isp(config)
