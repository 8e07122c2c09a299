"""The `wbok` command line: serve, migrate, demo data and administration."""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from app.db import DatabaseURLError


class CLIError(Exception):
    """A failure the user can fix; printed as one line on stderr."""


class Parser(argparse.ArgumentParser):
    """argparse with the house's error line: `wbok: <Polish message>` and exit 2."""

    def error(self, message: str):
        self.exit(2, f"wbok: {_polish(message)}\n")


# argparse's own messages, in Polish (type checks below already raise Polish ones).
_ARGPARSE_PL = (
    ("the following arguments are required: ", "brak wymaganych argumentów: "),
    ("unrecognized arguments: ", "nieznane argumenty: "),
    ("expected one argument", "podaj wartość"),
    ("invalid choice: ", "niedozwolona wartość: "),
    ("(choose from ", "(do wyboru: "),
    ("argument ", "argument "),
)


def _polish(message: str) -> str:
    for english, polish in _ARGPARSE_PL:
        message = message.replace(english, polish)
    return message


def _int_in(low: int, high: int, unit: str = ""):
    """An argparse type: an integer from `low` to `high`, refused in Polish otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"podaj liczbę całkowitą od {low:,} do {high:,}{unit} (podano {text!r})".replace(",", " "))
        return value
    return parse


def _month(text: str) -> str:
    """An argparse type: a month as YYYY-MM."""
    from app.register import MONTH

    if not MONTH.match(text.strip()):
        raise argparse.ArgumentTypeError(f"miesiąc w formacie RRRR-MM, np. 2026-11 (podano {text!r})")
    return text.strip()


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar on a terminal; nothing at all without one."""
    if not sys.stdout.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


async def _migrate() -> None:
    from app import db, search

    await db.migrate()
    await search.refresh_missing()  # the search column of rows from before it existed
    await search.ensure_indexes()  # PostgreSQL: trigram indexes for the search


async def _demo(customers: int, only_if_empty: bool = False) -> list[str] | None:
    from app import demo

    await _migrate()
    if not await demo.is_empty():
        if only_if_empty:
            return None  # existing PINs and passwords stay as they are
        raise CLIError("Baza nie jest pusta; dane demo dodaje się tylko do pustej bazy.")
    with progress(customers, "Dane demo") as tick:
        logins = await demo.create_demo(customers, progress=tick)
    return logins.lines()


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(_migrate())
    print("migracje zastosowane")


def cmd_demo(args: argparse.Namespace) -> None:
    lines = asyncio.run(_demo(args.customers))
    print("\n".join(lines))
    print(f"demo: klientów {args.customers}, operator 1")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    if args.demo:
        lines = asyncio.run(_demo(args.customers, only_if_empty=True))
        if lines is None:
            print("demo: baza ma już dane; ich PIN-y i hasła bez zmian, brak loginów demo")
        else:
            print("\n".join(lines))
    else:
        asyncio.run(_migrate())
    print(_keep_secret_key())  # in the environment: every worker signs with the same key
    workers = args.workers
    if workers > 1:
        print(f"WBOK: {workers} worker processes", flush=True)
    print(f"WBOK: http://{args.host}:{args.port}/login", flush=True)
    # X-Forwarded-For is read by the app, and only from WBOK_TRUSTED_PROXIES (app/routes/_session.py).
    # Several workers share one listening socket; uvicorn's supervisor starts a new worker
    # when one dies. Each runs the scheduler: the run keys (app/runs.py) make a job run once.
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port,
                workers=workers, log_level="warning", proxy_headers=False,
                # Open helpdesk SSE streams would otherwise hold a shutdown for minutes.
                timeout_graceful_shutdown=5)


CUSTOMER_OPTIONS = {"street": "--street", "postal_code": "--postal-code", "city": "--city", "email": "--email",
                    "phone": "--phone", "nip": "--nip", "mail_street": "--mail-street",
                    "mail_postal_code": "--mail-postal-code", "mail_city": "--mail-city", "tariff": "--tariff",
                    "ip": "--ip", "pin": "--pin", "name": "--name"}


def _keep_secret_key() -> str:
    """Without WBOK_SECRET_KEY, use the key kept in the database (made on the first run),
    passed on to the app and its workers through the environment; the line says where."""
    import os

    from app import secret
    from app.settings import get_settings

    if os.environ.get("WBOK_SECRET_KEY"):
        return "secret key: from WBOK_SECRET_KEY"
    os.environ["WBOK_SECRET_KEY"] = asyncio.run(secret.kept_secret_key())
    get_settings.cache_clear()
    return f"secret key: kept in {secret.WHERE} (set WBOK_SECRET_KEY to use your own)"


