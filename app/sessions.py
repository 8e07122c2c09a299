"""Sessions: database-backed, rotated at login, expired after an idle timeout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.security import new_token, token_digest
from app.tables.auth import Session

CUSTOMER = "customer"
OPERATOR = "operator"
# last_seen is written at most this often, so that reading pages costs no write each time.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ActiveSession:
    id: int
    kind: str
    subject_id: int
    created_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def start(kind: str, subject_id: int, ip: str, old_token: str | None = None) -> str:
    """Open a session and return its cookie token; any session the client had is dropped,
    so a token planted before login is worthless after it."""
    if old_token:
        await end(old_token)
    token = new_token()
    now = _now()
    await Session.insert(Session(token_hash=token_digest(token), kind=kind, subject_id=subject_id,
                                 ip=ip[:45], created_at=now, last_seen=now))
    return token


async def load(kind: str, token: str | None, idle: timedelta,
               lifetime: timedelta | None = None) -> ActiveSession | None:
    """The live session for a cookie token; an idle one, or one older than `lifetime`
    (the absolute limit, however busy the session), is deleted and counts as none."""
    if not token:
        return None
    row = await Session.select().where(
        (Session.token_hash == token_digest(token)) & (Session.kind == kind)).first()
    if row is None:
        return None
    now = _now()
    if now - row["last_seen"] > idle or (lifetime is not None and now - row["created_at"] > lifetime):
        await Session.delete().where(Session.id == row["id"])
        return None
    if now - row["last_seen"] > TOUCH_EVERY:
        await Session.update({Session.last_seen: now}).where(Session.id == row["id"])
    return ActiveSession(row["id"], row["kind"], row["subject_id"], row["created_at"])


async def end(token: str) -> None:
    await Session.delete().where(Session.token_hash == token_digest(token))


async def end_all(kind: str, subject_id: int, except_token: str | None = None) -> None:
    """End every session of one customer or operator, but the one named."""
    query = Session.delete().where((Session.kind == kind) & (Session.subject_id == subject_id))
    if except_token:
        query = query.where(Session.token_hash != token_digest(except_token))
    await query


async def prune(idle: timedelta) -> int:
    """Delete idle sessions; returns how many."""
    gone = await Session.delete().where(Session.last_seen < _now() - idle).returning(Session.id)
    return len(gone)


async def alive(session_id: int) -> bool:
    """Whether a session still exists: a long-lived stream asks this now and then, so it
    ends soon after a logout, a PIN change or a block (which delete the session)."""
    return await Session.exists().where(Session.id == session_id)
