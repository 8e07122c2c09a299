"""Demo data: realistic Polish customers with tariffs and devices, plus one operator."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from app import db
from app.search import search_text
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
            cid = (await Customer.insert(Customer(**person, search_text=search_text(person),
                                                  pin_hash=await hash_secret_async(pin)))
                   .returning(Customer.id))[0]["id"]
            start = today.replace(day=1) - timedelta(days=rng.randint(400, 1500))
            await Assignment.insert(Assignment(customer=cid, tariff=rng.choice(tariff_ids),
                                               start=start.replace(day=1)))
            await Device.insert(*[Device(customer=cid, name=name, ip=f"10.{j + 1}.{cid // 250}.{cid % 250 + 2}",
                                         mac=_mac(rng)) for j, name in enumerate(_devices(rng))])
        logins.customers.append((cid, pin))
        if progress:
            progress()
    await create_demo_finances([cid for cid, _ in logins.customers], rng, today)
    password = secrets.token_urlsafe(9)
    await Operator.insert(Operator(username="admin", name="Biuro Obsługi",
                                   password_hash=await hash_secret_async(password)))
    logins.operators.append(("admin", password))
    await create_demo_messages()
    await create_demo_changes()
    await create_demo_tickets([cid for cid, _ in logins.customers], rng)
    await create_demo_traffic(rng, today)
    return logins


def _devices(rng: random.Random) -> list[str]:
    return ["Router"] + (["Komputer biurowy"] if rng.random() < 0.2 else [])


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))


# Payment habits of demo customers: most pay on time, some late, some owe, some prepay.
HABITS = ("punctual",) * 5 + ("late", "late", "debtor", "credit", "irregular")


async def create_demo_finances(customer_ids: list[int], rng: random.Random, today: date,
                               isp=None) -> int:
    """12 monthly invoices per customer through app.invoices.issue_invoices (month by
    month, so each month's series is numbered across customers) and payments matching each
    customer's habit. Returns the number of invoices issued."""
    from app.invoices import InvoiceLine, InvoiceRequest, issue_invoices
    from app.settings import get_settings
    from app.tables.finances import Payment

    isp = isp or get_settings().isp
    prices = {r["customer"]: (r["tariff.name"], r["tariff.price"], r["tariff.vat"])
              for r in await Assignment.select(Assignment.customer, Assignment.tariff.name,
                                               Assignment.tariff.price, Assignment.tariff.vat)
              .where(Assignment.customer.is_in(customer_ids or [0]))}
    habits = {cid: HABITS[i % len(HABITS)] for i, cid in enumerate(customer_ids)}
    payments: list[Payment] = []
    issued = 0
    first = _add_months(today.replace(day=1), -11)
    for m in range(12):
        month = _add_months(first, m)
        batch = []
        for cid in customer_ids:
            name, price, vat = prices[cid]
            label = f"Abonament {name} — {MONTHS[month.month - 1]} {month.year}"
            batch.append(InvoiceRequest(cid, [InvoiceLine(label, 1, "usł.", price, vat)], month))
            payments += _demo_payments(cid, habits[cid], month, price, m, rng, today)
        done = await issue_invoices(batch, isp)
        issued += len(done)
        await _mark_billed(month, done)
    async with db.transaction():
        for i in range(0, len(payments), 200):
            await Payment.insert(*payments[i:i + 200])
    return issued


async def _mark_billed(month: date, invoices: list) -> None:
    """Record a demo month as billed, as app.billing would have: a marker per assignment
    (each demo customer has one), so that the scheduler's catch-up on start-up does not
    bill the demo customers for it a second time."""
    from app import runs
    from app.tables.billing import BilledAssignment

    period = f"{month:%Y-%m}"
    by_customer = {i.customer_id: i for i in invoices}
    rows = await Assignment.select(Assignment.id, Assignment.customer).where(
        Assignment.customer.is_in(list(by_customer) or [0]))
    markers = [BilledAssignment(key=f"{period}:{r['id']}", period=period, assignment=r["id"],
                                customer=r["customer"], invoice=by_customer[r["customer"]].id,
                                amount=by_customer[r["customer"]].total_gross) for r in rows]
    for i in range(0, len(markers), 400):
        await BilledAssignment.insert(*markers[i:i + 400])
    if await runs.claim("billing", period):
        await runs.finish("billing", period, len(invoices))


MONTHS = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
          "wrzesień", "październik", "listopad", "grudzień")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _demo_payments(cid: int, habit: str, month: date, price: int, m: int,
                   rng: random.Random, today: date) -> list:
    from app.tables.finances import Payment

    title = f"Abonament, ID Klienta {cid:04d}"
    if habit == "punctual":
        plan = [(rng.randint(3, 12), price)]
    elif habit == "late":
        plan = [(rng.randint(20, 45), price)]
    elif habit == "debtor":  # paid until three months ago, then stopped
        plan = [(rng.randint(5, 25), price)] if m < 9 else []
    elif habit == "credit":  # rounds every payment up
        plan = [(rng.randint(1, 8), -(-price * 12 // 1000) * 100)]
    else:  # pays two months at once, every other month
        plan = [(rng.randint(10, 30), 2 * price)] if m % 2 else []
    return [Payment(customer=cid, date=month + timedelta(days=delay), title=title, amount=amount,
                    source="demo") for delay, amount in plan if month + timedelta(days=delay) <= today]
DEMO_MESSAGES = [
    ("serwisowa", False, "Prace serwisowe w sieci światłowodowej",
     "Szanowni Klienci,\n\nw nocy z wtorku na środę (1:00–4:00) modernizujemy węzeł w Końskich.\n"
     "Możliwe są krótkie przerwy w dostępie do Internetu.\n\nPrzepraszamy za utrudnienia."),
    ("rozliczeniowa", False, "Nowy numer konta do wpłat",
     "Od przyszłego miesiąca prosimy o wpłaty na indywidualny numer konta podany w zakładce Finanse.\n"
     "Dzięki temu każda wpłata zostanie zaksięgowana automatycznie."),
    ("rozliczeniowa", False, "Faktury elektroniczne",
     "Możesz otrzymywać faktury e-mailem zamiast papierowych.\nZmienisz to w zakładce Informacje."),
    ("handlowa", False, "Światłowód 1000 Mb/s w promocji",
     "Przejdź na Światłowód 1000 i przez trzy miesiące płać jak za Światłowód 600.\n"
     "Szczegóły w biurze obsługi klienta."),
    ("handlowa", False, "Telewizja w pakiecie",
     "Już wkrótce telewizja internetowa w pakiecie z Internetem. Zapytaj w biurze o ofertę."),
    ("serwisowa", True, "Awaria zasilania węzła w Stąporkowie",
     "Z powodu awarii zasilania część klientów w Stąporkowie nie ma dostępu do sieci.\n"
     "Ekipa techniczna jest na miejscu; usunięcie awarii przewidujemy do godziny 18:00."),
]


async def create_demo_messages(now: datetime | None = None) -> int:
    """A few messages of every category to all demo customers (commercial ones only to
    those with marketing consent), one of them urgent; returns the deliveries made."""
    from app import messages

    now = now or datetime.now(timezone.utc)
    operator = await Operator.select(Operator.id).first()
    total = 0
    for i, (category, urgent, subject, body) in enumerate(DEMO_MESSAGES):
        draft = messages.Draft(subject, body, category, "all", urgent)
        sent = await messages.send(draft, operator["id"] if operator else None,
                                   now - timedelta(days=3 * (len(DEMO_MESSAGES) - i)), now.date())
        total += sent.recipients
    return total


async def create_demo_changes(now: datetime | None = None) -> int:
    """Two customers' data changes waiting in the operator's queue."""
    from app import changes

    now = now or datetime.now(timezone.utc)
    ids = [r["id"] for r in await Customer.select(Customer.id).order_by(Customer.id).limit(3)]
    wanted = [{"phone": "+48 601 202 303", "invoice_by_email": "1"}, {"email": "nowy.adres@example.pl"}]
    made = 0
    for cid, values in zip(ids[1:], wanted):
        made += len(await changes.submit(cid, values, now))
    return made
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
    from app.tables.mail import MailOutbox

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