def workers_count(text: str) -> int:
    """`--workers N` (N >= 1) or `auto`: one per CPU core this process may use."""
    import os

    if text == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"a number of workers (1 or more) or auto: {text!r}")
    return count


def cmd_customer_add(args: argparse.Namespace) -> None:
    """The admin form's fields and checks (app/customer_edit.py), on the command line."""
    from app.customers import CustomerError, create_customer

    fields = {f: getattr(args, f) or "" for f in ("street", "postal_code", "city", "email", "phone", "nip",
                                                   "mail_street", "mail_postal_code", "mail_city")}

    async def run() -> tuple[int, str]:
        await _migrate()
        return await create_customer(args.name, tariff=args.tariff, ip=args.ip, pin=args.pin,
                                     invoice_by_email=args.invoice_by_email,
                                     tariff_from=args.tariff_from, **fields)

    try:
        customer_id, pin = asyncio.run(run())
    except CustomerError as exc:
        field, message = next(iter(exc.errors.items()), ("", str(exc)))
        option = CUSTOMER_OPTIONS.get(field, "")
        raise CLIError(f"{option}: {message}" if option else message) from exc
    print(f"customer {customer_id} PIN {pin}")


def cmd_operator_add(args: argparse.Namespace) -> None:
    from app.operators import OperatorError, create_operator

    async def run() -> None:
        await _migrate()
        await create_operator(args.username, args.password)

    try:
        asyncio.run(run())
    except OperatorError as exc:
        raise CLIError(str(exc)) from exc
    print(f"operator {args.username} created")


def cmd_tariff_add(args: argparse.Namespace) -> None:
    from app.tariffs import TariffError, create_tariff

    async def run() -> int:
        await _migrate()
        return await create_tariff(args.name, args.price, args.down, args.up, args.vat)

    try:
        tariff_id = asyncio.run(run())
    except TariffError as exc:
        raise CLIError(str(exc)) from exc
    print(f"tariff {tariff_id} {args.name}")


def cmd_billing_run(args: argparse.Namespace) -> None:
    from app import billing
    from app.delivery import deliver_pending, invoice_mail_counts
    from app.settings import get_settings

    settings = get_settings()

    async def run() -> billing.BillingResult:
        await _migrate()
        today = billing.warsaw_today()
        month = billing.parse_month(args.month or today, today)
        todo, _ = await billing.pending(month)
        with progress(len(todo), f"Faktury {billing.period_key(month)}") as tick:
            result = await billing.run_billing(month, today, settings.isp, progress=tick)
        await deliver_pending(settings)
        result.mails = await invoice_mail_counts(billing.period_key(month))
        return result

    try:
        result = asyncio.run(run())
    except billing.BillingError as exc:
        raise CLIError(str(exc)) from exc
    print(result.summary())
    for error in result.errors:
        print(f"wbok: {error}", file=sys.stderr)
    if result.mails_failed:
        print(f"wbok: {result.mails_failed} invoice e-mails not sent (retried later; see /admin/billing)",
              file=sys.stderr)
    if result.errors or result.mails_failed:
        raise SystemExit(1)


def _today():
    from app.billing import warsaw_today

    return warsaw_today()


def cmd_assignment_add(args: argparse.Namespace) -> None:
    from app.contracts import ContractError, add_assignment

    async def run() -> int:
        await _migrate()
        return await add_assignment(args.customer_id, args.tariff, args.start or _today(),
                                    discount_percent=args.discount_percent,
                                    discount_amount=args.discount or "", note=args.note or "")

    try:
        assignment_id = asyncio.run(run())
    except ContractError as exc:
        raise CLIError(str(exc)) from exc
    print(f"assignment {assignment_id}")


def cmd_assignment_end(args: argparse.Namespace) -> None:
    from app.contracts import ContractError, end_assignment

    async def run() -> bool:
        await _migrate()
        return await end_assignment(args.assignment_id, args.on or _today())

    try:
        found = asyncio.run(run())
    except ContractError as exc:
        raise CLIError(str(exc)) from exc
    if not found:
        raise CLIError(f"Nie ma umowy (przypisania taryfy) o ID {args.assignment_id}.")
    print(f"assignment {args.assignment_id} ends {args.on or _today()}")


