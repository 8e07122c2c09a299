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
    from app import db

    await db.migrate()


async def _demo(customers: int, only_if_empty: bool = False) -> list[str] | None:
    from app import demo

    await _migrate()
    if not await demo.is_empty():
        if only_if_empty:
            again = await demo.reissue_logins()
            return again.lines() if again else None
        raise CLIError("Baza nie jest pusta; dane demo dodaje się tylko do pustej bazy.")
    with progress(customers, "Dane demo") as tick:
        logins = await demo.create_demo(customers, progress=tick)
    return logins.lines()


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(_migrate())
    print("migrations applied")


def cmd_demo(args: argparse.Namespace) -> None:
    lines = asyncio.run(_demo(args.customers))
    print("\n".join(lines))
    print(f"demo: {args.customers} customers, 1 operator")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    if args.demo:
        lines = asyncio.run(_demo(args.customers, only_if_empty=True))
        if lines is None:
            print("demo: the database has data that the demo did not create; no demo logins")
        else:
            print("\n".join(lines))
    else:
        asyncio.run(_migrate())
    workers = args.workers
    if workers > 1:
        _share_settings_with_workers()
        print(f"WBOK: {workers} worker processes", flush=True)
    print(f"WBOK: http://{args.host}:{args.port}/login", flush=True)
    # Several workers share one listening socket; uvicorn's supervisor starts a new worker
    # when one dies. Each runs the scheduler: the run keys (app/runs.py) make a job run once.
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port,
                workers=workers, log_level="warning", proxy_headers=True,
                # Open helpdesk SSE streams would otherwise hold a shutdown for minutes.
                timeout_graceful_shutdown=5)


def _share_settings_with_workers() -> None:
    """Workers are fresh interpreters: give them this process's secret key, so a CSRF
    token or a form signed by one worker is good on another."""
    import os

    from app.settings import get_settings

    os.environ.setdefault("WBOK_SECRET_KEY", get_settings().secret_key)


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
    from app.customers import CustomerError, create_customer

    async def run() -> tuple[int, str]:
        await _migrate()
        return await create_customer(args.name, email=args.email or "", tariff=args.tariff,
                                     ip=args.ip, pin=args.pin)

    try:
        customer_id, pin = asyncio.run(run())
    except CustomerError as exc:
        raise CLIError(str(exc)) from exc
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
    from app.delivery import deliver_pending
    from app.settings import get_settings

    settings = get_settings()

    async def run() -> billing.BillingResult:
        await _migrate()
        today = billing.warsaw_today()
        month = billing.parse_month(args.month or today)
        _, todo = await billing.pending(month)
        with progress(len(todo), f"Faktury {billing.period_key(month)}") as tick:
            result = await billing.run_billing(month, today, settings.isp, progress=tick)
        await deliver_pending(settings)
        return result

    try:
        result = asyncio.run(run())
    except billing.BillingError as exc:
        raise CLIError(str(exc)) from exc
    print(result.summary())
    for error in result.errors:
        print(f"wbok: {error}", file=sys.stderr)
    if result.errors:
        raise SystemExit(1)


def _iso_time(text: str):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from exc


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def cmd_traffic_ingest(args: argparse.Namespace) -> None:
    from app import traffic

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8", errors="replace").read()
    except OSError as exc:
        raise CLIError(f"cannot read {args.file}: {exc.strerror}") from exc

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
        print(f"unknown IPs: {', '.join(result.unknown_ips)}{' …' if result.unknown > 10 else ''}",
              file=sys.stderr)
    print(result.summary())


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


def add_traffic_commands(sub) -> None:
    traffic = sub.add_parser("traffic").add_subparsers(dest="action", required=True)
    ingest = traffic.add_parser("ingest", help="store collector samples: lines of `IP upload download`")
    ingest.add_argument("file", help="the collector's file, or - for stdin")
    ingest.add_argument("--at", type=_iso_time, default=None,
                        help="sample time, ISO 8601 (default: now; without an offset: Warsaw time)")
    ingest.set_defaults(func=cmd_traffic_ingest)
    publish = traffic.add_parser("publish", help="what the nightly job does: publish up to --date")
    publish.add_argument("--date", type=_iso_date, default=None, help="last day to publish (default: yesterday)")
    publish.set_defaults(func=cmd_traffic_publish)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wbok", description="WBOK: panel klienta ISP")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve with the scheduler running")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="fill an empty database with demo data")
    serve.add_argument("--customers", type=int, default=40, help=argparse.SUPPRESS)
    serve.add_argument("--workers", type=workers_count, default=1, metavar="N|auto",
                       help="worker processes (default 1; auto: one per core)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply the database migrations").set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="fill an empty database with realistic demo data")
    demo.add_argument("--customers", type=int, default=40)
    demo.set_defaults(func=cmd_demo)

    customer = sub.add_parser("customer").add_subparsers(dest="action", required=True)
    add = customer.add_parser("add", help="create a customer; prints its ID and PIN")
    add.add_argument("--name", required=True)
    add.add_argument("--email")
    add.add_argument("--tariff")
    add.add_argument("--ip")
    add.add_argument("--pin")
    add.set_defaults(func=cmd_customer_add)

    operator = sub.add_parser("operator").add_subparsers(dest="action", required=True)
    op_add = operator.add_parser("add", help="create an operator account")
    op_add.add_argument("username")
    op_add.add_argument("--password", required=True)
    op_add.set_defaults(func=cmd_operator_add)

    tariff = sub.add_parser("tariff").add_subparsers(dest="action", required=True)
    t_add = tariff.add_parser("add", help="create a tariff (monthly gross price in zł)")
    t_add.add_argument("name")
    t_add.add_argument("--price", required=True)
    t_add.add_argument("--down", type=int, required=True)
    t_add.add_argument("--up", type=int, required=True)
    t_add.add_argument("--vat", type=int, default=23)
    t_add.set_defaults(func=cmd_tariff_add)

    billing_cmd = sub.add_parser("billing").add_subparsers(dest="action", required=True)
    b_run = billing_cmd.add_parser("run", help="what the monthly job does: bill a month")
    b_run.add_argument("--month", help="YYYY-MM; this month by default")
    b_run.set_defaults(func=cmd_billing_run)
    add_traffic_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Piccolo warns (with a source line) before our one-line error about an unreachable
    # database; the error line says it all.
    warnings.filterwarnings("ignore", message=".*Unable to connect to database")
    args = build_parser().parse_args(argv)
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
