"""Contracts: assignments over time (add, change from a date, end, audit), their month
boundaries in billing, late assignments billed by the next run, a killed run resumed at
once, two runs at once in separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest

from app import billing, contracts
from app.billing import run_billing
from app.contracts import ContractError
from app.settings import ISP
from app.tables.billing import BilledAssignment
from app.tables.changes import AuditLog
from app.tables.finances import Invoice, InvoiceLine
from app.tables.tariffs import Assignment
from tests import factories

pytestmark = pytest.mark.anyio
NOV = date(2026, 11, 1)


async def lines_of(customer_id: int) -> list[tuple[str, int]]:
    rows = await InvoiceLine.select(InvoiceLine.description, InvoiceLine.gross).where(
        InvoiceLine.invoice.customer == customer_id).order_by(InvoiceLine.invoice).order_by(InvoiceLine.position)
    return [(r["description"], r["gross"]) for r in rows]


async def test_add_change_end_with_audit():
    c = await factories.customer()
    net = await factories.tariff(name="Światłowód 300", price=7999)
    await factories.tariff(name="Światłowód 600", price=9999)
    ip = await factories.tariff(name="Publiczny IP", price=1000)
    op = await factories.operator()
    first = await contracts.add_assignment(c.id, "Światłowód 300", "2026-01-01", operator_id=op.id)
    await contracts.add_assignment(c.id, ip, "2026-03-15", operator_id=op.id, discount_percent="50",
                                   note="promocja")
    new = await contracts.change_tariff(first, "Światłowód 600", "2026-12-01", customer_id=c.id, operator_id=op.id)
    old, changed = (await Assignment.select().where(Assignment.id.is_in([first, new])).order_by(Assignment.id))
    assert old["end"] == date(2026, 11, 30) and old["tariff"] == net
    assert changed["start"] == date(2026, 12, 1) and changed["end"] is None
    # The Finanse view on 4 Dec... and before the change: the change shows as future.
    views = await contracts.assignments(c.id, date(2026, 11, 20))
    assert [(v.tariff, v.state) for v in views] == [
        ("Światłowód 300", "current"), ("Publiczny IP", "current"), ("Światłowód 600", "future")]
    assert views[1].monthly == 500
    assert await contracts.end_assignment(new, "2027-03-31", customer_id=c.id, operator_id=op.id)
    with pytest.raises(ContractError):
        await contracts.end_assignment(new, "2026-11-01")  # before its start
    with pytest.raises(ContractError):
        await contracts.change_tariff(new, "Publiczny IP", "2026-12-01")  # not after the start
    other = await factories.customer()
    assert not await contracts.end_assignment(new, "2027-01-31", customer_id=other.id)
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).where(
        AuditLog.customer == c.id).order_by(AuditLog.id)]
    assert actions == ["assignment_add", "assignment_add", "assignment_change", "assignment_end"]
    entry = await AuditLog.select().where(AuditLog.action == "assignment_change").first()
    assert entry["old_value"] == "Światłowód 300 od 2026-01-01"
    assert entry["new_value"] == "Światłowód 600 od 2026-12-01"
    assert entry["actor_id"] == op.id


async def test_bad_input_is_refused_with_nothing_saved():
    c = await factories.customer()
    await factories.tariff(name="Światłowód 300")
    for kwargs in ({"start": "2026-02-30"}, {"start": "jutro"}, {"start": "2026-01-01", "discount_percent": "150"},
                   {"start": "2026-01-01", "discount_amount": "-5"}, {"start": "2026-05-01", "end": "2026-04-30"}):
        with pytest.raises(ContractError):
            await contracts.add_assignment(c.id, "Światłowód 300", **kwargs)
    with pytest.raises(ContractError):
        await contracts.add_assignment(c.id, "Nie ma takiej", "2026-01-01")
    assert await Assignment.count() == 0 and await AuditLog.count() == 0


async def test_month_boundaries_mid_month_change_on_the_first_and_leap_february():
    c = await factories.customer()
    await factories.tariff(name="A", price=6000)
    await factories.tariff(name="B", price=9000)
    await factories.tariff(name="IP", price=2900)
    a = await contracts.add_assignment(c.id, "A", "2026-01-01")
    await contracts.change_tariff(a, "B", "2026-11-01")  # a change on the 1st: B the whole month
    ip = await contracts.add_assignment(c.id, "IP", "2026-11-11")  # starts mid-month
    await contracts.end_assignment(ip, "2026-11-20")  # ...and ends mid-month: 10 of 30 days
    await run_billing(NOV, date(2026, 12, 1), ISP())
    assert await lines_of(c.id) == [("Abonament B — listopad 2026", 9000),
                                    ("Abonament IP — listopad 2026 (11.11–20.11, 10/30 dni)", 967)]
    oct_ = await run_billing("2026-10", date(2026, 12, 1), ISP())
    assert oct_.invoices == 1 and (await lines_of(c.id))[-1] == ("Abonament A — październik 2026", 6000)

    leap = await factories.customer()
    ends = await contracts.add_assignment(leap.id, "IP", "2027-06-01")
    await contracts.add_assignment(leap.id, "IP", "2028-02-29")  # the leap day: 1 of 29 days
    await contracts.end_assignment(ends, "2028-02-28")  # 28 of 29 days
    await run_billing("2028-02", date(2028, 3, 1), ISP())
    assert [g for _, g in await lines_of(leap.id)] == [2800, 100]


async def test_late_customer_and_late_assignment_are_billed_by_the_next_run():
    c = await factories.customer()
    await factories.tariff(name="Net", price=7999)
    await factories.tariff(name="IP", price=1500)
    await contracts.add_assignment(c.id, "Net", "2026-01-01")
    first = await run_billing(NOV, date(2026, 11, 1), ISP())
    assert first.invoices == 1
    # After the month's run: a second service from the 16th and a new customer.
    await contracts.add_assignment(c.id, "IP", "2026-11-16")
    late = await factories.customer()
    await contracts.add_assignment(late.id, "Net", "2026-11-10")
    assert await billing.due_months(date(2026, 11, 20)) == [NOV]
    second = await run_billing(NOV, date(2026, 11, 20), ISP())
    assert (second.invoices, second.skipped, second.total) == (2, 0, 750 + 5599)
    assert [g for _, g in await lines_of(c.id)] == [7999, 750]
    assert [g for _, g in await lines_of(late.id)] == [5599]  # 21/30 of 79,99
    third = await run_billing(NOV, date(2026, 11, 21), ISP())
    assert (third.invoices, third.skipped) == (0, 2)
    assert await billing.due_months(date(2026, 11, 21)) == []
    assert sorted(r["seq"] for r in await Invoice.select(Invoice.seq)) == [1, 2, 3]


async def test_ended_contract_is_not_billed_after_its_end():
    c = await factories.customer()
    await factories.tariff(name="Net", price=3000)
    a = await contracts.add_assignment(c.id, "Net", "2026-01-01")
    await contracts.end_assignment(a, "2026-10-31")
    assert (await run_billing(NOV, date(2026, 11, 1), ISP())).invoices == 0
    assert await Invoice.count() == 0


# --- separate processes -----------------------------------------------------------------

RUNNER = textwrap.dedent("""
    import asyncio, sys
    from datetime import date
    from app import billing
    from app.settings import ISP

    billing.BATCH = 5
    real = billing._issue

    async def slow(*args, **kwargs):
        out = await real(*args, **kwargs)
        await asyncio.sleep(float(sys.argv[1]))
        return out

    billing._issue = slow

    def tick():
        print("tick", flush=True)

    async def main():
        result = await billing.run_billing("2026-11", date(2026, 11, 2), ISP(), progress=tick)
        print(result.summary(), flush=True)

    asyncio.run(main())
