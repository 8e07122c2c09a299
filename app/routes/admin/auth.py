"""Login — admin routes: operator login and logout at /admin/login."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from app import auth, sessions
from app.auth import Outcome
from app.i18n import N_, _
from app.routes._render import after_post, client_redirect, notice, render
from app.routes._session import OPERATOR_COOKIE, client_ip, fresh_csrf_cookie, session_cookie


NOTICES = {"expired": N_("Sesja wygasła. Zaloguj się ponownie.")}


def _login_page(request: Request, username: str = "", error: str = "", status: int = 200) -> Template:
    return render(request, "admin/login.html",
                  {"username": username[:50], "error": error, "notice": notice(request, NOTICES)},
                  status_code=status)


class AdminAuthController(Controller):
    path = "/admin"

    @get("/login")
    async def show_login(self, request: Request) -> Template:
        return _login_page(request)

    @post("/login")
    async def login(self, request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        if not username or not password:
            return _login_page(request, username, _("Podaj login i hasło."), 422)
        result = await auth.operator_login(username, password[:256], client_ip(request),
                                           old_token=request.cookies.get(OPERATOR_COOKIE))
        if result.outcome is Outcome.THROTTLED:
            return _login_page(request, username, _("Zbyt wiele nieudanych prób. Spróbuj później."), 429)
        if result.outcome is not Outcome.OK:
            return _login_page(request, username, _("Nieprawidłowy login lub hasło."), 401)
        return await after_post(request, "/admin/customers", cookies=[
            session_cookie(request, sessions.OPERATOR, result.token), fresh_csrf_cookie(request)])

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        if token := request.cookies.get(OPERATOR_COOKIE):
            await sessions.end(token)
        response = client_redirect(request, "/admin/login")
        response.cookies.append(session_cookie(request, sessions.OPERATOR, None))
        return response
