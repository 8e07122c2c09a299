"""Informacje: the customer's data, change requests and PIN change."""

from __future__ import annotations

from datetime import date, datetime, timezone

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from app import changes, customers, sessions
from app.i18n import N_, _
from app.routes._render import client_redirect, redirect_after_post, render, wants_fragment
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
    data = await customers.info_data(session.subject_id, date.today(), session.created_at)
    if data is None:
        raise NotFoundException()
    fields = changes.editable_fields(settings_of(request))
    pending = {f: r["new_value"] for f, r in (await changes.pending_for(session.subject_id)).items()}
    current = {f: changes.as_text(f, data.customer[f]) for f in changes.FIELDS}
    shown = {f: pending.get(f, current[f]) for f in fields}
    return {**await panel_context(session), "info": data, "current": current, "pending": pending,
            "fields": fields, "labels": changes.FIELDS, "booleans": changes.BOOLEANS,
            "editing": editing, "form": {**shown, **(form or {})}, "errors": errors or {},
            "notice": _(notice) if notice else ""}


class InfoController(Controller):
    path = "/info"
    dependencies = CUSTOMER_DEPENDENCIES

    @get("/")
    async def show_info(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        context = await _context(request, session, notice=NOTICES.get(request.query_params.get("m", ""), ""))
        return render(request, "info/page.html", context, fragment="info/_data.html")

    @get("/edit")
    async def show_edit(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        context = await _context(request, session, editing=True)
        return render(request, "info/page.html", context, fragment="info/_edit.html")

    @post("/")
    async def update_info(self, request: Request, session: NamedDependency[ActiveSession]) -> Response:
        fields = changes.editable_fields(settings_of(request))
        current = await customers.get_customer(session.subject_id) or {}
        checked = changes.validate(_parse(await request.form(), fields), current, fields)
        if checked.errors:
            context = await _context(request, session, editing=True, form=checked.form, errors=checked.errors)
            return render(request, "info/page.html", context, fragment="info/_edit.html", status_code=422)
        sent = await changes.submit(session.subject_id, checked.values, _now())
        notice = "sent" if sent else "same"
        if not wants_fragment(request):
            return redirect_after_post(request, f"/info?m={notice}")
        context = await _context(request, session, notice=NOTICES[notice])
        return render(request, "info/page.html", context, fragment="info/_contact.html")

    @get("/pin")
    async def show_pin(self, request: Request, session: NamedDependency[ActiveSession]) -> Template:
        return render(request, "info/pin.html", {**await panel_context(session), "errors": {}},
                      fragment="info/_pin.html")

    @post("/pin")
    async def change_pin(self, request: Request, session: NamedDependency[ActiveSession]) -> Response:
        form = await request.form()
        pins = [str(form.get(k, "")).strip()[:20] for k in ("current_pin", "new_pin", "new_pin2")]
        result = await changes.change_pin(session.subject_id, *pins, now=_now())
        if result.blocked:
            await sessions.end_all(sessions.CUSTOMER, session.subject_id)
            response = client_redirect(request, "/login")
            response.cookies.append(session_cookie(request, sessions.CUSTOMER, None))
            return response
        if not result.ok:
            return render(request, "info/pin.html", {**await panel_context(session), "errors": result.errors},
                          fragment="info/_pin.html", status_code=422)
        await sessions.end_all(sessions.CUSTOMER, session.subject_id,
                               except_token=request.cookies.get(CUSTOMER_COOKIE))
        if not wants_fragment(request):
            return redirect_after_post(request, "/info?m=pin")
        done = NOTICES["pin"]
        return render(request, "info/pin.html", {**await panel_context(session), "errors": {},
                                                 "notice": _(done)}, fragment="info/_pin.html")
