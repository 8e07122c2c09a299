"""Web plumbing — routes: the Jinja environment, static URLs, security headers and locale."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.money import format_money
from app.traffic import format_bytes, format_rate
from app.settings import ROOT

TEMPLATES = Path(__file__).resolve().parent.parent / "partials"
STATIC = ROOT / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


@lru_cache(maxsize=None)
def static_url(name: str) -> str:
    """A versioned URL: the content hash in the query, so the file can be cached forever."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def _jinja_gettext(message: str) -> str:
    return i18n.translations(i18n.current_locale.get()).gettext(message)


def _jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.current_locale.get()).ngettext(singular, plural, n)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=True)
    env.globals.update(
        static_url=static_url,
        current_locale=i18n.current_locale.get,
        locales=i18n.LOCALES,
    )
    env.filters.update(
        money=format_money,
        datetime=i18n.format_datetime,
        date=i18n.format_date,
        cno=i18n.customer_number,
        bytes=format_bytes,
        rate=format_rate,
    )
    return env


async def add_security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: CSP and friends on every HTTP response, errors and static included;
    on a customer's answer, the customer ID it was rendered for."""
    if message["type"] == "http.response.start":
        message["headers"] = list(message.get("headers") or []) + SECURITY_HEADERS
        customer = scope.get("state", {}).get("wbok_customer")
        if customer is not None:
            message["headers"].append((b"x-wbok-customer", str(customer).encode()))


class LocaleMiddleware:
    """Sets the request's locale from the `lang` cookie (Polish when absent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            i18n.current_locale.set(i18n.pick_locale(_cookie(scope, "lang")))
        await self.app(scope, receive, send)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None
