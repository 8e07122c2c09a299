"""Customers — domain: their data, creation, search and PIN resets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app import db
from app.auth import last_login
from app.changes import record
from app.security import generate_pin, hash_secret_async
from app.tables.customers import Customer, Device
from app.tables.tariffs import Assignment, Tariff


class CustomerError(ValueError):
    """Input that cannot make a customer; the message (a msgid) is for the operator,
    `errors` maps form fields to their messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass(frozen=True)
class TariffLine:
    name: str
    down_mbit: int
    up_mbit: int
    price: int  # gross grosze per month
    start: date
    end: date | None


@dataclass(frozen=True)
class CustomerInfo:
    customer: dict
    tariffs: list[TariffLine]
    devices: list[dict]
    last_login: dict | None = None
    extra: dict = field(default_factory=dict)


async def get_customer(customer_id: int) -> dict | None:
    return await Customer.select(Customer.all_columns(exclude=[Customer.pin_hash])).where(
        Customer.id == customer_id).first()


# Built once: each `Assignment.tariff.x` walks Piccolo's foreign key (dir() and copies),
# which was the largest cost of building this query on every Informacje and Finanse page.
_TARIFF_COLUMNS = (Assignment.tariff.name, Assignment.tariff.down_mbit, Assignment.tariff.up_mbit,
                   Assignment.tariff.price, Assignment.start, Assignment.end)


async def current_tariffs(customer_id: int, today: date) -> list[TariffLine]:
    """Assignments in force on `today`."""
    rows = await Assignment.select(*_TARIFF_COLUMNS).where(
        (Assignment.customer == customer_id) & (Assignment.start <= today)
        & ((Assignment.end.is_null()) | (Assignment.end >= today))
    ).order_by(Assignment.start)
    return [TariffLine(r["tariff.name"], r["tariff.down_mbit"], r["tariff.up_mbit"],
                       r["tariff.price"], r["start"], r["end"]) for r in rows]


async def devices(customer_id: int) -> list[dict]:
    return await Device.select(Device.id, Device.name, Device.ip, Device.mac).where(
        Device.customer == customer_id).order_by(Device.name)


async def info_data(customer_id: int, today: date, session_started: datetime | None) -> CustomerInfo | None:
    """Everything the Informacje tab shows; `last_login` is the one before this session."""
    customer = await get_customer(customer_id)
    if customer is None:
        return None
    return CustomerInfo(
        customer=customer,
        tariffs=await current_tariffs(customer_id, today),
        devices=await devices(customer_id),
        last_login=await last_login(customer_id, before=session_started),
    )


async def create_customer(
    name: str, *, email: str = "", phone: str = "", street: str = "", postal_code: str = "",
    city: str = "", nip: str = "", tariff: str | None = None, ip: str | None = None,
    pin: str | None = None, today: date | None = None, tariff_from: date | None = None,
    **more: str | bool,
) -> tuple[int, str]:
    """Create a customer (with a device at `ip` and `tariff` from `tariff_from`, else
    `today`, if given). Every field is checked as in the admin form (app/customer_edit.py:
    the rules of the customer's own change requests); `more` takes the other fields of that form.
    Returns the new customer ID and the plain PIN, which is shown once and stored hashed."""
    from app.auth import valid_pin_format
    from app.customer_edit import FIELDS, check
    from app.search import search_text

    raw = {"name": name, "email": email, "phone": phone, "street": street, "postal_code": postal_code,
           "city": city, "nip": nip, **more}
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    checked = check(raw)
    if checked.errors:
        raise CustomerError(next(iter(checked.errors.values())), errors=checked.errors)
    if pin is not None and not valid_pin_format(pin):
        raise CustomerError("PIN musi mieć od 4 do 8 cyfr.", errors={"pin": "PIN musi mieć od 4 do 8 cyfr."})
    values = {k: (v == "1" if k in ("invoice_by_email", "marketing_consent") else v)
              for k, v in checked.values.items()}
    pin = pin or generate_pin()
    pin_hash = await hash_secret_async(pin)
    async with db.transaction():
        tariff_id = await _tariff_id(tariff) if tariff else None
        rows = await Customer.insert(Customer(**values, search_text=search_text(values), pin_hash=pin_hash)
                                     ).returning(Customer.id)
        customer_id = rows[0]["id"]
        if tariff_id:
            await Assignment.insert(Assignment(customer=customer_id, tariff=tariff_id,
                                               start=tariff_from or today or date.today()))
        if ip:
            await _add_device(customer_id, ip)
    return customer_id, pin


async def _tariff_id(name: str) -> int:
    row = await Tariff.select(Tariff.id).where(Tariff.name == name).first()
    if row is None:
        message = f"Nie ma taryfy o nazwie {name!r}."
        raise CustomerError(message, errors={"tariff": message})
    return row["id"]


async def _add_device(customer_id: int, ip: str) -> None:
    import ipaddress

    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError as exc:
        message = f"Nieprawidłowy adres IP: {ip!r}."
        raise CustomerError(message, errors={"ip": message}) from exc
    if await Device.exists().where(Device.ip == ip):
        message = f"Adres IP {ip} jest już przypisany do innego urządzenia."
        raise CustomerError(message, errors={"ip": message})
    await Device.insert(Device(customer=customer_id, name="Router", ip=ip))


async def reset_pin(customer_id: int, operator_id: int | None) -> str | None:
    """Set a new random PIN and audit who did it, in one transaction; returns the PIN
    once (None when there is no such customer). The audit names no PIN."""
    pin = generate_pin()
    pin_hash = await hash_secret_async(pin)
    async with db.transaction():
        updated = await Customer.update({Customer.pin_hash: pin_hash}).where(
            Customer.id == customer_id).returning(Customer.id)
        if not updated:
            return None
        await record(customer_id, "operator", operator_id, "pin_reset", "pin")
    return pin


async def search(q: str, page: int = 1, per_page: int = 25):
    """Customers matching `q` by any key (app/search.py)."""
    from app import search as finder

    return await finder.search(q, page, per_page)


async def header(customer_id: int) -> dict | None:
    """Who is logged in, for the panel header: id and name."""
    return await Customer.select(Customer.id, Customer.name).where(Customer.id == customer_id).first()
