"""Urządzenia — admin routes: /admin/customers/{id}/devices, add, edit, delete (validated name,
IP, optional MAC); shown on the customer's page."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from app import devices
from app.routes._render import after_post, render
from app.routes.admin._common import OPERATOR_DEPENDENCIES, admin_context
from app.routes.admin.customers import DETAIL, detail_context
from app.sessions import ActiveSession


async def _form(request: Request) -> devices.DeviceForm:
    data = await request.form()
    return devices.clean(*(str(data.get(k, "")) for k in ("name", "ip", "mac")))


class AdminDevicesController(Controller):
    path = "/admin/customers/{customer_id:int}/devices"
    dependencies = OPERATOR_DEPENDENCIES

    @post("/")
    async def add_device(self, request: Request, operator: NamedDependency[ActiveSession],
                         customer_id: FromPath[int]) -> Response:
        form = await _form(request)
        if not await devices.save_device(customer_id, form):
            raise NotFoundException()
        if form.errors:
            context = {**await admin_context(operator), **await detail_context(customer_id),
                       "device_form": form}
            return render(request, "admin/customers/detail.html", context, fragment=DETAIL, status_code=422)
        return await after_post(request, f"/admin/customers/{customer_id}?m=device_saved")

    @get("/{device_id:int}")
    async def show_device(self, request: Request, operator: NamedDependency[ActiveSession],
                          customer_id: FromPath[int], device_id: FromPath[int]) -> Template:
        device = await devices.get_device(customer_id, device_id)
        if device is None:
            raise NotFoundException()
        form = devices.DeviceForm(device["name"], device["ip"], device["mac"])
        return render(request, "admin/customers/device.html", {
            **await admin_context(operator), "customer_id": customer_id, "device_id": device_id, "form": form},
            fragment="admin/customers/_device.html")

    @post("/{device_id:int}")
    async def update_device(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromPath[int], device_id: FromPath[int]) -> Response:
        form = await _form(request)
        if not await devices.save_device(customer_id, form, device_id):
            raise NotFoundException()
        if form.errors:
            return render(request, "admin/customers/device.html", {
                **await admin_context(operator), "customer_id": customer_id, "device_id": device_id,
                "form": form}, fragment="admin/customers/_device.html", status_code=422)
        return await after_post(request, f"/admin/customers/{customer_id}?m=device_saved")

    @post("/{device_id:int}/delete")
    async def delete_device(self, request: Request, operator: NamedDependency[ActiveSession],
                            customer_id: FromPath[int], device_id: FromPath[int]) -> Response:
        if not await devices.delete_device(customer_id, device_id):
            raise NotFoundException()
        return await after_post(request, f"/admin/customers/{customer_id}?m=device_deleted")
