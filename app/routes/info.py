"""Informacje — routes: the customer's data, change requests and PIN change (domain: app/info.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from app import changes, info, sessions
from app.i18n import N_, _
from app.routes._render import after_post, client_redirect, notice, render
from app.routes._session import CUSTOMER_COOKIE, session_cookie, settings_of
from app.routes.panel import CUSTOMER_DEPENDENCIES, panel_context
from app.sessions import ActiveSession

NOTICES = {
    "sent": N_("Zmiany wysłane do akceptacji. Do tego czasu widzisz je oznaczone jako oczekujące."),
    "same": N_("Nic się nie zmieniło: dane są takie same jak obecne lub oczekujące."),
    "pin": N_("PIN został zmieniony. Pozostałe sesje zostały zakończone."),
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse(form, fields: tuple[str, ...]) -> dict[str, str | bool | None]:
    """Form values by field; None for a field not sent. A checkbox sends a hidden "off"
    before it, so an unticked box still says False while an absent field says nothing."""
    raw: dict[str, str | bool | None] = {}
    for name in fields:
        values = [str(v) for v in form.getall(name, [])]
        if not values:
            raw[name] = None
        elif name in changes.BOOLEANS:
            raw[name] = any(v.strip().lower() in changes.TRUE_WORDS for v in values)
        else:
            raw[name] = values[-1][:300]
    return raw


async def _context(request: Request, session: ActiveSession, *, editing: bool = False,
                   form: dict | None = None, errors: dict | None = None, notice: str = "") -> dict:
    view = await info.info_view(session.subject_id, settings_of(request), date.today(), session.created_at)
    if view is None:
        raise NotFoundException()
    return {**await panel_context(session), **view.context(), "editing": editing,
            "form": {**view.shown, **(form or {})}, "errors": errors or {}, "notice": notice}


async def _pin_context(session: ActiveSession, errors: dict | None = None, notice: str = "") -> dict:
    return {**await panel_context(session), "errors": errors or {}, "notice": notice}


class InfoController(Controller):
    path = "/info"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_info(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        context = await _context(request, session, notice=notice(request, NOTICES))
        return render(request, "info/page.html", context, fragment="info/_data.html")

    @get("/edit")
    async def show_edit(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        context = await _context(request, session, editing=True)
        return render(request, "info/page.html", context, fragment="info/_edit.html")

    @post("/")
    async def update_info(self, request: Request, session: NamedDependency[ActiveSession]) -> Response:
        fields = changes.editable_fields(settings_of(request))
        raw = _parse(await request.form(), fields)
        checked, sent = await info.request_changes(session.subject_id, settings_of(request), raw, _now())
        if checked.errors:
            context = await _context(request, session, editing=True, form=checked.form, errors=checked.errors)
            return render(request, "info/page.html", context, fragment="info/_edit.html", status_code=422)
        key = "sent" if sent else "same"
        return await after_post(request, f"/info?m={key}", fragment="info/_contact.html",
                                context=lambda: _context(request, session, notice=_(NOTICES[key])))

    @get("/pin")
    async def show_pin(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        return render(request, "info/pin.html", await _pin_context(session), fragment="info/_pin.html")

    @post("/pin")
    async def change_pin(self, request: Request, session: NamedDependency[ActiveSession]) -> Response:
        form = await request.form()
        pins = [str(form.get(k, "")).strip()[:20] for k in ("current_pin", "new_pin", "new_pin2")]
        result = await info.change_pin(session.subject_id, *pins, now=_now(),
                                       keep_token=request.cookies.get(CUSTOMER_COOKIE))
        if result.blocked:
            response = client_redirect(request, "/login")
            response.cookies.append(session_cookie(request, sessions.CUSTOMER, None))
            return response
        if not result.ok:
            return render(request, "info/pin.html", await _pin_context(session, result.errors),
                          fragment="info/_pin.html", status_code=422)
        return await after_post(request, "/info?m=pin", fragment="info/_pin.html",
                                context=lambda: _pin_context(session, notice=_(NOTICES["pin"])))