""")


def _spawn(delay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUNNER, str(delay)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ),
                            cwd=os.path.dirname(os.path.dirname(__file__)))


async def _customers(n: int) -> list[int]:
    tariff = await factories.tariff(name="Net", price=7999)
    ids = []
    for _ in range(n):
        c = await factories.customer()
        await Assignment.insert(Assignment(customer=c.id, tariff=tariff, start=date(2026, 1, 1)))
        ids.append(c.id)
    return ids


async def _check_once_each(ids: list[int]) -> None:
    rows = await Invoice.select(Invoice.customer, Invoice.seq).order_by(Invoice.seq)
    assert sorted(r["customer"] for r in rows) == sorted(ids)  # every customer billed once
    assert [r["seq"] for r in rows] == list(range(1, len(ids) + 1))  # no gap, no duplicate
    assert await BilledAssignment.count() == len(ids)


async def test_kill_9_mid_run_then_an_immediate_rerun_bills_the_rest():
    ids = await _customers(30)
    proc = _spawn(0.3)
    ticks = 0
    while ticks < 10:  # two batches committed, the third open
        line = proc.stdout.readline()
        assert line, "the run ended before it could be killed"
        ticks += line.startswith("tick")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    done = await Invoice.count()
    assert 10 <= done < 30
    started = time.monotonic()
    result = await run_billing(NOV, date(2026, 11, 2), ISP())
    assert time.monotonic() - started < 30  # at once: no lease to wait for
    assert (result.invoices, result.failed) == (30 - done, 0)
    await _check_once_each(ids)


async def test_two_runs_at_once_in_two_processes():
    ids = await _customers(24)
    procs = [_spawn(0.05), _spawn(0.05)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    summaries = [o.strip().splitlines()[-1] for o in outs]
    issued = sum(int(s.split(": ")[1].split(" invoices")[0]) for s in summaries)
    assert issued == 24, summaries
    await _check_once_each(ids)


async def test_the_migration_backfills_markers_for_months_billed_per_customer():
    """Databases billed before per-assignment markers: every assignment of a customer
    billed for a month, overlapping it, gets its marker, so the upgrade bills nothing twice."""
    import importlib

    from app.tables.billing import BilledMonth

    migration = importlib.import_module("app.tables.piccolo_migrations.wbok_2026_12_04t19_02_59_335255")
    c = await factories.customer()
    tariff = await factories.tariff(price=7999)
    old = await Assignment.insert(Assignment(customer=c.id, tariff=tariff, start=date(2025, 1, 1),
                                             end=date(2026, 10, 15))).returning(Assignment.id)
    new = await Assignment.insert(Assignment(customer=c.id, tariff=tariff, start=date(2026, 10, 16))
                                  ).returning(Assignment.id)
    for period in ("2026-09", "2026-10", "2026-11"):
        inv = await factories.invoice(c.id, date.fromisoformat(f"{period}-01"))
        await BilledMonth.insert(BilledMonth(key=f"{period}:{c.id}", period=period, customer=c.id,
                                             invoice=inv.id, total=7999))
    await migration.backfill_billed_assignments()
    await migration.backfill_billed_assignments()  # idempotent
    rows = await BilledAssignment.select(BilledAssignment.key).order_by(BilledAssignment.key)
    o, n = old[0]["id"], new[0]["id"]
    assert [r["key"] for r in rows] == sorted([f"2026-09:{o}", f"2026-10:{o}", f"2026-10:{n}", f"2026-11:{n}"])
    assert (await run_billing(NOV, date(2026, 11, 20), ISP())).invoices == 0


def test_cli_customer_add_from_and_assignment_add_end(capsys):
    from app.cli import main
    from tests.conftest import run_sync

    run_sync(factories.tariff(name="Światłowód 300", price=7999))
    run_sync(factories.tariff(name="Publiczny IP", price=1000))
    assert main(["customer", "add", "--name", "Jan Źródlany", "--tariff", "Światłowód 300",
                 "--from", "2026-11-15", "--pin", "4829"]) == 0
    customer_id = int(capsys.readouterr().out.split()[1])
    assert main(["assignment", "add", str(customer_id), "Publiczny IP", "--from", "2026-12-01",
                 "--discount-percent", "50"]) == 0
    assignment_id = int(capsys.readouterr().out.split()[1])
    assert main(["assignment", "end", str(assignment_id), "--on", "2027-01-31"]) == 0
    rows = Assignment.select(Assignment.start, Assignment.end, Assignment.discount_percent).where(
        Assignment.customer == customer_id).order_by(Assignment.id).run_sync()
    assert rows == [{"start": date(2026, 11, 15), "end": None, "discount_percent": 0},
                    {"start": date(2026, 12, 1), "end": date(2027, 1, 31), "discount_percent": 50}]
    assert main(["assignment", "end", str(assignment_id), "--on", "2026-11-01"]) == 2
    assert "przed jej początkiem" in capsys.readouterr().err
    assert main(["assignment", "end", "999999"]) == 2
    assert main(["assignment", "add", str(customer_id), "Nie ma takiej"]) == 2
