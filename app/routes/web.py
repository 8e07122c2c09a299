"""Web plumbing — routes: the Jinja environment, static URLs, security headers and locale."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
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


@pass_context
def page_title(context, name: str) -> Markup:
    """The `title` block of page template `name`, rendered with the current context: what a
    fragment sent alone puts in <head><title> so that htmx sets document.title on the swap."""
    template = context.environment.get_template(name)
    block = template.blocks.get("title")
    if block is None:
        return Markup("")
    return Markup("".join(block(template.new_context(context.get_all(), shared=True))).strip())


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only with a deploy (a restart): no stat() of every file per render.
        auto_reload=False,
    )
    env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=True)
    env.globals.update(
        static_url=static_url,
        page_title=page_title,
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


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")


def security_headers(hsts: bool = False):
    """A before_send hook: CSP and friends on every HTTP response, errors and static
    included; HSTS when the cookies are Secure (the site is served over HTTPS); and
    `Cache-Control: no-store` on every answer that does not set its own cache policy
    (only static files do), so no private page, fragment or new PIN stays in a cache; on a
    customer's answer, the customer ID it was rendered for (X-WBOK-Customer)."""
    extra = SECURITY_HEADERS + ([HSTS] if hsts else [])

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            if not any(key.lower() == b"cache-control" for key, _ in headers):
                headers.append(NO_STORE)
            customer = scope.get("state", {}).get("wbok_customer")
            if customer is not None:  # the customer this answer was rendered for (scale run)
                headers.append((b"x-wbok-customer", str(customer).encode()))
            message["headers"] = headers + extra

    return add_security_headers



class CSRFCookieRefresh:
    """A GET with a stale or foreign CSRF cookie (signed by another key: an old install,
    another app on the same host) drops it before Litestar's CSRF middleware looks, which
    then sets a fresh one. So refreshing the page always cures a "form expired" 403."""

    def __init__(self, app: ASGIApp, secret: str, cookie_name: str = "csrftoken") -> None:
        self.app, self.secret, self.name = app, secret, cookie_name

    def _valid(self, token: str) -> bool:
        import hmac

        from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

        if len(token) <= CSRF_SECRET_LENGTH:
            return False
        expected = generate_csrf_hash(token=token[:CSRF_SECRET_LENGTH], secret=self.secret)
        return hmac.compare_digest(token[CSRF_SECRET_LENGTH:], expected)

    def _clean(self, value: bytes) -> bytes:
        parts = value.decode("latin-1").split(";")
        kept = [p for p in parts if not (p.strip().partition("=")[0] == self.name
                                         and not self._valid(p.strip().partition("=")[2]))]
        return ";".join(kept).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            scope["headers"] = [(k, self._clean(v) if k == b"cookie" else v) for k, v in scope["headers"]]
        await self.app(scope, receive, send)


class IDRangeMiddleware:
    """A numeric path parameter beyond the 32-bit columns' range names no row: 404 before
    any query (the database would refuse the number, and that must not be a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from litestar.exceptions import NotFoundException

        from app.validation import MAX_ROW_ID

        for value in (scope.get("path_params") or {}).values():
            if isinstance(value, int) and not 0 <= value <= MAX_ROW_ID:
                raise NotFoundException()
        await self.app(scope, receive, send)


def log_safe(text: str) -> str:
    """A request path for the log: percent-quoted, so a line break or an escape sequence in
    it cannot forge a log line or repaint a terminal."""
    from urllib.parse import quote

    return quote(text, safe="/:@!$&'()*+,;=-._~")


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
