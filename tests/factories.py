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


async def invoice(customer_id: int, issue_date: date | None = None, gross: int = 7999,
                  description: str = "Abonament internetowy", vat: int = 23, lines=None):
    """Issue a real invoice (gapless number, charges) through app.invoices."""
    from app.invoices import InvoiceLine, issue_invoice
    from app.settings import ISP

    lines = lines or [InvoiceLine(description, 1, "szt.", gross, vat)]
    return await issue_invoice(customer_id, lines, issue_date or date.today(), ISP())


async def payment(customer_id: int, amount: int, paid_on: date | None = None,
                  title: str = "Wpłata za abonament", **kwargs):
    from app.finances import book_payment

    paid_on = paid_on or date.today()
    return await book_payment(customer_id, amount, paid_on, title, today=max(paid_on, date.today()),
                              **kwargs)
async def message(subject: str = "Przerwa serwisowa", body: str = "Treść\nw dwóch wierszach",
                  category: str = "serwisowa", audience: str = "all", urgent: bool = False,
                  customer_id: int | None = None, tariff_id: int | None = None) -> int | None:
    """Send a message as an operator would; returns its ID (None when nobody got it)."""
    from datetime import datetime, timezone

    from app.messages import Draft, send

    draft = Draft(subject, body, category, audience, urgent, customer_id, tariff_id)
    sent = await send(draft, None, datetime.now(timezone.utc), date.today())
    return sent.message_id
async def ticket(customer_id: int, subject: str = "Problem z połączeniem", body: str = "Brak Internetu od rana.",
                 queue: str = "technical") -> int:
    """A ticket opened by the customer, with its first message."""
    from datetime import datetime, timezone

    from app.settings import ISP
    from app.tickets import open_ticket

    ticket_id, _ = await open_ticket(customer_id, subject, body, queue, "", datetime.now(timezone.utc),
                                     ISP(), "http://wbok.test")
    return ticket_id
async def device(customer_id: int, ip: str, name: str = "Komputer", mac: str = "") -> int:
    from app.tables.customers import Device

    rows = await Device.insert(Device(customer=customer_id, name=name, ip=ip, mac=mac)).returning(Device.id)
    return rows[0]["id"]
