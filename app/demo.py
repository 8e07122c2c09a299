"""Demo data: realistic Polish customers with tariffs and devices, plus one operator."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from app import db
from app.security import generate_pin, hash_secret_async
from app.tables.auth import Operator
from app.tables.customers import Customer, Device
from app.tables.tariffs import Assignment, Tariff

FIRST = ["Anna", "Piotr", "Katarzyna", "Krzysztof", "Małgorzata", "Tomasz", "Agnieszka", "Paweł",
         "Barbara", "Michał", "Ewa", "Łukasz", "Zofia", "Grzegorz", "Joanna", "Jerzy", "Żaneta",
         "Wojciech", "Dorota", "Sławomir", "Jolanta", "Bożena", "Mirosław", "Elżbieta"]
LAST = ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
        "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Zając", "Pawłowski", "Michalski",
        "Król", "Wieczorek", "Jabłoński", "Wróbel", "Nowakowski", "Majewski", "Olszewski", "Łęcki"]
COMPANIES = ["Piekarnia Złoty Kłos", "Usługi Remontowe Bąk", "Gabinet Stomatologiczny Uśmiech",
             "Sklep Spożywczy U Józefa", "Biuro Rachunkowe Żurawski"]
STREETS = ["ul. Długa", "ul. Kościuszki", "ul. Źródlana", "ul. Łąkowa", "ul. Słoneczna",
           "ul. Żeromskiego", "ul. Mickiewicza", "ul. Polna", "ul. Wiśniowa", "os. Jagiellońskie"]
CITIES = [("26-200", "Końskie"), ("26-220", "Stąporków"), ("26-212", "Radoszyce"),
          ("26-242", "Ruda Maleniecka"), ("26-230", "Radoszyce-Łęg"), ("26-225", "Smyków")]
TARIFFS = [("Internet 100", 5999, 100, 20), ("Internet 300", 7999, 300, 50),
           ("Światłowód 600", 9999, 600, 100), ("Światłowód 1000", 12999, 1000, 300)]
COMPANY_NIPS = ["6581000019", "6572001234", "9591001234", "6570001230", "6581234560"]


@dataclass
class DemoLogins:
    customers: list[tuple[int, str]] = field(default_factory=list)
    operators: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"customer {cid} PIN {pin}" for cid, pin in self.customers]
                + [f"operator {user} password {pw}" for user, pw in self.operators])


async def is_empty() -> bool:
    return not await Customer.exists() and not await Operator.exists()


def _person(rng: random.Random, i: int) -> dict:
    postal, city = rng.choice(CITIES)
    if i % 9 == 4:
        name, nip = COMPANIES[i % len(COMPANIES)], _valid_nip(rng)
    else:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if first.endswith("a") and last.endswith("ski"):
            last = last[:-1] + "a"
        name, nip = f"{first} {last}", ""
    login = name.lower().split()[0]
    return dict(name=name, nip=nip, street=f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                postal_code=postal, city=city, phone=f"+48 {rng.randint(500, 799)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                email=f"{_ascii(login)}.{i}@example.pl", invoice_by_email=rng.random() < 0.6,
                marketing_consent=rng.random() < 0.4)


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("ąćęłńóśźż", "acelnoszz"))


def _valid_nip(rng: random.Random) -> str:
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        check = sum(w * d for w, d in zip(weights, digits)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


async def create_demo(customers: int = 40, seed: int | None = None, today: date | None = None,
                      progress=None) -> DemoLogins:
    """Fill an empty database. PINs and the operator password are random and returned once."""
    rng = random.Random(seed)
    today = today or date.today()
    logins = DemoLogins()
    async with db.transaction():
        tariff_ids = [
            (await Tariff.insert(Tariff(name=n, price=p, down_mbit=d, up_mbit=u, vat=23))
             .returning(Tariff.id))[0]["id"] for n, p, d, u in TARIFFS
        ]
    for i in range(customers):
        pin = generate_pin()
        person = _person(rng, i)
        async with db.transaction():
            cid = (await Customer.insert(Customer(**person, pin_hash=await hash_secret_async(pin)))
                   .returning(Customer.id))[0]["id"]
            start = today.replace(day=1) - timedelta(days=rng.randint(400, 1500))
            await Assignment.insert(Assignment(customer=cid, tariff=rng.choice(tariff_ids),
                                               start=start.replace(day=1)))
            await Device.insert(*[Device(customer=cid, name=name, ip=f"10.{j + 1}.{cid // 250}.{cid % 250 + 2}",
                                         mac=_mac(rng)) for j, name in enumerate(_devices(rng))])
        logins.customers.append((cid, pin))
        if progress:
            progress()
    password = secrets.token_urlsafe(9)
    await Operator.insert(Operator(username="admin", name="Biuro Obsługi",
                                   password_hash=await hash_secret_async(password)))
    logins.operators.append(("admin", password))
    await create_demo_tickets([cid for cid, _ in logins.customers], rng)
    return logins


def _devices(rng: random.Random) -> list[str]:
    return ["Router"] + (["Komputer biurowy"] if rng.random() < 0.2 else [])


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))


DEMO_TICKETS = [
    ("technical", "Brak Internetu wieczorami",
     "Brak Internetu w dniu 18.11 w godzinach od 19:00 do 21:30. Router świeci na czerwono.",
     [("operator", "Dzień dobry, na nadajniku w Pańskiej okolicy była awaria zasilania. Już działa."),
      ("customer", "Dziękuję, od wczoraj jest dobrze.")], "resolved"),
    ("billing", "Podwójna opłata za październik",
     "Na wyciągu widzę dwie opłaty za październik. Proszę o wyjaśnienie.",
     [("note", "Sprawdzić import wyciągu z 05.10 – możliwy duplikat."),
      ("operator", "Dzień dobry, druga wpłata zostanie zaliczona na listopad.")], "todo"),
    ("office", "Jak zmienić prędkość",
     "Chciałbym przejść na szybszą taryfę. Co muszę zrobić?", [], "new"),
    ("technical", "Hasło do Wi-Fi",
     "Gdzie mogę znaleźć hasło do połączenia się z moim routerem poprzez sieć wifi?",
     [("operator", "Hasło jest na naklejce na spodzie routera (WPA key).")], "todo"),
]


async def create_demo_tickets(customer_ids: list[int], rng: random.Random) -> int:
    """A few tickets with threads for the first demo customers; returns how many. The
    notification e-mails they would cause are dropped: nobody is waiting for them."""
    from datetime import datetime, timezone

    from app import tickets
    from app.settings import ISP
    from app.tables.helpdesk import MailOutbox

    operator = await Operator.select(Operator.id).where(Operator.username == "admin").first()
    if not customer_ids or operator is None:
        return 0
    isp, now = ISP(), datetime.now(timezone.utc)
    count = 0
    for i, (queue, subject, body, replies, status) in enumerate(DEMO_TICKETS):
        at = now - timedelta(days=len(DEMO_TICKETS) - i, hours=rng.randint(1, 8))
        ticket_id, _ = await tickets.open_ticket(customer_ids[i % len(customer_ids)], subject, body, queue,
                                                 f"demo{i}", at, isp, "")
        for author, text in replies:
            at += timedelta(hours=rng.randint(1, 5))
            if author == "customer":
                await tickets.customer_reply(customer_ids[i % len(customer_ids)], ticket_id, text, at)
            else:
                await tickets.operator_answer(operator["id"], ticket_id, text, author == "note",
                                              "todo" if status != "new" else "", "", at, isp, "")
        if status == "resolved":
            await tickets.operator_answer(operator["id"], ticket_id, "", False, "resolved", "", at, isp, "")
        count += 1
    await MailOutbox.delete().where(MailOutbox.sent_at.is_null())
    return count
