"""KSeF: which invoices go to the Krajowy System e-Faktur, their FA(3) XML, sending them in an
online session of KSeF API v2 (ksef-client), and what the printout shows (KOD I, KOD II).

The lifecycle of a KsefDocument (app/tables/ksef.py):
- `prepare` builds the XML of every invoice that should go (WBOK_KSEF_MODE) and has none,
  from the same frozen InvoiceDoc as the PDF, validates it against the FA(3) XSD and stores
  it: "pending", or "invalid" with the validator's message (an invalid document is never sent).
- `send_pending` leases due documents (a conditional UPDATE: two processes never take the same
  row), authenticates with the KSeF token, opens an online session, sends each document
  encrypted, closes the session, then asks for each document's verdict: "accepted" with its
  KSeF number, or "rejected" with KSeF's reason. Documents still processing stay "sent" and
  are asked again on the next run.
- When KSeF cannot be reached, nothing is lost: billing has already issued the invoice; the
  document backs off (1, 2, 4 … 60 minutes) and is marked issued offline ("offline24", or
  "awaria" when WBOK_KSEF_OFFLINE_MODE says MF announced a failure), with the deadline the
  law gives; its printout then carries KOD I and KOD II, and it is sent when KSeF is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import anyio

from app import invoices
from app.ksef_xml import build_xml, sha256_b64, xsd_error
from app.settings import Settings
from app.tables.finances import Invoice
from app.tables.ksef import KsefDocument

log = logging.getLogger("wbok.ksef")
WARSAW = ZoneInfo("Europe/Warsaw")
MODES = ("b2b", "all", "off")
ENVS = {"test": "https://api-test.ksef.mf.gov.pl", "demo": "https://api-demo.ksef.mf.gov.pl",
        "prod": "https://api.ksef.mf.gov.pl"}
QR_URLS = {"test": "https://qr-test.ksef.mf.gov.pl", "demo": "https://qr-demo.ksef.mf.gov.pl",
           "prod": "https://qr.ksef.mf.gov.pl"}
STATUSES = ("pending", "offline", "sent", "accepted", "rejected", "invalid")
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=60)
# Days to send an offline invoice: offline24 by the next business day, a failure announced by
# the MF ("awaria") within 7 business days of its end (art. 106nf-106nh of the VAT act).
OFFLINE_DAYS = {"offline24": 1, "awaria": 7}


class KsefError(Exception):
    """KSeF could not be reached or refused the session: retry later."""


def wants(mode: str, buyer_nip: str) -> bool:
    """Whether an invoice to a buyer with `buyer_nip` ("" for none) goes to KSeF."""
    return mode == "all" or (mode == "b2b" and bool(buyer_nip))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _since(settings: Settings) -> date:
    return date.fromisoformat(settings.ksef_since)


async def prepare(settings: Settings, *, limit: int = 500) -> int:
    """Build, validate and store the FA(3) XML of invoices that should go and have none yet.
    Idempotent and safe in parallel: the invoice is unique in ksef_document."""
    if settings.ksef_mode not in ("b2b", "all"):
        return 0
    done, last = 0, 0
    while True:
        # Invoices that do not go (a consumer's in b2b mode) stay without a row: walk by ID.
        rows = await Invoice.raw(
            "SELECT i.id, i.created_at, i.buyer_nip FROM invoice i "
            "LEFT JOIN ksef_document k ON k.invoice = i.id "
            "WHERE k.id IS NULL AND i.issue_date >= {} AND i.id > {} ORDER BY i.id LIMIT {}",
            _since(settings), last, limit)
        if rows:
            last = rows[-1]["id"]
        todo = [r for r in rows if wants(settings.ksef_mode, r["buyer_nip"] or "")]
        if todo:
            await _store({r["id"]: r["created_at"] for r in todo})
            done += len(todo)
        if len(rows) < limit:
            return done


def _created(value) -> datetime:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def _corrected_ksef_numbers(docs) -> dict[str, str]:
    """For corrective invoices: the corrected invoices' KSeF numbers, where accepted."""
    numbers = [d.corrected_number for d in docs if getattr(d, "corrected_number", None)]
    if not numbers:
        return {}
    rows = await KsefDocument.select(KsefDocument.number, KsefDocument.ksef_number).where(
        KsefDocument.number.is_in(numbers) & (KsefDocument.status == "accepted"))
    return {r["number"]: r["ksef_number"] for r in rows}