def _iso_time(text: str):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"czas w formacie ISO 8601, np. 2026-11-22T14:05 (podano {text!r})") from exc


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"data w formacie RRRR-MM-DD (podano {text!r})") from exc


def cmd_traffic_ingest(args: argparse.Namespace) -> None:
    from app import traffic

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8", errors="replace").read()
    except OSError as exc:
        raise CLIError(f"nie można odczytać {args.file}: {exc.strerror}") from exc

    async def run():
        await _migrate()
        with progress(1, "Zapis próbek") as tick:
            result = await traffic.ingest(text, args.at)
            tick()
        return result

    try:
        result = asyncio.run(run())
    except traffic.TrafficError as exc:
        raise CLIError(str(exc)) from exc
    for bad in result.bad:
        print(f"{args.file}:{bad.number}: {bad.reason}: {bad.text}", file=sys.stderr)
    if result.unknown:
        print(f"nieznane adresy IP: {', '.join(result.unknown_ips)}{' …' if result.unknown > 10 else ''}",
              file=sys.stderr)
    print(result.summary())
    if result.bad and not result.stored and not result.unknown:
        print(f"wbok: {args.file}: żaden wiersz nie był poprawny", file=sys.stderr)
        raise SystemExit(1)


def cmd_traffic_publish(args: argparse.Namespace) -> None:
    from datetime import datetime, timedelta, timezone

    from app import traffic
    from app.settings import get_settings

    async def run():
        await _migrate()
        until = args.date or traffic.warsaw_today(datetime.now(timezone.utc)) - timedelta(days=1)
        pending = await traffic.pending_days(until)
        with progress(max(len(pending), 1), "Publikacja statystyk") as tick:
            return await traffic.publish(args.date, retention_days=get_settings().traffic_retention_days,
                                         progress=tick)

    try:
        result = asyncio.run(run())
    except traffic.TrafficError as exc:
        raise CLIError(str(exc)) from exc
    print(result.summary())


def cmd_import_lms(args: argparse.Namespace) -> None:
    from app import lms_import
    from app.settings import get_settings

    settings = get_settings()

    @contextmanager
    def bar(label: str, total: int):
        with progress(total, label) as tick:
            yield tick

    async def run() -> lms_import.ImportReport:
        await _migrate()
        return await lms_import.import_lms(args.url, settings.isp, settings.secret_key, dry_run=args.dry_run,
                                           since=args.since, progress=bar)

    try:
        report = asyncio.run(run())
    except lms_import.LmsImportError as exc:
        raise CLIError(str(exc)) from exc
    print("\n".join(lms_import.summary_lines(report)))
    if report.balance_diffs:
        raise SystemExit(1)


def add_import_commands(sub) -> None:
    lms = sub.add_parser("import").add_subparsers(dest="action", required=True).add_parser(
        "lms", help="take customers (IDs and PINs), money, invoices, tickets and traffic over from LMS")
    lms.add_argument("url", help="postgresql://user@host/lms or mysql://user:pass@host/lms")
    lms.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    lms.add_argument("--since", type=_iso_date, default=None,
                     help="only documents, payments, messages and traffic from this day (YYYY-MM-DD)")
    lms.set_defaults(func=cmd_import_lms)


def add_traffic_commands(sub) -> None:
    traffic = sub.add_parser("traffic").add_subparsers(dest="action", required=True)
    ingest = traffic.add_parser("ingest", help="zapisz próbki z kolektora: wiersze `IP wysłane pobrane` (w bajtach)")
    ingest.add_argument("file", help="plik kolektora albo - dla standardowego wejścia")
    ingest.add_argument("--at", type=_iso_time, default=None,
                        help="czas próbek, ISO 8601 (domyślnie: teraz; bez strefy: czas warszawski)")
    ingest.set_defaults(func=cmd_traffic_ingest)
    publish = traffic.add_parser("publish", help="to, co robi nocne zadanie: publikacja do dnia --date")
    publish.add_argument("--date", type=_iso_date, default=None, help="ostatni publikowany dzień, RRRR-MM-DD (domyślnie: wczoraj)")
    publish.set_defaults(func=cmd_traffic_publish)


def cmd_ksef_send(args: argparse.Namespace) -> None:
    from app import ksef
    from app.settings import get_settings

    async def run():
        await _migrate()
        return await ksef.send_pending(get_settings(), force=True)

    result = asyncio.run(run())
    print(result.summary())
    if result.error or result.rejected:
        raise SystemExit(1)


