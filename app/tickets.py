"""Helpdesk tickets: opening, threads, replies, status transitions, queues and the audit trail."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from app import db, mail
from app.i18n import N_, _, current_locale
from app.settings import ISP
from app.tables.customers import Customer
from app.tables.helpdesk import Ticket, TicketEvent, TicketMessage
from app.validation import CONTROL, has_control

NEW, TODO, RESOLVED = "new", "todo", "resolved"
STATUS_LABELS = {NEW: N_("nowe"), TODO: N_("do zrealizowania"), RESOLVED: N_("rozwiązane")}
QUEUE_LABELS = {"office": N_("Biuro"), "technical": N_("Dział techniczny"), "billing": N_("Rozliczenia")}
# Which statuses an operator may set from each one; "new" means nobody has taken it yet,
# so nothing goes back to it. A customer's reply reopens a resolved ticket (to TODO).
TRANSITIONS = {NEW: {NEW, TODO, RESOLVED}, TODO: {TODO, RESOLVED}, RESOLVED: {RESOLVED, TODO}}
SUBJECT_MAX, BODY_MAX = 100, 10_000


class TicketError(Exception):
    """Invalid input; `errors` maps a form field to a (Polish msgid) message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class TicketRow:
    id: int
    queue: str
    subject: str
    status: str
    created_at: datetime
    last_activity_at: datetime
    customer_id: int = 0
    customer_name: str = ""
    unseen: bool = False  # an answer or status change the customer has not opened yet


@dataclass(frozen=True)
class Message:
    id: int
    author: str
    author_name: str
    body: str
    internal: bool
    created_at: datetime


@dataclass(frozen=True)
class Event:
    actor: str
    actor_name: str
    action: str
    detail: str
    created_at: datetime


@dataclass
class Thread:
    ticket: TicketRow
    messages: list[Message]
    events: list[Event] = field(default_factory=list)

    @property
    def last_message_id(self) -> int:
        return self.messages[-1].id if self.messages else 0


@dataclass(frozen=True)
class Change:
    """What an operator's answer changed; `public` says whether the customer sees it."""

    ticket_id: int
    customer_id: int
    public: bool
    status: str


def queue_label(queue: str) -> str:
    return _(QUEUE_LABELS.get(queue, queue))


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def next_status_after_customer_reply(status: str) -> str:
    """A customer's reply reopens a resolved ticket; otherwise the status stays."""
    return TODO if status == RESOLVED else status


def check_operator_status(current: str, wanted: str) -> None:
    if wanted not in STATUS_LABELS:
        raise TicketError({"status": N_("Nieznany status.")})
    if wanted not in TRANSITIONS[current]:
        raise TicketError({"status": N_("Zgłoszenia nie można przywrócić do statusu „nowe”.")})


