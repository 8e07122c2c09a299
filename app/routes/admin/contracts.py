"""Umowy — admin routes: /admin/customers/{id}/assignments (add, change the tariff from a
date, end) and /admin/customers/{id}/charges (one-off charges); shown on the customer's
page and its Finanse page."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app import contracts, customers, finances
from app.contracts import ContractError
from app.finances import ChargeError, ChargeForm
from app.i18n import _
from app.routes._render import after_post, render
from app.routes._session import settings_of
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.admin._money import finances_context
from app.routes.admin.customers import DETAIL, detail_context
from app.sessions import ActiveSession

FIELDS = ("tariff", "start", "end", "discount_percent", "discount_amount", "note", "on")


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: str(data.get(k, "")).strip()[:200] for k in FIELDS}


async def _refused(request: Request, operator: ActiveSession, customer_id: int, error: str,
                   form: dict[str, str], assignment_id: int | None = None) -> Response:
    context = {**await admin_context(operator), **await detail_context(customer_id),
               "contract_error": _(error), "contract_form": form, "contract_target": assignment_id}
    return render(request, "admin/customers/detail.html", context, fragment=DETAIL, status_code=422)


class AdminContractsController(Controller):
    path = "/admin/customers/{customer_id:int}"
    dependencies = OPERATOR_DEPENDENCIES

    @post("/assignments")
    async def add_assignment(self, request: Request, operator: NamedDependency[ActiveSession],
                             customer_id: FromPath[int]) -> Response:
        if await customers.get_customer(customer_id) is None:
            raise NotFoundException()
        form = await _form(request)
        try:
            await contracts.add_assignment(
                customer_id, form["tariff"], form["start"], end=form["end"] or None,
                discount_percent=form["discount_percent"], discount_amount=form["discount_amount"],
                note=form["note"], operator_id=operator.subject_id)
        except ContractError as exc:
            return await _refused(request, operator, customer_id, str(exc), form)
        return await after_post(request, f"/admin/customers/{customer_id}?m=assignment_added#contracts")

    @post("/assignments/{assignment_id:int}/end")
    async def end_assignment(self, request: Request, operator: NamedDependency[ActiveSession],
                             customer_id: FromPath[int], assignment_id: FromPath[int]) -> Response:
        form = await _form(request)
        try:
            found = await contracts.end_assignment(assignment_id, form["on"], customer_id=customer_id,
                                                   operator_id=operator.subject_id)
        except ContractError as exc:
            return await _refused(request, operator, customer_id, str(exc), form, assignment_id)
        if not found:
            raise NotFoundException()
        return await after_post(request, f"/admin/customers/{customer_id}?m=assignment_ended#contracts")

    @post("/assignments/{assignment_id:int}/change")
    async def change_tariff(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromPath[int], assignment_id: FromPath[int]) -> Response:
        form = await _form(request)
        try:
            new = await contracts.change_tariff(assignment_id, form["tariff"], form["start"],
                                                customer_id=customer_id, operator_id=operator.subject_id)
        except ContractError as exc:
            return await _refused(request, operator, customer_id, str(exc), form, assignment_id)
        if new is None:
            raise NotFoundException()
        return await after_post(request, f"/admin/customers/{customer_id}?m=assignment_changed#contracts")

    @post("/charges")
    async def add_charge(self, request: Request, operator: NamedDependency[ActiveSession],
                         customer_id: FromPath[int]) -> Response:
        if await customers.get_customer(customer_id) is None:
            raise NotFoundException()
        data = await request.form()
        form = ChargeForm(**{k: str(data.get(k, "")).strip()[:250]
                             for k in ("description", "amount", "vat_rate", "date", "mode")})
        today = date.today()
        try:
            parsed = finances.parse_charge_form(form)
            await finances.add_one_off(customer_id, *parsed, isp=settings_of(request).isp, today=today,
                                       operator_id=operator.subject_id)
        except ChargeError as exc:
            form.errors = {k: _(v) for k, v in exc.errors.items()}
            context = await finances_context(request, operator, customer_id, charge_form=form)
            return render(request, "admin/finances/customer.html", context,
                          fragment="admin/finances/_customer.html", status_code=422)
        key = "charged_now" if form.mode == "now" else "charged_next"
        return await after_post(request, f"/admin/customers/{customer_id}/finances?m={key}")