def cmd_ksef_xml(args: argparse.Namespace) -> None:
    from app import ksef
    from app.settings import get_settings

    async def run() -> bytes | None:
        await _migrate()
        invoice_id = await ksef.invoice_id_by_number(args.number)
        return None if invoice_id is None else await ksef.invoice_xml(invoice_id, get_settings())

    xml = asyncio.run(run())
    if xml is None:
        raise CLIError(f"nie ma faktury o numerze {args.number!r}")
    sys.stdout.buffer.write(xml + b"\n")


def add_ksef_commands(sub) -> None:
    ksef = sub.add_parser("ksef").add_subparsers(dest="action", required=True)
    ksef.add_parser("send", help="what the KSeF job does: send pending invoices now").set_defaults(
        func=cmd_ksef_send)
    xml = ksef.add_parser("xml", help="print an invoice's FA(3) XML")
    xml.add_argument("number", help="the invoice number, e.g. FV/3/11/2026")
    xml.set_defaults(func=cmd_ksef_xml)


def add_customer_options(add) -> None:
    """`customer add`: the fields of the admin's new-customer form."""
    add.add_argument("--name", required=True, help="imię i nazwisko albo nazwa firmy")
    add.add_argument("--street", help="adres usługi: ulica i numer, np. \"ul. Polna 1\"")
    add.add_argument("--postal-code", help="kod pocztowy NN-NNN, np. 26-200")
    add.add_argument("--city", help="miejscowość")
    add.add_argument("--email", help="adres e-mail, np. jan@example.pl")
    add.add_argument("--phone", help="polski numer telefonu, 9 cyfr, np. 600100200 lub +48 600 100 200")
    add.add_argument("--nip", help="NIP, 10 cyfr z poprawną cyfrą kontrolną")
    add.add_argument("--mail-street", help="adres korespondencyjny: ulica i numer (jeśli inny)")
    add.add_argument("--mail-postal-code", help="adres korespondencyjny: kod pocztowy NN-NNN")
    add.add_argument("--mail-city", help="adres korespondencyjny: miejscowość")
    add.add_argument("--invoice-by-email", action="store_true", help="faktury e-mailem (wymaga --email)")
    add.add_argument("--tariff", help="nazwa taryfy, od dziś (albo od --from)")
    add.add_argument("--from", dest="tariff_from", type=_iso_date,
                     help="RRRR-MM-DD: początek umowy na --tariff (domyślnie dziś)")
    add.add_argument("--ip", help="adres IPv4 lub IPv6 routera klienta")
    add.add_argument("--pin", help="4–8 cyfr (domyślnie: losowy 6-cyfrowy PIN)")


def cmd_export(args: argparse.Namespace) -> None:
    """The accountant's CSV, streamed to stdout line by line (as /admin/exports/…)."""
    from app import billing, register

    async def run() -> None:
        await _migrate()
        async for line in register.export(args.kind, args.month, billing.warsaw_today()):
            sys.stdout.write(line)

    try:
        sys.stdout.reconfigure(newline="")  # the CSV's own CRLF line ends, untranslated
        asyncio.run(run())
    except register.RegisterError as exc:
        raise CLIError(str(exc)) from exc


def cmd_reminders_run(args: argparse.Namespace) -> None:
    """What the nightly job does: this month's reminders (once per customer), e-mails sent."""
    from app import billing, delivery
    from app.settings import get_settings

    async def run() -> tuple[int, int]:
        await _migrate()
        return await delivery.send_reminders(get_settings(), billing.warsaw_today())

    emails, paper = asyncio.run(run())
    print(f"przypomnienia: e-mail {emails}, papierowe {paper} (do wydruku w /admin/debtors)")


