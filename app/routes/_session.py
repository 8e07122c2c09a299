"""Sessions — routes: the customer or operator behind the session cookie."""

from __future__ import annotations

from datetime import timedelta

from litestar import Request
from litestar.datastructures import Cookie

from app import sessions
from app.sessions import ActiveSession
from app.settings import Settings

CUSTOMER_COOKIE = "wbok_session"
OPERATOR_COOKIE = "wbok_admin"
COOKIES = {sessions.CUSTOMER: (CUSTOMER_COOKIE, "/"), sessions.OPERATOR: (OPERATOR_COOKIE, "/admin")}


class LoginRequired(Exception):
    """No live session of the kind a route needs; handled by redirecting to its login."""

    def __init__(self, kind: str, expired: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.expired = expired


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _require(request: Request, kind: str) -> ActiveSession:
    name, _ = COOKIES[kind]
    token = request.cookies.get(name)
    idle = timedelta(minutes=settings_of(request).session_idle_minutes)
    active = await sessions.load(kind, token, idle)
    if active is None:
        raise LoginRequired(kind, expired=bool(token))
    if kind == sessions.CUSTOMER:
        # Echoed as X-WBOK-Customer (web.add_security_headers): the scale run checks that
        # every answer was rendered for the customer who asked, whichever worker served it.
        request.state.wbok_customer = active.subject_id
    return active


async def provide_customer_session(request: Request) -> ActiveSession:
    return await _require(request, sessions.CUSTOMER)


async def provide_operator_session(request: Request) -> ActiveSession:
    return await _require(request, sessions.OPERATOR)


def session_cookie(request: Request, kind: str, token: str | None) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when configured; None clears it."""
    name, path = COOKIES[kind]
    return Cookie(key=name, value=token or "", path=path, httponly=True, samesite="lax",
                  secure=settings_of(request).secure_cookies, max_age=None if token else 0)
