"""Klienci — admin routes: /admin/customers, list and search, detail with login history,
unblock, PIN reset, create."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from app import auth, changes, customers, devices
from app.customers import CustomerError
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession

NOTICES = {"unblocked": N_("Konto odblokowane."), "created": N_("Klient dodany."),
           "device_saved": N_("Urządzenie zapisane."), "device_deleted": N_("Urządzenie usunięte.")}
DETAIL = "admin/customers/_detail.html"
NEW_FIELDS = ("name", "email", "phone", "street", "postal_code", "city", "nip", "tariff", "ip")


async def detail_context(customer_id: int) -> dict:
    """A customer's detail page (shared with the devices routes, which render it on errors)."""
    customer = await customers.get_customer(customer_id)
    if customer is None:
        raise NotFoundException()
    return {"customer": customer, "history": await auth.login_history(customer_id),
            "audit": await changes.audit_log(customer_id),
            "devices": await devices.list_devices(customer_id)}


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
        return render(request, "admin/customers/new.html",
                      {**await admin_context(operator), "form": {}, "error": ""}, fragment="admin/customers/_new.html")

    @post("/")
    async def create_customer(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        form = {k: str(v)[:1000] for k, v in (await request.form()).items() if k in NEW_FIELDS}
        try:
            customer_id, pin = await customers.create_customer(
                form.get("name", ""), **{k: v for k, v in form.items() if k != "name" and v})
        except CustomerError as exc:
            return render(request, "admin/customers/new.html",
                          {**await admin_context(operator), "form": form, "error": _(str(exc))},
                          fragment="admin/customers/_new.html", status_code=422)
        context = {**await admin_context(operator), **await detail_context(customer_id),
                   "new_pin": pin, "notice": _(NOTICES["created"])}
        return render(request, "admin/customers/detail.html", context, fragment=DETAIL, status_code=201)

    @get("/{customer_id:int}")
    async def show_customer(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromPath[int]) -> Template:
        context = {**await admin_context(operator), **await detail_context(customer_id),
                   "notice": notice(request, NOTICES)}
        return render(request, "admin/customers/detail.html", context, fragment=DETAIL)

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
