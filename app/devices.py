"""Devices — domain: a customer's routers and computers, by IP address (traffic is mapped by IP)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from app import db
from app.i18n import N_
from app.tables.customers import Customer, Device
from app.validation import CONTROL, has_control

MAC_HEX = re.compile(r"[0-9a-f]{12}")


@dataclass
class DeviceForm:
    """Cleaned values and Polish messages (msgids) per field; valid when `errors` is empty."""

    name: str = ""
    ip: str = ""
    mac: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def clean(name: str, ip: str, mac: str) -> DeviceForm:
    form = DeviceForm(name.strip()[:100], ip.strip()[:45], mac.strip()[:20])
    if has_control(name):
        form.errors["name"] = CONTROL
    elif not form.name:
        form.errors["name"] = N_("Podaj nazwę urządzenia.")
    try:
        form.ip = str(ipaddress.ip_address(form.ip))
    except ValueError:
        form.errors["ip"] = N_("Podaj prawidłowy adres IP, np. 10.1.2.3.")
    if form.mac:
        digits = re.sub(r"[:\-. ]", "", form.mac.lower())
        if MAC_HEX.fullmatch(digits):
            form.mac = ":".join(digits[i:i + 2] for i in range(0, 12, 2))
        else:
            form.errors["mac"] = N_("Adres MAC to 12 cyfr szesnastkowych, np. 00:1a:2b:3c:4d:5e.")
    return form


async def list_devices(customer_id: int) -> list[dict]:
    return await Device.select(Device.id, Device.name, Device.ip, Device.mac).where(
        Device.customer == customer_id).order_by(Device.name)


async def get_device(customer_id: int, device_id: int) -> dict | None:
    return await Device.select(Device.id, Device.name, Device.ip, Device.mac).where(
        (Device.id == device_id) & (Device.customer == customer_id)).first()


async def save_device(customer_id: int, form: DeviceForm, device_id: int | None = None) -> bool:
    """Add (or update `device_id`); False when the customer or device does not exist.
    A taken IP lands in `form.errors`; the check and the write share one transaction."""
    if form.errors:
        return True
    async with db.transaction():
        if not await Customer.exists().where(Customer.id == customer_id):
            return False
        taken = Device.exists().where(Device.ip == form.ip)
        if device_id is not None:
            taken = taken.where(Device.id != device_id)
        if await taken:
            form.errors["ip"] = N_("Ten adres IP ma już inne urządzenie.")
            return True
        values = {Device.name: form.name, Device.ip: form.ip, Device.mac: form.mac}
        if device_id is None:
            await Device.insert(Device(customer=customer_id, name=form.name, ip=form.ip, mac=form.mac))
            return True
        updated = await Device.update(values).where(
            (Device.id == device_id) & (Device.customer == customer_id)).returning(Device.id)
        return bool(updated)


async def delete_device(customer_id: int, device_id: int) -> bool:
    deleted = await Device.delete().where(
        (Device.id == device_id) & (Device.customer == customer_id)).returning(Device.id)
    return bool(deleted)
