"""Taryfy — admin routes: /admin/tariffs, the list of service plans, adding and editing one."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from app import tariffs
from app.i18n import N_, _
from app.routes._render import after_post, notice, render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.sessions import ActiveSession
from app.tariffs import TariffError

TARIFF_FIELDS = ("name", "price", "down_mbit", "up_mbit", "vat")
NOTICES = {"saved": N_("Taryfa zapisana.")}


def _tariff_form(data) -> dict:
    return {k: str(data.get(k, ""))[:120].strip() for k in TARIFF_FIELDS}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


async def _save_tariff(form: dict, tariff_id: int | None = None) -> bool:
    args = (form["name"], form["price"], _int(form["down_mbit"]), _int(form["up_mbit"]), _int(form["vat"] or "23"))
    if tariff_id is None:
        await tariffs.create_tariff(*args)
        return True
    return await tariffs.update_tariff(tariff_id, *args)


async def _list_context(operator: ActiveSession, form: dict | None = None, error: str = "",
                        message: str = "") -> dict:
    return {**await admin_context(operator), "tariffs": await tariffs.list_tariffs(),
            "form": form or {"vat": "23"}, "error": error, "notice": message}


class AdminTariffsController(Controller):
    path = "/admin/tariffs"
    dependencies = OPERATOR_DEPENDENCIES

    @get("/")
    async def show_tariffs(self, request: Request, operator: NamedDependency[ActiveSession]) -> Template:
        context = await _list_context(operator, message=notice(request, NOTICES))
        return render(request, "admin/tariffs/page.html", context, fragment="admin/tariffs/_list.html")

    @post("/")
    async def create_tariff(self, request: Request, operator: NamedDependency[ActiveSession]) -> Response:
        form = _tariff_form(await request.form())
        try:
            await _save_tariff(form)
        except TariffError as exc:
            context = await _list_context(operator, form, _(str(exc)))
            return render(request, "admin/tariffs/page.html", context, status_code=422)
        return await after_post(request, "/admin/tariffs?m=saved")

    @get("/{tariff_id:int}")
    async def show_tariff(self, request: Request, operator: NamedDependency[ActiveSession],
                          tariff_id: FromPath[int]) -> Template:
        form = await tariffs.edit_form(tariff_id)
        if form is None:
            raise NotFoundException()
        context = {**await admin_context(operator), "tariff_id": tariff_id, "form": form, "error": ""}
        return render(request, "admin/tariffs/tariff.html", context, fragment="admin/tariffs/_edit.html")

    @post("/{tariff_id:int}")
    async def update_tariff(self, request: Request, operator: NamedDependency[ActiveSession],
                            tariff_id: FromPath[int]) -> Response:
        form = _tariff_form(await request.form())
        try:
            if not await _save_tariff(form, tariff_id):
                raise NotFoundException()
        except TariffError as exc:
            context = {**await admin_context(operator), "tariff_id": tariff_id, "form": form, "error": _(str(exc))}
            return render(request, "admin/tariffs/tariff.html", context, status_code=422)
        return await after_post(request, "/admin/tariffs?m=saved")
