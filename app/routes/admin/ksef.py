"""KSeF — admin routes: /admin/ksef, the invoices' documents by status, "send now" and "retry"."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import ksef
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"retry": N_("Dokument wróci do wysyłki przy najbliższym przebiegu.")}
LABELS = {"pending": N_("do wysłania"), "offline": N_("offline"), "sent": N_("wysłane"),
          "accepted": N_("przyjęte"), "rejected": N_("odrzucone"), "invalid": N_("błędny XML")}


async def ksef_context(request: Request, operator: ActiveSession, status: str | None,
                       message: str = "") -> dict:
    settings = settings_of(request)
    return {**await admin_context(operator), "counts": await ksef.counts(),
            "docs": await ksef.documents(status), "status": status if status in ksef.STATUSES else "",
            "labels": LABELS, "mode": settings.ksef_mode, "env": settings.ksef_env,
            "has_token": bool(settings.ksef_token), "notice": message}


class AdminKsefController(Controller):
    path = "/admin/ksef"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_ksef(self, request: Request, operator: NamedDependency[ActiveSession],
                        status: FromQuery[str | None] = None) -> Template:
        context = await ksef_context(request, operator, status, notice(request, NOTICES))
        return render(request, "admin/ksef/page.html", context, fragment="admin/ksef/_documents.html")

    @post("/send")
    async def send_now(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        result = await ksef.send_pending(settings_of(request), force=True)
        return await after_post(request, "/admin/ksef", fragment="admin/ksef/_documents.html",
                                context=lambda: ksef_context(request, operator, None, result.summary()))

    @post("/{doc_id:int}/retry")
    async def retry(self, request: Request, operator: NamedDependency[ActiveSession],
                    doc_id: FromPath[int]) -> Response:
        if not await ksef.retry(doc_id):
            raise NotFoundException()
        return await after_post(request, "/admin/ksef?m=retry", fragment="admin/ksef/_documents.html",
                                context=lambda: ksef_context(request, operator, None, _(NOTICES["retry"])))
