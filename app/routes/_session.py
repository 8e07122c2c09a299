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


def forwarded_client(peer: str, forwarded_for: list[str], proxies: tuple) -> str:
    """The client a request is counted for. The socket's peer, unless it is a trusted
    proxy: then X-Forwarded-For is read from the right, and the first hop that is not a
    trusted proxy is the client (hops to its left were written by the client itself)."""
    hops = [h.strip() for value in forwarded_for for h in value.split(",")]
    client = peer
    while _trusted(client, proxies) and hops:
        hop = hops.pop()
        if _address(hop) is None:
            break  # garbage from a trusted proxy's client: keep the proxy's own word
        client = hop
    return client


def _address(text: str):
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(host: str, proxies: tuple) -> bool:
    address = _address(host) if proxies else None
    return address is not None and any(address in net for net in proxies)


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers.getall("x-forwarded-for", []),
                            settings_of(request).trusted_proxies)[:45]


def fresh_csrf_cookie(request: Request) -> Cookie:
    """A new CSRF token for the login answer: it rotates with the session ID, so a token
    planted or seen before login is worthless after it."""
    from litestar.middleware.csrf import generate_csrf_token

    config = request.app.csrf_config
    return Cookie(key=config.cookie_name, value=generate_csrf_token(config.secret), path=config.cookie_path,
                  secure=config.cookie_secure, httponly=config.cookie_httponly,
                  samesite=config.cookie_samesite, domain=config.cookie_domain)


async def _require(request: Request, kind: str) -> ActiveSession:
    name, _ = COOKIES[kind]
    token = request.cookies.get(name)
    settings = settings_of(request)
    active = await sessions.load(kind, token, timedelta(minutes=settings.session_idle_minutes),
                                 lifetime=timedelta(hours=settings.session_max_hours))
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
