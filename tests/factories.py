"""Small builders for test data, in the spirit of todo.sr.ht's factories."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from app.customers import create_customer
from app.operators import create_operator
from app.tables.tariffs import Tariff

_seq = itertools.count(1)


@dataclass
class CustomerRef:
    id: int
    pin: str
    name: str


@dataclass
class OperatorRef:
    id: int
    username: str
    password: str


async def tariff(name: str | None = None, price: int = 7999, down: int = 300, up: int = 50,
                 vat: int = 23) -> int:
    rows = await Tariff.insert(Tariff(name=name or f"Taryfa {next(_seq)}", price=price,
                                      down_mbit=down, up_mbit=up, vat=vat)).returning(Tariff.id)
    return rows[0]["id"]


async def customer(name: str | None = None, pin: str = "482913", tariff_name: str | None = None,
                   ip: str | None = None, **fields) -> CustomerRef:
    n = next(_seq)
    name = name or f"Zażółć Gęślą {n}"
    fields.setdefault("email", f"klient{n}@example.pl")
    fields.setdefault("street", "ul. Źródlana 5")
    fields.setdefault("postal_code", "26-200")
    fields.setdefault("city", "Końskie")
    customer_id, pin = await create_customer(name, pin=pin, tariff=tariff_name, ip=ip,
                                             today=date.today(), **fields)
    return CustomerRef(customer_id, pin, name)


async def operator(username: str | None = None, password: str = "tajne-haslo-1") -> OperatorRef:
    username = username or f"operator{next(_seq)}"
    operator_id = await create_operator(username, password, name="Anna Operatorka")
    return OperatorRef(operator_id, username, password)


async def device(customer_id: int, ip: str, name: str = "Komputer", mac: str = "") -> int:
    from app.tables.customers import Device

    rows = await Device.insert(Device(customer=customer_id, name=name, ip=ip, mac=mac)).returning(Device.id)
    return rows[0]["id"]
