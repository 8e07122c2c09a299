"""A small stand-in for KSeF API v2, for the tests only.

KSeF's test environment (api-test.ksef.mf.gov.pl) cannot be reached from these machines.
This server implements the few endpoints WBOK calls, as KSeF's published OpenAPI describes
them (paths under /v2, status codes, JSON field names), and does the real cryptography:
- GET  /v2/security/public-key-certificates: two certificates (base64 DER) of its own RSA key,
  one for KsefTokenEncryption, one for SymmetricKeyEncryption;
- POST /v2/auth/challenge; POST /v2/auth/ksef-token (202): it decrypts encryptedToken with
  RSA-OAEP/SHA-256 and checks "<token>|<timestampMs>" and the NIP context;
  GET /v2/auth/{ref}; POST /v2/auth/token/redeem;
- POST /v2/sessions/online (201): it decrypts the AES-256 key (RSA-OAEP/SHA-256);
  POST /v2/sessions/online/{ref}/invoices (202): it decrypts the document (AES-256-CBC,
  PKCS#7), checks both SHA-256 hashes and sizes, and validates the FA(3) XML against the
  official XSD; POST /v2/sessions/online/{ref}/close (204);
- GET /v2/sessions/{ref}/invoices/{invoiceRef}: 200 with a KSeF number in the official
  format (NIP-YYYYMMDD-12 hex-CRC-8), or 450 for a document that failed validation.
`down = True` makes every endpoint answer 503, like an outage. Nothing in WBOK knows that
it talks to a stand-in: it is reached through WBOK_KSEF_API_URL like a mirror would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sym_padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from ksef_client.utils.ksef_number import _crc8


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class KsefStandIn:
    def __init__(self, token: str, nip: str) -> None:
        self.token, self.nip = token, nip
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KSeF stand-in")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                .sign(self.key, hashes.SHA256()))
        self.cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.down = False
        self.challenges: dict[str, int] = {}
        self.auth_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.sessions: dict[str, bytes] = {}  # session ref -> AES key (+ iv per request)
        self.session_iv: dict[str, bytes] = {}
        self.invoices: dict[tuple[str, str], dict] = {}
        self.received: list[bytes] = []  # decrypted documents, in order
        self.closed: list[str] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> KsefStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the endpoints -------------------------------------------------------------------
    def _decrypt_rsa(self, data_b64: str) -> bytes:
        return self.key.decrypt(base64.b64decode(data_b64), padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))

    def handle(self, method: str, path: str, bearer: str, body: dict | None) -> tuple[int, dict | None]:
        self.requests.append(f"{method} {path}")
        if self.down:
            return 503, {"title": "Service Unavailable", "status": 503}
        now = datetime.now(timezone.utc)
        parts = path.strip("/").split("/")
        if parts[0] != "v2":
            return 404, None
        parts = parts[1:]
        if method == "GET" and parts == ["security", "public-key-certificates"]:
            return 200, [{"certificate": self.cert_b64, "validFrom": _iso(now - timedelta(days=1)),
                          "validTo": _iso(now + timedelta(days=30)), "usage": [usage]}
                         for usage in ("KsefTokenEncryption", "SymmetricKeyEncryption")]
        if method == "POST" and parts == ["auth", "challenge"]:
            challenge = now.strftime("%Y%m%d") + "-CR-" + secrets.token_hex(5).upper()
            ms = int(now.timestamp() * 1000)
            self.challenges[challenge] = ms
            return 200, {"challenge": challenge, "timestamp": _iso(now), "timestampMs": ms,
                         "clientIp": "127.0.0.1"}
        if method == "POST" and parts == ["auth", "ksef-token"]:
            ms = self.challenges.pop(body.get("challenge", ""), None)
            ctx = body.get("contextIdentifier") or {}
            try:
                plain = self._decrypt_rsa(body["encryptedToken"]).decode()
            except Exception:
                plain = ""
            if ms is None or plain != f"{self.token}|{ms}" or ctx != {"type": "Nip", "value": self.nip}:
                return 401, {"title": "Unauthorized", "status": 401, "detail": "Nieprawidłowy token"}
            auth = secrets.token_urlsafe(24)
            self.auth_tokens.add(auth)
            ref = now.strftime("%Y%m%d") + "-AU-" + secrets.token_hex(5).upper()
            return 202, {"referenceNumber": ref, "authenticationToken": {
                "token": auth, "validUntil": _iso(now + timedelta(minutes=15))}}
        if method == "GET" and parts[:1] == ["auth"] and len(parts) == 2:
            if bearer not in self.auth_tokens:
                return 401, {"title": "Unauthorized", "status": 401}
            return 200, {"startDate": _iso(now), "authenticationMethod": "Token",
                         "authenticationMethodInfo": {"category": "Token", "code": "token.ksef",
                                                      "displayName": "Token KSeF"},
                         "status": {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}}
        if method == "POST" and parts == ["auth", "token", "redeem"]:
            if bearer not in self.auth_tokens:
                return 401, {"title": "Unauthorized", "status": 401}
            self.auth_tokens.discard(bearer)
            access = secrets.token_urlsafe(24)
            self.access_tokens.add(access)
            until = _iso(now + timedelta(minutes=15))
            return 200, {"accessToken": {"token": access, "validUntil": until},
                         "refreshToken": {"token": secrets.token_urlsafe(24), "validUntil": until}}
        if bearer not in self.access_tokens:
            return 401, {"title": "Unauthorized", "status": 401}
        if method == "POST" and parts == ["sessions", "online"]:
            form = body["formCode"]
            if form != {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}:
                return 400, {"exception": {"exceptionDetailList": [
                    {"exceptionCode": 21405, "exceptionDescription": "Nieobsługiwany formularz"}]}}
            ref = now.strftime("%Y%m%d") + "-SO-" + secrets.token_hex(5).upper()
            self.sessions[ref] = self._decrypt_rsa(body["encryption"]["encryptedSymmetricKey"])
            self.session_iv[ref] = base64.b64decode(body["encryption"]["initializationVector"])
            return 201, {"referenceNumber": ref, "validUntil": _iso(now + timedelta(hours=12))}
        if method == "POST" and parts[:2] == ["sessions", "online"] and parts[3:] == ["invoices"]:
            return self._invoice(parts[2], body, now)
        if method == "POST" and parts[:2] == ["sessions", "online"] and parts[3:] == ["close"]:
            self.closed.append(parts[2])
            return 204, None
        if method == "GET" and parts[0] == "sessions" and parts[2:3] == ["invoices"] and len(parts) == 4:
            found = self.invoices.get((parts[1], parts[3]))
            return (200, found) if found else (404, {"title": "Not Found", "status": 404})
        return 404, None

    def _invoice(self, session: str, body: dict, now: datetime) -> tuple[int, dict]:
        from ksef_client.documents.fa3 import FA3XmlValidationError, validate_fa3_xml_xsd

        key = self.sessions[session]
        encrypted = base64.b64decode(body["encryptedInvoiceContent"])
        assert hashlib.sha256(encrypted).digest() == base64.b64decode(body["encryptedInvoiceHash"])
        assert len(encrypted) == body["encryptedInvoiceSize"]
        decryptor = Cipher(algorithms.AES(key), modes.CBC(self.session_iv[session])).decryptor()
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = sym_padding.PKCS7(128).unpadder()
        xml = unpadder.update(padded) + unpadder.finalize()
        assert hashlib.sha256(xml).digest() == base64.b64decode(body["invoiceHash"])
        assert len(xml) == body["invoiceSize"]
        with self._lock:
            self.received.append(xml)
            ordinal = len(self.received)
        ref = now.strftime("%Y%m%d") + "-EE-" + secrets.token_hex(5).upper()
        status = {"referenceNumber": ref, "ordinalNumber": ordinal, "invoiceHash": body["invoiceHash"],
                  "invoicingDate": _iso(now), "invoicingMode": "Offline" if body.get("offlineMode") else "Online"}
        try:
            validate_fa3_xml_xsd(xml)
        except FA3XmlValidationError as exc:
            status["status"] = {"code": 450, "description": "Błąd weryfikacji semantyki dokumentu faktury",
                                "details": [str(exc)]}
        else:
            data = f"{self.nip}-{now:%Y%m%d}-{secrets.token_hex(6).upper()}"
            status.update(ksefNumber=f"{data}-{_crc8(data.encode()):02X}", acquisitionDate=_iso(now),
                          status={"code": 200, "description": "Sukces"})
        self.invoices[(session, ref)] = status
        return 202, {"referenceNumber": ref}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                status, payload = standin.handle(method, self.path.split("?")[0], bearer, body)
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args) -> None:
                pass

        return Handler
