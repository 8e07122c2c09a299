"""The app factory: the one place that lists controllers, templates, static files and the lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import db
from app.i18n import N_, _
from app.routes import live
from app.routes._render import client_redirect
from app.routes._session import LoginRequired
from app.routes.admin import ADMIN_CONTROLLERS
from app.routes.auth import AuthController
from app.routes.collector import COLLECTOR_PATH, CollectorController
from app.routes.finances import FinancesController
from app.routes.helpdesk import HelpdeskController
from app.routes.info import InfoController
from app.routes.messages import MessagesController
from app.routes.stats import StatsController
from app.settings import Settings, get_settings
from app.routes.web import (STATIC, CSRFCookieRefresh, IDRangeMiddleware, LocaleMiddleware, build_environment,
                            log_safe, security_headers)

log = logging.getLogger("wbok")

ERRORS = {
    400: (N_("Nieprawidłowe żądanie"), N_("Formularz zawiera nieprawidłowe dane. Wróć i spróbuj ponownie.")),
    403: (N_("Brak dostępu"), N_("Formularz wygasł lub nie pochodzi z tej strony. Odśwież stronę i spróbuj ponownie.")),
    404: (N_("Nie znaleziono"), N_("Nie ma takiej strony albo nie masz do niej dostępu.")),
    405: (N_("Niedozwolona metoda"), N_("Ta strona nie obsługuje takiego żądania.")),
    413: (N_("Za duże dane"), N_("Przesłane dane są za duże.")),
    429: (N_("Zbyt wiele prób"), N_("Zbyt wiele żądań. Spróbuj ponownie za chwilę.")),
    503: (N_("Serwis chwilowo niedostępny"), N_("Trwają prace techniczne albo chwilowa przerwa w działaniu bazy danych. Spróbuj ponownie za kilka sekund.")),
    500: (N_("Błąd serwera"), N_("Coś poszło nie tak. Spróbuj ponownie za chwilę; jeśli błąd wraca, skontaktuj się z biurem.")),
}


def _login_required(request: Request, exc: LoginRequired) -> Response:
    login = "/admin/login" if exc.kind == "operator" else "/login"
    return client_redirect(request, login + ("?m=expired" if exc.expired else ""))


def _error_page(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = {}
    if status == 500 and db.is_unavailable(exc):
        # The database is down or restarting: one line in the log, "try again" to the user.
        status, headers = 503, {"Retry-After": "5"}
        log.warning("database unavailable on %s %s: %s", request.method, log_safe(request.url.path), exc)
    elif _is_bad_data(exc):
        # The database refused a value no validator caught: the request's fault, and its
        # transaction was rolled back. Logged, answered like any bad form.
        log.warning("bad data on %s %s: %s", request.method, log_safe(request.url.path), type(exc).__name__)
        status = 400
    elif status >= 500:
        log.exception("unhandled error on %s %s", request.method, log_safe(request.url.path), exc_info=exc)
    title, message = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
    back = "/admin/customers" if request.url.path.startswith("/admin") else "/"
    return Template("error.html", status_code=status, headers=headers,
                    context={"title": _(title), "message": _(message), "back": back})


def _is_bad_data(exc: Exception) -> bool:
    """A value the database cannot take: too long, out of range, a NUL (PostgreSQL's
    DataError), or an integer beyond SQLite's 64 bits."""
    if isinstance(exc, OverflowError):
        return True
    try:
        from asyncpg.exceptions import DataError
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(exc, DataError)


# Forms carry text, not files (the statement upload, alone, allows 10 MB).
BODY_LIMIT = 128 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start_pool(settings.db_pool_size)
        scheduler = None
        if settings.scheduler:
            from app.jobs import start_scheduler

            scheduler = start_scheduler(settings)
        try:
            yield
        finally:
            if scheduler:
                scheduler.shutdown(wait=False)
            await db.close_pool()

    static = create_static_files_router(
        path="/static", directories=[STATIC], name="static",
        cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
    )
    app = Litestar(
        route_handlers=[AuthController, InfoController, FinancesController, MessagesController,
                        StatsController, HelpdeskController, CollectorController,
                        *ADMIN_CONTROLLERS, static],
        plugins=[live.channels_plugin(settings)],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(build_environment())),
        # SSE streams are not compressed: a compressor per open stream costs about 0.5 MiB
        # (bench/scale.py --idle-streams) to shrink keep-alives of a few bytes.
        compression_config=CompressionConfig(backend="brotli", brotli_gzip_fallback=True,
                                             minimum_size=256, brotli_quality=5, exclude=[r"/events$"]),
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_secure=settings.secure_cookies,
                               cookie_httponly=False, cookie_samesite="lax",
                               # Collectors authenticate with a bearer token, not a cookie.
                               exclude=[f"^{COLLECTOR_PATH}$"]),
        middleware=[DefineMiddleware(IDRangeMiddleware),
                    DefineMiddleware(CSRFCookieRefresh, secret=settings.secret_key),
                    DefineMiddleware(LocaleMiddleware)],
        before_send=[security_headers(hsts=settings.secure_cookies)],
        exception_handlers={LoginRequired: _login_required, HTTPException: _error_page,
                            Exception: _error_page},
        lifespan=[lifespan],
        request_max_body_size=BODY_LIMIT,
        openapi_config=None,
        debug=False,
    )
    app.state.settings = settings
    return app