def _xml_and_error(doc, created_at: datetime, corrected: str | None) -> tuple[bytes, str | None]:
    """Build and validate one document (CPU work, about 8 ms: run in a thread)."""
    try:
        xml = build_xml(doc, created_at, corrected_ksef_number=corrected)
    except ValueError as exc:  # the SDK's own checks (FA3XmlValidationError is one)
        return b"", str(exc)
    return xml, xsd_error(xml)


async def _documents(created: dict[int, object]) -> list[tuple[int, object, str | None]]:
    """(invoice ID, frozen document, corrected invoice's KSeF number) for these invoices."""
    ids = list(created)
    docs = await invoices.load_invoice_docs(ids) or []
    corrected = await _corrected_ksef_numbers(docs)
    return [(i, d, corrected.get(getattr(d, "corrected_number", None) or "")) for i, d in zip(ids, docs)]


async def _build(invoice_id: int, created_at) -> bytes:
    (_, doc, corrected), = await _documents({invoice_id: created_at})
    return await anyio.to_thread.run_sync(
        lambda: build_xml(doc, _created(created_at), corrected_ksef_number=corrected))


async def _store(created: dict[int, object]) -> None:
    """Build, validate and store the documents of these invoices (ID -> created_at); the XML
    work runs in a worker thread, so the event loop keeps serving meanwhile."""
    docs = await _documents(created)

    def build_all() -> list[tuple[bytes, str | None]]:
        return [_xml_and_error(doc, _created(created[i]), corrected) for i, doc, corrected in docs]

    built = await anyio.to_thread.run_sync(build_all)
    rows = [KsefDocument(invoice=i, number=doc.number, status="invalid" if error else "pending",
                         xml=xml.decode("utf-8"), xml_hash=sha256_b64(xml) if xml else "", error=error or "")
            for (i, doc, _), (xml, error) in zip(docs, built)]
    if rows:
        await KsefDocument.insert(*rows).on_conflict(action="DO NOTHING")


async def document(invoice_id: int, settings: Settings) -> dict | None:
    """The invoice's KSeF row, built now if it should go and was not yet prepared."""
    row = await KsefDocument.select().where(KsefDocument.invoice == invoice_id).first()
    if row is None and settings.ksef_mode in ("b2b", "all"):
        head = await Invoice.select(Invoice.created_at, Invoice.buyer_nip, Invoice.issue_date).where(
            Invoice.id == invoice_id).first()
        if head and head["issue_date"] >= _since(settings) and wants(settings.ksef_mode, head["buyer_nip"]):
            await _store({invoice_id: head["created_at"]})
            row = await KsefDocument.select().where(KsefDocument.invoice == invoice_id).first()
    return row


async def invoice_xml(invoice_id: int, settings: Settings, customer_id: int | None = None) -> bytes | None:
    """The stored FA(3) XML of an invoice (the customer's own with `customer_id`); for an
    invoice that does not go to KSeF, the XML is built on the fly from the frozen data."""
    query = Invoice.select(Invoice.id, Invoice.created_at).where(Invoice.id == invoice_id)
    if customer_id is not None:
        query = query.where(Invoice.customer == customer_id)
    head = await query.first()
    if head is None:
        return None
    row = await document(invoice_id, settings)
    if row and row["xml"]:
        return row["xml"].encode("utf-8")
    return await _build(invoice_id, head["created_at"])


async def invoice_id_by_number(number: str) -> int | None:
    row = await Invoice.select(Invoice.id).where(Invoice.number == number).first()
    return row["id"] if row else None


# --- sending ---------------------------------------------------------------------------

def api_url(settings: Settings) -> str:
    return settings.ksef_api_url or ENVS.get(settings.ksef_env, ENVS["test"])


def qr_url(settings: Settings) -> str:
    return QR_URLS.get(settings.ksef_env, QR_URLS["test"])


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def business_deadline(issued: date, days: int) -> datetime:
    """The end (23:59:59 Warsaw) of the `days`-th business day after `issued` (Mon-Fri;
    public holidays are not counted out)."""
    day = issued
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return datetime.combine(day, time(23, 59, 59), WARSAW).astimezone(timezone.utc)