def clean_body(body: str) -> str:
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def validate_new(subject: str, body: str, queue: str, queues: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if has_control(subject):
        errors["subject"] = CONTROL
    elif not subject.strip():
        errors["subject"] = N_("Wpisz temat zgłoszenia.")
    elif len(subject.strip()) > SUBJECT_MAX:
        errors["subject"] = N_("Temat może mieć najwyżej 100 znaków.")
    errors.update(_body_errors(body))
    if queue not in queues:
        errors["queue"] = N_("Wybierz dział z listy.")
    return errors


def _body_errors(body: str) -> dict[str, str]:
    if has_control(clean_body(body), multiline=True):
        return {"body": CONTROL}
    if not clean_body(body):
        return {"body": N_("Wpisz treść zgłoszenia.")}
    if len(clean_body(body)) > BODY_MAX:
        return {"body": N_("Treść może mieć najwyżej 10 000 znaków.")}
    return {}


def _row(r: dict) -> TicketRow:
    return TicketRow(r["id"], r["queue"], r["subject"], r["status"], r["created_at"],
                     r["last_activity_at"], r.get("customer", 0), r.get("customer.name", "") or "",
                     bool(r.get("customer_unseen")))


def _message(r: dict) -> Message:
    name = r.get("operator.name") or r.get("operator.username") or ""
    return Message(r["id"], r["author"], name, r["body"], r["internal"], r["created_at"])


async def _log(ticket_id: int, actor: str, action: str, now: datetime, operator_id: int | None = None,
               detail: str = "") -> None:
    await TicketEvent.insert(TicketEvent(ticket=ticket_id, actor=actor, operator=operator_id,
                                         action=action, detail=detail[:200], created_at=now))


def default_queue(queue: str, isp: ISP, subject: str = "", body: str = "") -> str:
    """The queue a new ticket goes to: the one chosen, or the only one there is; with none
    chosen, the first queue whose keywords (isp.queue_keywords, word beginnings, any case)
    occur in the subject or body, else isp.default_queue. Operators can move it later."""
    if len(isp.queues) == 1:
        return isp.queues[0]
    if queue:
        return queue
    text = f"{subject} {body}".casefold()
    for name, words in isp.queue_keywords.items():
        if name in isp.queues and any(re.search(r"\b" + re.escape(w.casefold()), text) for w in words):
            return name
    return isp.default_queue if isp.default_queue in isp.queues else isp.queues[0]


async def open_ticket(customer_id: int, subject: str, body: str, queue: str, token: str,
                      now: datetime, isp: ISP, base_url: str) -> tuple[int, bool]:
    """Store a new ticket with its first message; returns (ticket id, created). The same
    form token twice returns the first ticket and creates nothing (a double click). With
    one queue the form asks for none, and the ticket goes to it."""
    queue = default_queue(queue.strip(), isp, subject, body)
    errors = validate_new(subject, body, queue, isp.queues)
    if errors:
        raise TicketError(errors)
    key = f"{customer_id}:{token[:64]}" if token else None
    async with db.transaction():
        if key and (old := await Ticket.select(Ticket.id).where(Ticket.submit_key == key).first()):
            return old["id"], False
        rows = await Ticket.insert(Ticket(
            customer=customer_id, queue=queue, subject=subject.strip(), status=NEW, created_at=now,
            last_activity_at=now, submit_key=key)).returning(Ticket.id)
        ticket_id = rows[0]["id"]
        await TicketMessage.insert(TicketMessage(ticket=ticket_id, author="customer",
                                                 body=clean_body(body), created_at=now))
        await _log(ticket_id, "customer", "opened", now, detail=queue)
        if to := isp.queue_emails.get(queue):
            await mail.enqueue(to, _("Nowe zgłoszenie #%(id)s: %(subject)s", id=ticket_id,
                                     subject=subject.strip()),
                               f"{clean_body(body)}\n\n{base_url}/admin/helpdesk/{ticket_id}\n", now)
    return ticket_id, True


async def customer_tickets(customer_id: int) -> list[TicketRow]:
    """The customer's tickets, the most recently active first."""
    rows = await Ticket.select(*_TICKET_COLUMNS).where(Ticket.customer == customer_id).order_by(
        Ticket.last_activity_at, ascending=False).order_by(Ticket.id, ascending=False)
    return [_row(r) for r in rows]


_TICKET_COLUMNS = (Ticket.id, Ticket.queue, Ticket.subject, Ticket.status, Ticket.created_at,
                   Ticket.last_activity_at, Ticket.customer, Ticket.customer_unseen)
_MESSAGE_COLUMNS = (TicketMessage.id, TicketMessage.author, TicketMessage.body, TicketMessage.internal,
                    TicketMessage.created_at, TicketMessage.operator.name, TicketMessage.operator.username)


async def _ticket(ticket_id: int, customer_id: int | None) -> TicketRow | None:
    query = Ticket.select(*_TICKET_COLUMNS, Ticket.customer.name).where(Ticket.id == ticket_id)
    if customer_id is not None:
        query = query.where(Ticket.customer == customer_id)
    row = await query.first()
    return _row(row) if row else None


async def messages_after(ticket_id: int, after_id: int, include_internal: bool) -> list[Message]:
    """Messages of one ticket newer than `after_id`, oldest first; internal notes only
    when asked for (the operator side). Callers check ownership first."""
    query = TicketMessage.select(*_MESSAGE_COLUMNS).where(
        (TicketMessage.ticket == ticket_id) & (TicketMessage.id > after_id))
    if not include_internal:
        query = query.where(TicketMessage.internal == False)  # noqa: E712 (SQL, not Python)
    return [_message(r) for r in await query.order_by(TicketMessage.id)]


async def customer_thread(customer_id: int, ticket_id: int) -> Thread | None:
    """One of the customer's tickets with its public messages; None for anyone else's."""
    ticket = await _ticket(ticket_id, customer_id)
    if ticket is None:
        return None
    if ticket.unseen:
        await mark_seen(customer_id, ticket_id)
    return Thread(ticket, await messages_after(ticket_id, 0, include_internal=False))


async def mark_seen(customer_id: int, ticket_id: int) -> None:
    """The customer has the thread in front of them: its answers are seen (the badge goes)."""
    await Ticket.update({Ticket.customer_unseen: False}).where(
        (Ticket.id == ticket_id) & (Ticket.customer == customer_id) & (Ticket.customer_unseen == True))  # noqa: E712


async def unseen_count(customer_id: int) -> int:
    """Tickets with an answer or status change the customer has not opened: the Helpdesk badge."""
    return await Ticket.count().where((Ticket.customer == customer_id) & (Ticket.customer_unseen == True))  # noqa: E712


async def customer_public_messages(customer_id: int, ticket_id: int, after_id: int) -> list[Message] | None:
    if await _ticket(ticket_id, customer_id) is None:
        return None
    return await messages_after(ticket_id, after_id, include_internal=False)


@dataclass(frozen=True)
class Update:
    """What a live thread needs after an event: the status now and the messages after the last."""
    status: str
    messages: list[Message]


async def thread_update(ticket_id: int, after_id: int, customer_id: int | None) -> Update | None:
    """A live thread's news: for a customer (scoped to them, public messages only) or, with
    `customer_id` None, for operators (internal notes too). None when there is no such ticket."""
    query = Ticket.select(Ticket.status, Ticket.customer_unseen).where(Ticket.id == ticket_id)
    if customer_id is not None:
        query = query.where(Ticket.customer == customer_id)
    row = await query.first()
    if row is None:
        return None
    if customer_id is not None and row["customer_unseen"]:
        await mark_seen(customer_id, ticket_id)  # it arrives in the open thread: seen
    return Update(row["status"], await messages_after(ticket_id, after_id, include_internal=customer_id is None))


async def customer_reply(customer_id: int, ticket_id: int, body: str, now: datetime) -> bool:
    """Add the customer's reply; reopens a resolved ticket. False when the ticket is not theirs."""
    if errors := _body_errors(body):
        raise TicketError(errors)
    async with db.transaction():
        row = await Ticket.select(Ticket.status).where(
            (Ticket.id == ticket_id) & (Ticket.customer == customer_id)).first()
        if row is None:
            return False
        await TicketMessage.insert(TicketMessage(ticket=ticket_id, author="customer",
                                                 body=clean_body(body), created_at=now))
        status = next_status_after_customer_reply(row["status"])
        await Ticket.update({Ticket.status: status, Ticket.last_activity_at: now}).where(Ticket.id == ticket_id)
        await _log(ticket_id, "customer", "reply", now)
        if status != row["status"]:
            await _log(ticket_id, "customer", "reopen", now, detail=f"{row['status']}→{status}")
    return True


async def operator_answer(operator_id: int, ticket_id: int, body: str, internal: bool, status: str,
                          queue: str, now: datetime, isp: ISP, base_url: str) -> Change | None:
    """An operator's reply or internal note, status change and queue move, in one
    transaction with the customer's notification e-mail. None for an unknown ticket."""
    body = clean_body(body)
    if has_control(body, multiline=True):
        raise TicketError({"body": CONTROL})
    if len(body) > BODY_MAX:
        raise TicketError({"body": N_("Treść może mieć najwyżej 10 000 znaków.")})
    if queue and queue not in isp.queues:
        raise TicketError({"queue": N_("Wybierz dział z listy.")})
    async with db.transaction():
        row = await Ticket.select(Ticket.status, Ticket.queue, Ticket.subject, Ticket.customer,
                                  Ticket.customer.email).where(Ticket.id == ticket_id).first()
        if row is None:
            return None
        status = status or row["status"]
        check_operator_status(row["status"], status)
        queue = queue or row["queue"]
        if not body and status == row["status"] and queue == row["queue"]:
            raise TicketError({"body": N_("Wpisz odpowiedź lub notatkę albo zmień status lub dział.")})
        if body:
            await TicketMessage.insert(TicketMessage(ticket=ticket_id, author="operator", operator=operator_id,
                                                     body=body, internal=internal, created_at=now))
            await _log(ticket_id, "operator", "note" if internal else "reply", now, operator_id)
        if status != row["status"]:
            await _log(ticket_id, "operator", "status", now, operator_id, f"{row['status']}→{status}")
        if queue != row["queue"]:
            await _log(ticket_id, "operator", "queue", now, operator_id, f"{row['queue']}→{queue}")
        public_body = body if body and not internal else ""
        changes = {Ticket.status: status, Ticket.queue: queue}
        if public_body or status != row["status"]:
            changes[Ticket.last_activity_at] = now
            changes[Ticket.customer_unseen] = True
        await Ticket.update(changes).where(Ticket.id == ticket_id)
        resolved = status == RESOLVED and row["status"] != RESOLVED
        if (public_body or resolved) and row["customer.email"]:
            await mail.enqueue(row["customer.email"], *_customer_mail(
                ticket_id, row["subject"], public_body, resolved, base_url), now)
    return Change(ticket_id, row["customer"], bool(public_body) or status != row["status"], status)


@contextmanager
def _polish():
    """E-mails go out in Polish, whatever language the operator's panel is in."""
    token = current_locale.set("pl")
    try:
        yield
    finally:
        current_locale.reset(token)


def _customer_mail(ticket_id: int, subject: str, answer: str, resolved: bool, base_url: str) -> tuple[str, str]:
    """The customer's e-mail: only the public answer, never an internal note."""
    with _polish():
        return _mail_text(ticket_id, subject, answer, resolved, base_url)


def _mail_text(ticket_id: int, subject: str, answer: str, resolved: bool, base_url: str) -> tuple[str, str]:
    if resolved:
        title = _("Zgłoszenie #%(id)s rozwiązane: %(subject)s", id=ticket_id, subject=subject)
    else:
        title = _("Odpowiedź na zgłoszenie #%(id)s: %(subject)s", id=ticket_id, subject=subject)
    lines = [_("Zgłoszenie: %(subject)s", subject=subject), ""]
    if answer:
        lines += [_("Odpowiedź:"), answer, ""]
    if resolved:
        lines += [_("Zgłoszenie zostało oznaczone jako rozwiązane. Jeśli problem wraca, odpowiedz w wątku."), ""]
    lines += [_("Cały wątek:"), f"{base_url}/helpdesk/{ticket_id}", ""]
    return title, "\n".join(lines)


async def queue_view(queue: str = "", status: str = "", limit: int = 200) -> list[TicketRow]:
    """The operators' queue: filterable by queue and status, most recently active first."""
    query = Ticket.select(*_TICKET_COLUMNS, Ticket.customer.name)
    if queue:
        query = query.where(Ticket.queue == queue)
    if status:
        query = query.where(Ticket.status == status)
    rows = await query.order_by(Ticket.last_activity_at, ascending=False).order_by(
        Ticket.id, ascending=False).limit(limit)
    return [_row(r) for r in rows]


async def admin_thread(ticket_id: int) -> Thread | None:
    """A ticket for operators: every message, internal notes included, and the audit trail."""
    ticket = await _ticket(ticket_id, None)
    if ticket is None:
        return None
    events = await TicketEvent.select(
        TicketEvent.actor, TicketEvent.action, TicketEvent.detail, TicketEvent.created_at,
        TicketEvent.operator.name, TicketEvent.operator.username,
    ).where(TicketEvent.ticket == ticket_id).order_by(TicketEvent.id)
    return Thread(ticket, await messages_after(ticket_id, 0, include_internal=True), [
        Event(e["actor"], e["operator.name"] or e["operator.username"] or "", e["action"], e["detail"],
              e["created_at"]) for e in events])


async def customer_owns(customer_id: int, ticket_id: int) -> bool:
    return await Ticket.exists().where((Ticket.id == ticket_id) & (Ticket.customer == customer_id))


async def ticket_exists(ticket_id: int) -> bool:
    return await Ticket.exists().where(Ticket.id == ticket_id)


async def customer_name(customer_id: int) -> str:
    row = await Customer.select(Customer.name).where(Customer.id == customer_id).first()
    return row["name"] if row else ""

