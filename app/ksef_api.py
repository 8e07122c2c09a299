"""The KSeF API v2, through the ksef-client SDK: token authentication, an online session,
sending encrypted FA(3) documents, their verdicts, and the verification links (KOD I, II).

Kept apart from app/ksef.py so that the lifecycle there reads as plain steps; everything
the SDK raises is turned into `Failure`, which says whether KSeF was reachable at all."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import httpx
from cryptography import x509
from ksef_client import AsyncKsefClient, KsefClientOptions, KsefHttpError
from ksef_client.models import FormCode
from ksef_client.services import AsyncAuthCoordinator, AsyncOnlineSessionWorkflow
from ksef_client.services.verification_link import VerificationLinkService

FA3 = FormCode(system_code="FA (3)", schema_version="1-0E", value="FA")


class Failure(Exception):
    """KSeF failed us: `reachable` False for network errors, timeouts and 5xx (an outage:
    invoices go offline), True when KSeF answered with a refusal (a bad token, say)."""

    def __init__(self, message: str, *, reachable: bool) -> None:
        super().__init__(message)
        self.reachable = reachable



def _failure(exc: Exception) -> Failure:
    if isinstance(exc, KsefHttpError):
        return Failure(f"KSeF: {exc}", reachable=exc.status_code < 500 and exc.status_code != 429)
    return Failure(f"KSeF nieosiągalny: {type(exc).__name__}: {exc}", reachable=False)


_ERRORS = (httpx.HTTPError, KsefHttpError, TimeoutError, OSError)


@dataclass(frozen=True)
class Verdict:
    code: int
    message: str
    ksef_number: str = ""
    acquired_at: datetime | None = None


class Session:
    def __init__(self, handle, access_token: str) -> None:
        self._handle, self._token = handle, access_token
        self.reference = handle.reference_number

    async def send(self, xml: bytes, *, offline: bool = False) -> str:
        try:
            answer = await self._handle.send_invoice(xml, offline_mode=True if offline else None,
                                                     access_token=self._token)
        except _ERRORS as exc:
            raise _failure(exc) from exc
        return answer.reference_number


class Connection:
    """An authenticated connection to KSeF for one run of the sender."""

    def __init__(self, base_url: str, token: str, nip: str, *, timeout: float = 20.0) -> None:
        self._options = KsefClientOptions(base_url=base_url, timeout_seconds=timeout)
        self._token, self._nip = token, nip
        self._client: AsyncKsefClient | None = None
        self._access = ""
        self._session_cert = ""

    async def __aenter__(self) -> Connection:
        self._client = AsyncKsefClient(self._options)
        try:
            certs = self._client.security
            token_cert = await certs.get_public_key_certificate_pem("KsefTokenEncryption")
            self._session_cert = await certs.get_public_key_certificate_pem("SymmetricKeyEncryption")
            auth = await AsyncAuthCoordinator(self._client.auth).authenticate_with_ksef_token(
                token=self._token, public_certificate=token_cert, context_identifier_type="Nip",
                context_identifier_value=self._nip, poll_interval_seconds=0.5, max_attempts=20)
            self._access = auth.access_token
        except _ERRORS as exc:
            await self._client.aclose()
            raise _failure(exc) from exc
        except (RuntimeError, ValueError) as exc:  # authentication refused, no certificate
            await self._client.aclose()
            raise Failure(f"KSeF: {exc}", reachable=True) from exc
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._client is not None:
            await self._client.aclose()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        workflow = AsyncOnlineSessionWorkflow(self._client.sessions)
        try:
            handle = await workflow.open_session(form_code=FA3, public_certificate=self._session_cert,
                                                 access_token=self._access)
        except _ERRORS as exc:
            raise _failure(exc) from exc
        try:
            yield Session(handle, self._access)
        finally:
            with contextlib.suppress(*_ERRORS):
                await workflow.close_session(handle.reference_number, self._access)

    async def invoice_status(self, session_ref: str, reference: str) -> Verdict:
        try:
            status = await self._client.sessions.get_session_invoice_status(
                session_ref, reference, access_token=self._access)
        except _ERRORS as exc:
            raise _failure(exc) from exc
        info = status.status
        message = info.description + (": " + "; ".join(info.details) if info.details else "")
        acquired = datetime.fromisoformat(status.acquisition_date) if status.acquisition_date else None
        return Verdict(info.code, message, status.ksef_number or "", acquired)


def kod1_url(qr_base: str, seller_nip: str, issue_date: date, xml_hash_b64: str) -> str:
    """KOD I: the MF's verification link of an invoice (NIP, issue date, SHA-256 of the XML)."""
    links = VerificationLinkService(KsefClientOptions(base_url="", base_qr_url=qr_base))
    return links.build_invoice_verification_url(seller_nip, issue_date, xml_hash_b64)


def kod2_url(qr_base: str, seller_nip: str, xml_hash_b64: str, cert_path: str, key_path: str) -> str:
    """KOD II of an offline invoice: the link signed with the ISP's offline KSeF certificate;
    "" when no certificate is configured."""
    if not cert_path or not key_path:
        return ""
    cert_pem = Path(cert_path).read_text()
    serial = format(x509.load_pem_x509_certificate(cert_pem.encode()).serial_number, "X")
    links = VerificationLinkService(KsefClientOptions(base_url="", base_qr_url=qr_base))
    return links.build_certificate_verification_url(
        seller_nip=seller_nip, context_identifier_type="Nip", context_identifier_value=seller_nip,
        certificate_serial=serial, invoice_hash=xml_hash_b64, signing_certificate_pem=cert_pem,
        private_key_pem=Path(key_path).read_text())