@dataclass
class SendResult:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    offline: int = 0
    waiting: int = 0
    error: str = ""

    def summary(self) -> str:
        text = (f"KSeF: wysłano {self.sent}, przyjęto {self.accepted}, odrzucono {self.rejected}, "
                f"offline {self.offline}, w toku {self.waiting}")
        return text + (f"; błąd: {self.error}" if self.error else "")


async def _lease(now: datetime, limit: int, *, force: bool = False) -> list[dict]:
    """Take up to `limit` documents due for sending or for their verdict, atomically:
    the conditional UPDATE is the claim, so a row is never leased by two processes."""
    due = KsefDocument.status.is_in(["pending", "offline", "sent"])
    if not force:
        due &= KsefDocument.next_attempt_at.is_null() | (KsefDocument.next_attempt_at <= now)
    candidates = await KsefDocument.select(KsefDocument.id).where(
        due & (KsefDocument.locked_until.is_null() | (KsefDocument.locked_until < now))
    ).order_by(KsefDocument.id).limit(limit)
    if not candidates:
        return []
    return await KsefDocument.update({KsefDocument.locked_until: now + LEASE}).where(
        KsefDocument.id.is_in([c["id"] for c in candidates])
        & (KsefDocument.locked_until.is_null() | (KsefDocument.locked_until < now))
    ).returning(*KsefDocument.all_columns())


async def _record(doc_id: int, **values) -> None:
    values.setdefault("locked_until", None)
    await KsefDocument.update({getattr(KsefDocument, k): v for k, v in values.items()}).where(
        KsefDocument.id == doc_id)


async def send_pending(settings: Settings, *, now: datetime | None = None, limit: int = 100,
                       force: bool = False) -> SendResult:
    """Prepare new documents, then send what is due and collect verdicts (the job, and
    `wbok ksef send`). `force` ignores the back-off (the operator's "send now")."""
    from app import ksef_api

    now = _now(now)
    result = SendResult()
    if settings.ksef_mode == "off":
        return result
    await prepare(settings)
    if not settings.ksef_token:  # documents wait, untouched, until a token is configured
        result.error = "brak tokenu KSeF (WBOK_KSEF_TOKEN)"
        return result
    rows = await _lease(now, limit, force=force)
    if not rows:
        return result
    try:
        async with ksef_api.Connection(api_url(settings), settings.ksef_token, settings.isp.nip) as conn:
            to_send = [r for r in rows if r["status"] in ("pending", "offline")]
            if to_send:
                await _send(conn, to_send, now, result)
            await _verdicts(conn, rows, now, result)
    except ksef_api.Failure as exc:
        result.error = str(exc)
        await _failed(rows, result.error, now, settings, result, reachable=exc.reachable)
    return result


async def _send(conn, rows: list[dict], now: datetime, result: SendResult) -> None:
    async with conn.session() as session:
        for row in rows:
            ref = await session.send(row["xml"].encode("utf-8"), offline=row["status"] == "offline")
            row["status"], row["reference"], row["session_ref"] = "sent", ref, session.reference
            await _record(row["id"], status="sent", reference=ref, session_ref=session.reference,
                          attempts=row["attempts"] + 1, error="", next_attempt_at=None,
                          locked_until=now + LEASE)
            result.sent += 1


async def _verdicts(conn, rows: list[dict], now: datetime, result: SendResult) -> None:
    for row in rows:
        if row["status"] != "sent":
            continue
        verdict = await conn.invoice_status(row["session_ref"], row["reference"])
        if verdict.code == 200:
            await _record(row["id"], status="accepted", ksef_number=verdict.ksef_number,
                          accepted_at=verdict.acquired_at or now, error="", next_attempt_at=None)
            result.accepted += 1
        elif verdict.code >= 400:
            await _record(row["id"], status="rejected", error=verdict.message, next_attempt_at=None)
            result.rejected += 1
        else:  # 100, 150: still processing; ask again soon
            await _record(row["id"], next_attempt_at=now + timedelta(minutes=1))
            result.waiting += 1


async def _failed(rows: list[dict], error: str, now: datetime, settings: Settings,
                  result: SendResult, *, reachable: bool) -> None:
    issued = {r["id"]: r["issue_date"] for r in await Invoice.select(Invoice.id, Invoice.issue_date).where(
        Invoice.id.is_in([r["invoice"] for r in rows]))} if not reachable else {}
    for row in rows:
        values = {"error": error, "attempts": row["attempts"] + 1,
                  "next_attempt_at": now + backoff(row["attempts"] + 1)}
        if not reachable and row["status"] == "pending":
            mode = settings.ksef_offline_mode
            values.update(status="offline", offline_mode=mode,
                          deadline_at=business_deadline(issued[row["invoice"]], OFFLINE_DAYS[mode]))
            result.offline += 1
        await _record(row["id"], **values)


