"""Rozliczenia — admin routes: /admin/billing, billing runs and "Rozlicz teraz", failed e-mails
and paper reminders."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from app import billing, delivery, mail
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"billed": N_("Rozliczenie wykonane."), "sent": N_("Faktura wysłana."), "reminded": N_("Upomnienie wysłane."),
           "retrying": N_("Nieudane e-maile wrócą do wysyłki w ciągu kwadransa."),
           "failed": N_("Wysyłka znów się nie udała; błąd poniżej.")}


async def billing_context(operator: ActiveSession, message: str = "") -> dict:
    mails = await delivery.invoice_mails_by_period()
    empty = dict.fromkeys(("queued", "sent", "failing", "failed"), 0)
    runs = [{**run, "mails": mails.get(run["period"], empty)} for run in await billing.billing_runs()]
    return {**await admin_context(operator), "runs": runs, "failed_mails": await mail.failed_count(),
            "deliveries": await delivery.failed_deliveries(),
            "failed_reminders": await delivery.failed_reminders(),
            "paper": await delivery.paper_reminders(), "notice": message}


class AdminBillingController(Controller):
    path = "/admin/billing"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_billing(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        context = await billing_context(operator, notice(request, NOTICES))
        return render(request, "admin/billing/page.html", context, fragment="admin/billing/_overview.html")

    @post("/run")
    async def run_now(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        """"Rozlicz teraz": what the nightly job does (billing.catch_up), this month at least."""
        settings = settings_of(request)
        today = billing.warsaw_today()
        results = await billing.catch_up(today, settings.isp)
        if not any(r.period == billing.period_key(today) for r in results):
            results.append(await billing.run_billing(today, today, settings.isp))
        await delivery.deliver_pending(settings)
        message = " ".join(_("%(period)s: faktur %(invoices)s, pominiętych klientów %(skipped)s, błędów %(failed)s.",
                             period=r.period, invoices=r.invoices, skipped=r.skipped, failed=r.failed)
                           for r in results)
        return await after_post(request, "/admin/billing?m=billed", fragment="admin/billing/_overview.html",
                                context=lambda: billing_context(operator, message))

    @post("/deliveries/{delivery_id:int}/retry")
    async def retry_delivery(self, request: Request, operator: NamedDependency[ActiveSession],
                             delivery_id: FromPath[int]) -> Response:
        if not await billing.delivery_exists(delivery_id):
            raise NotFoundException()
        key = "sent" if await delivery.deliver_invoice(settings_of(request), delivery_id) else "failed"
        return await after_post(request, f"/admin/billing?m={key}", fragment="admin/billing/_overview.html",
                                context=lambda: billing_context(operator, _(NOTICES[key])))

    @post("/reminders/{reminder_id:int}/retry")
    async def retry_reminder(self, request: Request, operator: NamedDependency[ActiveSession],
                             reminder_id: FromPath[int]) -> Response:
        if not await billing.email_reminder_exists(reminder_id):
            raise NotFoundException()
        sent = await delivery.deliver_reminder(settings_of(request), reminder_id)
        return await after_post(request, f"/admin/billing?m={'reminded' if sent else 'failed'}")

    @post("/mails/retry")
    async def retry_failed_mails(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        """"Ponów wszystkie": failed mails of every queue get fresh attempts, due now; the
        scheduler's next pass sends them (no SMTP wait in the request)."""
        await mail.retry_failed()
        return await after_post(request, "/admin/billing?m=retrying", fragment="admin/billing/_overview.html",
                                context=lambda: billing_context(operator, _(NOTICES["retrying"])))
