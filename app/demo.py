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
    await create_demo_traffic(rng, today)
    return logins


def _devices(rng: random.Random) -> list[str]:
    return ["Router"] + (["Komputer biurowy"] if rng.random() < 0.2 else [])


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))


# Share of a day's traffic per Warsaw hour: quiet nights, busy evenings.
HOUR_SHAPE = [2, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 8, 9, 9, 8, 6, 4]


async def create_demo_traffic(rng: random.Random, today: date, days: int = 365) -> None:
    """A year of published traffic for every device, written as aggregates (no raw samples,
    so it stays fast): daily rows for `days` days and hourly rows for yesterday."""
    from datetime import datetime, timezone

    from app import traffic

    yesterday = today - timedelta(days=1)
    start = traffic.warsaw_midnight(yesterday)
    hours = int((traffic.warsaw_midnight(today) - start).total_seconds() // 3600)
    daily, hourly = [], []
    for device in await Device.select(Device.id, Device.customer):
        mib = rng.choice([300, 800, 1500, 3000, 6000]) * (0.2 if device["id"] % 3 == 0 else 1)
        up_share = rng.uniform(0.08, 0.3)
        for back in range(days):
            day = yesterday - timedelta(days=back)
            weekend = 1.4 if day.weekday() >= 5 else 1.0
            down = int(mib * 2**20 * weekend * rng.uniform(0.3, 1.7))
            daily.append((device["customer"], device["id"], day, int(down * up_share), down))
        day_down = daily[-days][4]
        for h in range(hours):
            hour = start + timedelta(hours=h)
            share = HOUR_SHAPE[traffic.local_hour(hour)] / sum(HOUR_SHAPE)
            hourly.append((device["customer"], device["id"], hour, int(day_down * share * up_share),
                           int(day_down * share)))
    await traffic.import_aggregates(hourly, daily, yesterday, datetime.now(timezone.utc))