async def retry(doc_id: int) -> bool:
    """The operator's "retry" for a rejected or failed document: due again now. A rejected
    document is sent again as it is (its XML never changes: a wrong invoice is corrected by
    a corrective invoice)."""
    updated = await KsefDocument.update({
        KsefDocument.status: "pending", KsefDocument.next_attempt_at: None, KsefDocument.error: "",
    }).where((KsefDocument.id == doc_id) & KsefDocument.status.is_in(["rejected", "pending", "offline"])
             ).returning(KsefDocument.id)
    return bool(updated)


# --- the operator's view -------------------------------------------------------------------

async def counts() -> dict[str, int]:
    rows = await KsefDocument.raw("SELECT status, COUNT(*) AS n FROM ksef_document GROUP BY status")
    found = {r["status"]: r["n"] for r in rows}
    return {status: found.get(status, 0) for status in STATUSES}


async def documents(status: str | None = None, limit: int = 200) -> list[dict]:
    query = KsefDocument.select(
        KsefDocument.id, KsefDocument.invoice, KsefDocument.number, KsefDocument.status,
        KsefDocument.ksef_number, KsefDocument.accepted_at, KsefDocument.error,
        KsefDocument.attempts, KsefDocument.next_attempt_at, KsefDocument.offline_mode,
        KsefDocument.deadline_at, KsefDocument.invoice.customer.as_alias("customer"),
    ).order_by(KsefDocument.id, ascending=False).limit(limit)
    if status in STATUSES:
        query = query.where(KsefDocument.status == status)
    return await query


async def ksef_numbers(invoice_ids: list[int]) -> dict[int, str]:
    """For the customer's list: invoice ID -> its KSeF number ("" until accepted), for the
    invoices that go to KSeF and have their XML."""
    if not invoice_ids:
        return {}
    rows = await KsefDocument.select(KsefDocument.invoice, KsefDocument.ksef_number,
                                     KsefDocument.status).where(
        KsefDocument.invoice.is_in(invoice_ids) & (KsefDocument.status != "invalid"))
    return {r["invoice"]: r["ksef_number"] if r["status"] == "accepted" else "" for r in rows}


# --- the printout ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Stamp:
    """What an invoice's printout shows of KSeF: its number (or "OFFLINE") and the codes."""

    ksef_number: str
    kod1: str
    kod2: str = ""

    @property
    def offline(self) -> bool:
        return not self.ksef_number


async def stamps(invoice_ids: list[int], settings: Settings) -> list[Stamp | None]:
    """The KSeF stamps for invoices' PDFs, in the order given: accepted -> its KSeF number and
    KOD I; issued offline (and not yet accepted) -> KOD I and KOD II (with the offline
    certificate configured); otherwise None."""
    from app import ksef_api

    if not invoice_ids:
        return []
    rows = await KsefDocument.select(
        KsefDocument.invoice, KsefDocument.status, KsefDocument.xml_hash, KsefDocument.ksef_number,
        KsefDocument.offline_mode, KsefDocument.invoice.issue_date.as_alias("issue_date"),
        KsefDocument.invoice.seller_nip.as_alias("seller_nip"),
    ).where(KsefDocument.invoice.is_in(list(invoice_ids)))
    found: dict[int, Stamp] = {}
    for row in rows:
        accepted = row["status"] == "accepted"
        if not row["xml_hash"] or not (accepted or row["offline_mode"]):
            continue
        kod1 = ksef_api.kod1_url(qr_url(settings), row["seller_nip"], row["issue_date"], row["xml_hash"])
        if accepted:
            found[row["invoice"]] = Stamp(row["ksef_number"], kod1)
        else:
            found[row["invoice"]] = Stamp("", kod1, ksef_api.kod2_url(
                qr_url(settings), row["seller_nip"], row["xml_hash"],
                settings.ksef_offline_cert, settings.ksef_offline_key))
    return [found.get(i) for i in invoice_ids]


async def stamp(invoice_id: int, settings: Settings) -> Stamp | None:
    return (await stamps([invoice_id], settings))[0]
