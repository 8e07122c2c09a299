"""Transfer form: the pre-filled Polish "polecenie przelewu / wpłata gotówkowa"."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

import segno
from num2words import num2words
from stdnum import iban
from stdnum.iso7064 import mod_97_10

from app.money import format_money
from app.settings import ISP

NRB_LENGTH = 26
# Field limits of the ZBP "Rekomendacja dotycząca kodu dwuwymiarowego (2D)".
QR_PAYEE_MAX = 20
QR_TITLE_MAX = 32
QR_AMOUNT_MAX = 999_999
QR_SIZE_PX = 160
# Building a QR code costs about 8 ms of CPU, and the same one is shown on every visit
# until the debt changes: keep the last ones, keyed by their whole content (account,
# amount, payee, title), so that a different amount is a different entry. About 2.3 KB of
# SVG (0.4 KB of PNG) each.
QR_CACHE_SIZE = 4096


@dataclass(frozen=True)
class TransferForm:
    """Everything printed on one transfer form; `amount` is in grosze."""

    payee_name: str
    payee_address: str
    account: str
    amount: int
    amount_words: str
    payer_name: str
    payer_address: str
    title: str
    qr: str

    @property
    def account_display(self) -> str:
        return format_nrb(self.account)

    @property
    def amount_display(self) -> str:
        return format_money(self.amount)


def customer_ref(customer_id: int) -> str:
    """The customer ID as printed in titles: at least 4 digits, `0042`."""
    return f"{customer_id:04d}"


def transfer_title(customer_id: int, invoice_numbers: tuple[str, ...] = ()) -> str:
    """The unpaid invoices' numbers and the customer ID, as the invoice asks: `FV/7/11/2026,
    ID Klienta 0042`. Numbers that do not all fit the QR title limit (32 characters) give
    way to "Abonament", so the form, the QR and the bank all read the same whole title."""
    ref = f"ID Klienta {customer_ref(customer_id)}"
    if invoice_numbers:
        title = ", ".join([*invoice_numbers, ref])
        if len(title) <= QR_TITLE_MAX:
            return title
    return f"Abonament, {ref}"


def virtual_account(isp: ISP, customer_id: int) -> str:
    """The customer's 26-digit NRB: check digits + ISP prefix + zero-padded ID.

    Payments arriving at it identify the customer without reading the title.
    """
    width = NRB_LENGTH - 2 - len(isp.virtual_prefix)
    digits = str(customer_id)
    if customer_id < 0 or not isp.virtual_prefix.isdigit() or len(digits) > width:
        raise ValueError(
            f"customer ID {customer_id} does not fit after prefix {isp.virtual_prefix!r}"
        )
    bban = isp.virtual_prefix + digits.zfill(width)
    nrb = nrb_check_digits(bban) + bban
    iban.validate("PL" + nrb)
    return nrb


def nrb_check_digits(bban: str) -> str:
    """IBAN check digits (ISO 7064 mod 97-10) for a Polish 24-digit BBAN."""
    return mod_97_10.calc_check_digits(bban + "PL")


def format_nrb(nrb: str) -> str:
    """`61 1090 1014 0000 0712 1981 2874`: the way Polish forms print an NRB."""
    digits = re.sub(r"\D", "", nrb)
    rest = digits[2:]
    return " ".join([digits[:2], *(rest[i : i + 4] for i in range(0, len(rest), 4))])


def amount_in_words(grosze: int) -> str:
    """`sto dwadzieścia trzy złote 45/100`: złote in words, grosze as a fraction."""
    if grosze < 0:
        raise ValueError("amount in words needs a non-negative amount")
    zloty, gr = divmod(grosze, 100)
    return f"{num2words(zloty, lang='pl')} {zloty_form(zloty)} {gr:02d}/100"


def zloty_form(n: int) -> str:
    """Polish plural: 1 złoty, 2–4 złote (not 12–14), otherwise złotych."""
    if n == 1:
        return "złoty"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "złote"
    return "złotych"


def qr_payload(isp_nip: str, nrb: str, grosze: int, payee: str, title: str) -> str:
    """ZBP 2D text `NIP|PL|NRB|amount|payee|title|||`; amount in 6-digit grosze.

    An amount above 9 999,99 zł does not fit the field, so it is left as zeros
    and the payer types it in the banking app.
    """
    if grosze < 0:
        raise ValueError("a transfer amount cannot be negative")
    amount = grosze if grosze <= QR_AMOUNT_MAX else 0
    fields = [
        re.sub(r"\D", "", isp_nip),
        "PL",
        re.sub(r"\D", "", nrb),
        f"{amount:06d}",
        _qr_field(payee, QR_PAYEE_MAX),
        _qr_field(title, QR_TITLE_MAX),
    ]
    return "|".join(fields) + "|||"


def _qr_field(text: str, limit: int) -> str:
    cleaned = " ".join(text.replace("|", " ").split())
    return cleaned[:limit].rstrip()


@lru_cache(maxsize=QR_CACHE_SIZE)
def qr_svg(payload: str) -> str:
    """Inline SVG (no XML declaration) about QR_SIZE_PX wide, for HTML pages."""
    qr = _qr(payload)
    width = qr.symbol_size(scale=1)[0]
    return qr.svg_inline(scale=QR_SIZE_PX / width)


@lru_cache(maxsize=QR_CACHE_SIZE)
def qr_png(payload: str) -> bytes:
    """PNG bytes for the PDF; 4 px per module keeps it sharp when printed small."""
    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=4)
    return out.getvalue()


def _qr(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m", encoding="utf-8")


def build_transfer(
    isp: ISP, customer_id: int, payer_name: str, payer_address: str, grosze: int,
    invoice_numbers: tuple[str, ...] = (),
) -> TransferForm:
    """The form for paying `grosze` to the customer's virtual account, for the invoices
    named (the unpaid ones, when known)."""
    nrb = virtual_account(isp, customer_id)
    title = transfer_title(customer_id, invoice_numbers)
    return TransferForm(
        payee_name=isp.name,
        payee_address=isp.address,
        account=nrb,
        amount=grosze,
        amount_words=amount_in_words(grosze),
        payer_name=payer_name,
        payer_address=payer_address,
        title=title,
        qr=qr_payload(isp.nip, nrb, grosze, isp.payee_short, title),
    )