def add_desk_commands(sub) -> None:
    export = sub.add_parser("export", help="CSV dla księgowości na standardowe wyjście (UTF-8 z BOM, średnik, przecinek dziesiętny)")
    export.add_argument("kind", choices=("sales", "payments", "debtors"),
                        help="sales: rejestr sprzedaży; payments: wpłaty miesiąca; debtors: dłużnicy na koniec miesiąca")
    export.add_argument("--month", type=_month, required=True, help="RRRR-MM, np. 2026-11")
    export.add_argument("--format", choices=("csv",), default="csv", help="csv (jedyny format)")
    export.set_defaults(func=cmd_export)
    reminders = sub.add_parser("reminders").add_subparsers(dest="action", required=True)
    r_run = reminders.add_parser("run", help="to, co robi nocne zadanie: przypomnienia o płatności w tym miesiącu")
    r_run.set_defaults(func=cmd_reminders_run)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="wbok", description="WBOK: panel klienta ISP", add_help=False)
    parser.add_argument("-h", "--help", action="help", help="pokaż tę pomoc i zakończ")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migracje, potem serwer z harmonogramem zadań")
    serve.add_argument("--host", default="127.0.0.1", help="adres nasłuchu (domyślnie: 127.0.0.1)")
    serve.add_argument("--port", type=_int_in(1, 65535), default=8000, help="port TCP, 1–65535 (domyślnie: 8000)")
    serve.add_argument("--demo", action="store_true", help="wypełnij pustą bazę danymi demo")
    serve.add_argument("--customers", type=_int_in(1, 100_000), default=40, help=argparse.SUPPRESS)
    serve.add_argument("--workers", type=workers_count, default=1, metavar="N|auto",
                       help="procesy robocze (domyślnie 1; auto: jeden na rdzeń procesora)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="zastosuj migracje bazy danych").set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="wypełnij pustą bazę realistycznymi danymi demo")
    demo.add_argument("--customers", type=_int_in(1, 100_000), default=40,
                      help="liczba klientów demo, 1–100 000 (domyślnie: 40)")
    demo.set_defaults(func=cmd_demo)

    customer = sub.add_parser("customer").add_subparsers(dest="action", required=True)
    add = customer.add_parser("add", help="dodaj klienta; wypisuje jego ID i PIN")
    add_customer_options(add)
    add.set_defaults(func=cmd_customer_add)

    operator = sub.add_parser("operator").add_subparsers(dest="action", required=True)
    op_add = operator.add_parser("add", help="dodaj konto operatora")
    op_add.add_argument("username", help="login do /admin/login")
    op_add.add_argument("--password", required=True, help="hasło operatora")
    op_add.set_defaults(func=cmd_operator_add)

    tariff = sub.add_parser("tariff").add_subparsers(dest="action", required=True)
    t_add = tariff.add_parser("add", help="dodaj taryfę (miesięczna cena brutto w zł)")
    t_add.add_argument("name", help="nazwa taryfy, jak na fakturach")
    t_add.add_argument("--price", required=True, help="miesięczna cena brutto w zł, np. 79,99")
    t_add.add_argument("--down", type=_int_in(1, 100_000, " Mbit/s"), required=True, help="prędkość pobierania w Mbit/s")
    t_add.add_argument("--up", type=_int_in(1, 100_000, " Mbit/s"), required=True, help="prędkość wysyłania w Mbit/s")
    t_add.add_argument("--vat", type=_int_in(0, 100, " %"), default=23, help="stawka VAT w procentach (domyślnie: 23)")
    t_add.set_defaults(func=cmd_tariff_add)

    assignment = sub.add_parser("assignment").add_subparsers(dest="action", required=True)
    a_add = assignment.add_parser("add", help="assign a tariff to a customer from a date")
    a_add.add_argument("customer_id", type=int)
    a_add.add_argument("tariff", help="tariff name or ID")
    a_add.add_argument("--from", dest="start", type=_iso_date, help="YYYY-MM-DD; today by default")
    a_add.add_argument("--discount-percent", type=int, default=0)
    a_add.add_argument("--discount", help="amount off the monthly price, in zł")
    a_add.add_argument("--note")
    a_add.set_defaults(func=cmd_assignment_add)
    a_end = assignment.add_parser("end", help="end an assignment (the last day billed)")
    a_end.add_argument("assignment_id", type=int)
    a_end.add_argument("--on", type=_iso_date, help="YYYY-MM-DD; today by default")
    a_end.set_defaults(func=cmd_assignment_end)

    billing_cmd = sub.add_parser("billing").add_subparsers(dest="action", required=True)
    b_run = billing_cmd.add_parser("run", help="to, co robi miesięczne zadanie: rozliczenie miesiąca")
    b_run.add_argument("--month", type=_month, help="rozliczany miesiąc, RRRR-MM (domyślnie: bieżący)")
    b_run.set_defaults(func=cmd_billing_run)
    add_traffic_commands(sub)
    add_import_commands(sub)
    add_ksef_commands(sub)
    add_desk_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Piccolo warns (with a source line) before our one-line error about an unreachable
    # database; the error line says it all.
    warnings.filterwarnings("ignore", message=".*Unable to connect to database")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a refused argument (2, message already on stderr) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        args.func(args)
    except (CLIError, DatabaseURLError) as exc:
        print(f"wbok: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
