"""Customers — domain: their data, creation, search and PIN resets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app import db
from app.auth import last_login
from app.changes import record
from app.i18n import N_
from app.security import generate_pin, hash_secret_async
from app.tables.customers import Customer, Device
from app.tables.tariffs import Assignment, Tariff


class CustomerError(ValueError):
    """Input that cannot make a customer; the message is for the operator."""


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


async def current_tariffs(customer_id: int, today: date) -> list[TariffLine]:
    """Assignments in force on `today`."""
    rows = await Assignment.select(
        Assignment.tariff.name, Assignment.tariff.down_mbit, Assignment.tariff.up_mbit,
        Assignment.tariff.price, Assignment.start, Assignment.end,
    ).where(
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
    pin: str | None = None, today: date | None = None,
) -> tuple[int, str]:
    """Create a customer (with a device at `ip` and `tariff` from `today`, if given).
    Returns the new customer ID and the plain PIN, which is shown once and stored hashed."""
    from app.auth import valid_pin_format

    name = name.strip()
    if not name:
        raise CustomerError("Podaj imię i nazwisko lub nazwę firmy.")
    email, phone, postal_code, nip = _checked_contact(name, street, city, email, phone, postal_code, nip)
    if pin is not None and not valid_pin_format(pin):
        raise CustomerError("PIN musi mieć od 4 do 8 cyfr.")
    pin = pin or generate_pin()
    pin_hash = await hash_secret_async(pin)
    async with db.transaction():
        tariff_id = await _tariff_id(tariff) if tariff else None
        rows = await Customer.insert(Customer(
            name=name, email=email, phone=phone, street=street.strip(),
            postal_code=postal_code, city=city.strip(), nip=nip, pin_hash=pin_hash,
        )).returning(Customer.id)
        customer_id = rows[0]["id"]
        if tariff_id:
            await Assignment.insert(Assignment(customer=customer_id, tariff=tariff_id,
                                               start=today or date.today()))
        if ip:
            await _add_device(customer_id, ip)
    return customer_id, pin


def _checked_contact(name: str, street: str, city: str, email: str, phone: str, postal_code: str,
                     nip: str) -> tuple[str, str, str, str]:
    """The creation form's text checked as the customer's own changes are (app/validation.py):
    no control characters, each within its column, formats normalised. Raises CustomerError."""
    from app import validation

    fields = {"name": name, "street": street, "city": city, "email": email, "phone": phone,
              "postal_code": postal_code, "nip": nip}
    for key, text in fields.items():
        if validation.has_control(text or ""):
            raise CustomerError(N_("Dane klienta zawierają znaki sterujące (np. NUL). Usuń je i spróbuj ponownie."))
        if len((text or "").strip()) > validation.column_length(getattr(Customer, key)):
            raise CustomerError(TOO_LONG[key] if key in TOO_LONG else validation.TOO_LONG)
    out = []
    for key, normalise, message in (("email", validation.normalise_email, validation.EMAIL),
                                    ("phone", validation.normalise_phone, validation.PHONE),
                                    ("postal_code", validation.normalise_postal_code, validation.POSTAL_CODE),
                                    ("nip", validation.normalise_nip, validation.NIP)):
        text = (fields[key] or "").strip()
        clean = normalise(text) if text else ""
        if clean is None:
            raise CustomerError(message)
        out.append(clean)
    return tuple(out)


TOO_LONG = {"name": N_("Imię i nazwisko lub nazwa może mieć najwyżej 200 znaków."),
            "street": N_("Ulica i numer mogą mieć najwyżej 200 znaków."),
            "city": N_("Miejscowość może mieć najwyżej 100 znaków.")}


async def _tariff_id(name: str) -> int:
    row = await Tariff.select(Tariff.id).where(Tariff.name == name).first()
    if row is None:
        raise CustomerError(f"Nie ma taryfy o nazwie {name!r}.")
    return row["id"]


async def _add_device(customer_id: int, ip: str) -> None:
    import ipaddress

    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError as exc:
        raise CustomerError(f"Nieprawidłowy adres IP: {ip!r}.") from exc
    if await Device.exists().where(Device.ip == ip):
        raise CustomerError(f"Adres IP {ip} jest już przypisany do innego urządzenia.")
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


@dataclass(frozen=True)
class CustomerPage:
    rows: list[dict]
    page: int
    pages: int
    total: int
    q: str


async def search(q: str, page: int = 1, per_page: int = 25) -> CustomerPage:
    """Customers matching an ID, part of a name or of an e-mail; newest first."""
    from app.auth import parse_customer_id

    q = (q or "").strip()[:100]
    query = Customer.select(Customer.id, Customer.name, Customer.email, Customer.city,
                            Customer.blocked)
    count = Customer.count()
    if q:
        # SQLite's LIKE is already case-insensitive (for ASCII); Piccolo warns on ilike there.
        like = "like" if db.is_sqlite() else "ilike"
        pattern = f"%{q}%"
        cond = getattr(Customer.name, like)(pattern) | getattr(Customer.email, like)(pattern)
        if (cid := parse_customer_id(q)) is not None:
            cond = cond | (Customer.id == cid)
        query, count = query.where(cond), count.where(cond)
    total = await count
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = await query.order_by(Customer.id, ascending=False).limit(per_page).offset((page - 1) * per_page)
    return CustomerPage(rows, page, pages, total, q)


async def header(customer_id: int) -> dict | None:
    """Who is logged in, for the panel header: id and name."""
    return await Customer.select(Customer.id, Customer.name).where(Customer.id == customer_id).first()
