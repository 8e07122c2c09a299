"""Login — routes: customer login and logout, the root redirect, the language switch and health."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Response, Template

from app import auth, db, sessions
from app.auth import Outcome
from app.i18n import LOCALES, N_, _
from app.routes._render import after_post, client_redirect, notice, render, see_other
from app.routes._session import CUSTOMER_COOKIE, client_ip, fresh_csrf_cookie, session_cookie, settings_of

HEALTH_TIMEOUT = 3.0  # seconds
STATUS = {Outcome.INVALID: 401, Outcome.BLOCKED: 403, Outcome.THROTTLED: 429}
NOTICES = {"expired": N_("Sesja wygasła z powodu braku aktywności. Zaloguj się ponownie."),
           "bye": N_("Wylogowano. Do zobaczenia!")}


def login_message(outcome: Outcome, isp) -> str:
    if outcome is Outcome.BLOCKED:
        return _("Dostęp do Panelu Klienta jest zablokowany po trzech błędnych próbach "
                 "logowania. Aby go odblokować, skontaktuj się z biurem %(isp)s, tel. %(phone)s.",
                 isp=isp.name, phone=isp.phone)
    if outcome is Outcome.THROTTLED:
        return _("Zbyt wiele nieudanych prób logowania z tego adresu. Spróbuj ponownie "
                 "za kilkanaście minut.")
    return _("Nieprawidłowy ID Klienta lub PIN. Uwaga: trzy błędne próby zablokują dostęp.")


def _login_page(request: Request, customer_id: str = "", error: str = "", status: int = 200,
                blocked: bool = False) -> Template:
    return render(request, "login.html", {
        "customer_id": customer_id[:20], "error": error, "blocked": blocked,
        "notice": notice(request, NOTICES), "isp": settings_of(request).isp,
    }, status_code=status)


class AuthController(Controller):
    @get("/")
    async def show_root(self, request: Request) -> Redirect:
        logged_in = bool(request.cookies.get(CUSTOMER_COOKIE))
        return see_other("/info" if logged_in else "/login")

    @get("/login")
    async def show_login(self, request: Request) -> Template:
        return _login_page(request)

    @post("/login")
    async def login(self, request: Request) -> Response:
        form = await request.form()
        raw_id, pin = str(form.get("customer_id", "")).strip(), str(form.get("pin", "")).strip()
        if not raw_id or not pin:
            return _login_page(request, raw_id, _("Podaj ID Klienta i PIN."), 422)
        if auth.parse_customer_id(raw_id) is None or not auth.valid_pin_format(pin):
            return _login_page(request, raw_id, _("ID Klienta to numer z umowy, a PIN ma od 4 "
                                                  "do 8 cyfr. Wpisz same cyfry."), 422)
        result = await auth.customer_login(raw_id, pin, client_ip(request),
                                           old_token=request.cookies.get(CUSTOMER_COOKIE))
        if result.outcome is not Outcome.OK:
            return _login_page(request, raw_id, login_message(result.outcome, settings_of(request).isp),
                               STATUS[result.outcome], blocked=result.outcome is Outcome.BLOCKED)
        return await after_post(request, "/info", cookies=[
            session_cookie(request, sessions.CUSTOMER, result.token), fresh_csrf_cookie(request)])

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        if token := request.cookies.get(CUSTOMER_COOKIE):
            await sessions.end(token)
        response = client_redirect(request, "/login?m=bye")
        response.cookies.append(session_cookie(request, sessions.CUSTOMER, None))
        return response

    @post("/lang")
    async def set_language(self, request: Request) -> Response:
        form = await request.form()
        lang = str(form.get("lang", ""))
        back = str(form.get("next", "/"))
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        cookie = Cookie(key="lang", value=lang if lang in LOCALES else "pl", path="/",
                        max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return await after_post(request, back, cookies=[cookie])

    @get("/healthz", cache=False)
    async def show_health(self) -> Response:
        try:
            # Bounded: an unreachable database must give 503 at once, not a hung probe.
            await asyncio.wait_for(db.db().run_ddl("SELECT 1", in_pool=True), HEALTH_TIMEOUT)
        except Exception:  # the health check reports, it does not crash
            return Response(content={"status": "error", "database": "down"}, status_code=503)
        return Response(content={"status": "ok", "database": "ok"})
