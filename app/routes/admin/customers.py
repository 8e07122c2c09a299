"""Klienci — admin routes: /admin/customers, list and search, detail with login history,
unblock, PIN reset, create, edit."""

from __future__ import annotations

from datetime import datetime, timezone

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import auth, billing, changes, customer_edit, customers, debtors, devices, finances, mail
from app.customers import CustomerError
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"unblocked": N_("Konto odblokowane."), "created": N_("Klient dodany."),
           "device_saved": N_("Urządzenie zapisane."), "device_deleted": N_("Urządzenie usunięte."),
           "assignment_added": N_("Taryfa przypisana."), "assignment_changed": N_("Taryfa zmieniona."),
           "assignment_ended": N_("Umowa zakończona."),
           "saved": N_("Dane klienta zapisane."), "unchanged": N_("Nic się nie zmieniło.")}
DETAIL = "admin/customers/_detail.html"
EDIT = "admin/customers/_edit.html"
NEW_FIELDS = (*customer_edit.FIELDS, "tariff", "ip")
# After a create, the new PIN rides to the customer's page in this cookie, which that page
# clears at once: F5 neither shows it again nor creates a second customer.
PIN_COOKIE = "wbok_new_pin"


async def detail_context(customer_id: int) -> dict:
    """A customer's detail page (shared with the devices routes, which render it on errors)."""
    customer = await customers.get_customer(customer_id)
    if customer is None:
        raise NotFoundException()
    from app import contracts

    today = billing.warsaw_today()
    return {"customer": customer, "history": await auth.login_history(customer_id),
            "audit": await changes.audit_log(customer_id),
            "devices": await devices.list_devices(customer_id),
            "tariffs": await customers.current_tariffs(customer_id, today),
            "balance": await finances.balance(customer_id),
            "reminders": await debtors.customer_reminders(customer_id),
            "assignments": await contracts.assignments(customer_id, today),
            "tariff_choices": await contracts.tariff_choices(), "today": today}


async def _form(request: Request, names) -> dict[str, str | bool | None]:
    """The sent fields (booleans: checkbox on/off, as every other form of the house)."""
    data = await request.form()
    raw: dict[str, str | bool | None] = {k: str(data.get(k, ""))[:5000] for k in names if k in data}
    for name in changes.BOOLEANS:
        raw[name] = str(data.get(name, "")).lower() in changes.TRUE_WORDS
    return raw


def _pin_cookie(request: Request, customer_id: int, pin: str) -> Cookie:
    return Cookie(key=PIN_COOKIE, value=f"{customer_id}-{pin}" if pin else "", path=f"/admin/customers/{customer_id}",
                  httponly=True, samesite="strict", secure=settings_of(request).secure_cookies,
                  max_age=300 if pin else 0)


def _new_pin(request: Request, customer_id: int) -> str:
    cid, _sep, pin = request.cookies.get(PIN_COOKIE, "").partition("-")
    return pin if cid == str(customer_id) and pin.isdigit() else ""


class AdminCustomersController(Controller):
    path = "/admin/customers"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_customers(self, request: Request, operator: NamedDependency[ActiveSession],
                             q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
        result = await customers.search(q, page)
        context = {**await admin_context(operator), "result": result}
        return render(request, "admin/customers/page.html", context, fragment="admin/customers/_search.html",
                      parts={"customers-list": "admin/customers/_list.html"})

    @get("/new")
    async def show_new_customer(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        context = {**await admin_context(operator), "form": {}, "checked": {}, "errors": {}, "error": "",
                   "fields": customer_edit.FIELDS}
        return render(request, "admin/customers/new.html", context, fragment="admin/customers/_new.html")

    @post("/")
    async def create_customer(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        form = {k: v for k, v in (await _form(request, NEW_FIELDS)).items()}
        text = {k: v for k, v in form.items() if not isinstance(v, bool)}
        try:
            customer_id, pin = await customers.create_customer(
                str(form.get("name", "")), tariff=text.get("tariff") or None, ip=text.get("ip") or None,
                **{k: v for k, v in form.items() if k in customer_edit.FIELDS and k != "name"})
        except CustomerError as exc:
            context = {**await admin_context(operator), "form": text, "checked": form,
                       "errors": {k: _(v) for k, v in exc.errors.items()}, "error": _(str(exc)),
                       "fields": customer_edit.FIELDS}
            return render(request, "admin/customers/new.html", context,
                          fragment="admin/customers/_new.html", status_code=422)
        return await after_post(request, f"/admin/customers/{customer_id}?m=created",
                                cookies=[_pin_cookie(request, customer_id, pin)])

    @get("/{customer_id:int}")
    async def show_customer(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromPath[int]) -> Template:
        context = {**await admin_context(operator), **await detail_context(customer_id),
                   "notice": notice(request, NOTICES), "new_pin": _new_pin(request, customer_id)}
        response = render(request, "admin/customers/detail.html", context, fragment=DETAIL)
        if context["new_pin"]:
            response.cookies.append(_pin_cookie(request, customer_id, ""))
        response.headers["Cache-Control"] = "no-store"
        return response

    @get("/{customer_id:int}/edit")
    async def show_edit_customer(self, request: Request, operator: NamedDependency[ActiveSession],
                                 customer_id: FromPath[int]) -> Template:
        customer = await customers.get_customer(customer_id)
        if customer is None:
            raise NotFoundException()
        context = {**await admin_context(operator), "customer": customer, "errors": {},
                   "form": customer_edit.form_values(customer), "fields": customer_edit.FIELDS}
        return render(request, "admin/customers/edit.html", context, fragment=EDIT)

    @post("/{customer_id:int}/edit")
    async def update_customer(self, request: Request, operator: NamedDependency[ActiveSession],
                              customer_id: FromPath[int]) -> Response:
        raw = await _form(request, customer_edit.FIELDS)
        result = await customer_edit.update_customer(customer_id, raw, operator.subject_id,
                                                     datetime.now(timezone.utc), settings_of(request).isp)
        if not result.found:
            raise NotFoundException()
        if result.errors:
            customer = await customers.get_customer(customer_id)
            context = {**await admin_context(operator), "customer": customer, "form": result.form,
                       "errors": {k: _(v) for k, v in result.errors.items()}, "fields": customer_edit.FIELDS}
            return render(request, "admin/customers/edit.html", context, fragment=EDIT, status_code=422)
        if result.notices:  # sent now; the outbox retries what fails
            await mail.deliver_outbox(settings_of(request), ids=result.notices)
        return await after_post(request, f"/admin/customers/{customer_id}?m={'saved' if result.changed else 'unchanged'}")

    @post("/{customer_id:int}/unblock")
    async def unblock_customer(self, request: Request, customer_id: FromPath[int],
                               operator: NamedDependency[ActiveSession]) -> Response:
        if not await auth.unblock_customer(customer_id):
            raise NotFoundException()
        return await after_post(request, f"/admin/customers/{customer_id}?m=unblocked")

    @post("/{customer_id:int}/pin")
    async def reset_pin(self, request: Request, operator: NamedDependency[ActiveSession],
                        customer_id: FromPath[int]) -> Template:
        pin = await customers.reset_pin(customer_id, operator.subject_id)
        if pin is None:
            raise NotFoundException()
        # Shown in this answer only: it is stored hashed and never appears in a URL.
        context = {**await admin_context(operator), **await detail_context(customer_id),
                   "new_pin": pin, "notice": _("Nowy PIN został ustawiony.")}
        return render(request, "admin/customers/detail.html", context, fragment=DETAIL)
