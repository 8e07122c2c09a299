"""Runs: the run-key store (claim, lease, renew, finish, fail), and the import rule that
keeps the domain free of the scheduler."""

from __future__ import annotations

import ast
import asyncio
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import billing, runs
from app.billing import run_billing
from app.settings import ISP
from app.tables.jobs import JobRun
from app.tables.tariffs import Assignment
from tests import factories

pytestmark = pytest.mark.anyio
APP = Path(__file__).resolve().parents[1] / "app"


async def row(job: str, period: str) -> dict:
    return await JobRun.select().where(JobRun.key == runs.key(job, period)).first()


async def test_a_period_is_claimed_once_even_in_parallel():
    results = await asyncio.gather(*[runs.claim("demo", "2026-11", lease=runs.LEASE, retake=True)
                                     for _ in range(8)])
    assert results.count(True) == 1
    assert await JobRun.count().where(JobRun.job == "demo") == 1


async def test_a_dead_run_is_taken_over_after_its_lease_and_a_live_one_is_not():
    then = datetime.now(timezone.utc) - timedelta(minutes=5)
    assert await runs.claim("demo", "a", lease=runs.LEASE, now=then)  # its process died
    assert await runs.claim("demo", "b", lease=runs.LEASE, now=then)
    assert await runs.renew("demo", "b")  # this one is alive and renews
    assert not await runs.claim("demo", "a")  # no retake asked: the key is taken
    assert await runs.claim("demo", "a", lease=runs.LEASE, retake=True)
    assert not await runs.claim("demo", "b", lease=runs.LEASE, retake=True)
    assert (await row("demo", "a"))["lease_until"] > datetime.now(timezone.utc)


async def test_a_claim_held_by_a_transaction_has_no_lease_to_expire():
    assert await runs.claim("demo", "t", now=datetime.now(timezone.utc) - timedelta(days=1))
    assert (await row("demo", "t"))["lease_until"] is None
    assert not await runs.claim("demo", "t", retake=True)


async def test_done_is_final_and_failed_is_retried():
    assert await runs.claim("demo", "x", lease=runs.LEASE)
    await runs.fail("demo", "x", "RuntimeError: boom", rows=3)
    failed = await row("demo", "x")
    assert (failed["status"], failed["rows"], failed["detail"], failed["lease_until"]) == (
        "failed", 3, "RuntimeError: boom", None)
    assert not await runs.renew("demo", "x")
    assert await runs.claim("demo", "x", lease=runs.LEASE, retake=True)
    await runs.finish("demo", "x", 7)
    await runs.fail("demo", "x", "late failure")  # a done run stays done
    done = await row("demo", "x")
    assert (done["status"], done["rows"], done["detail"]) == ("done", 7, "")
    assert not await runs.claim("demo", "x", lease=runs.LEASE, retake=True)


async def test_fail_records_a_claim_that_was_rolled_back():
    await runs.fail("demo", "gone", "ValueError: no")
    assert (await row("demo", "gone"))["status"] == "failed"


async def test_heartbeat_renews_while_the_block_runs():
    assert await runs.claim("demo", "hb", lease=timedelta(seconds=0.3))
    first = (await row("demo", "hb"))["lease_until"]
    async with runs.heartbeat("demo", "hb", lease=timedelta(seconds=0.3)):
        await asyncio.sleep(0.5)
    assert (await row("demo", "hb"))["lease_until"] > first


async def test_recent_newest_first():
    for period in ("2026-09", "2026-11", "2026-10"):
        await runs.claim("demo", period)
    assert [r["period"] for r in await runs.recent("demo", by_period=True)] == ["2026-11", "2026-10", "2026-09"]
    assert [r["period"] for r in await runs.recent("demo", limit=2, by_period=True)] == ["2026-11", "2026-10"]


async def test_a_billing_run_whose_process_died_is_resumed_once_its_lease_ran_out():
    customer = await factories.customer()
    await Assignment.insert(Assignment(customer=customer.id, tariff=await factories.tariff(),
                                       start=date(2026, 1, 1)))
    # A run that claimed November a minute and a half ago and then died, renewing nothing.
    died = datetime.now(timezone.utc) - runs.LEASE - timedelta(seconds=30)
    assert await runs.claim(billing.JOB, "2026-11", lease=runs.LEASE, now=died)
    result = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert (result.skipped, result.invoices) == (False, 1)
    assert (await row(billing.JOB, "2026-11"))["status"] == "done"


async def test_a_live_billing_claim_does_not_hold_up_billing():
    """Billing is guarded by its per-assignment markers, not by the run key: a run that
    still holds a live lease (or was killed a second ago) does not stop the next one,
    which bills at once and leaves the record to the holder."""
    customer = await factories.customer()
    await Assignment.insert(Assignment(customer=customer.id, tariff=await factories.tariff(),
                                       start=date(2026, 1, 1)))
    assert await runs.claim(billing.JOB, "2026-11", lease=runs.LEASE)
    result = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert (result.concurrent, result.invoices) == (True, 1)
    assert (await row(billing.JOB, "2026-11"))["status"] == "running"
    again = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert (again.invoices, again.skipped) == (0, 1)


def _imports() -> dict[str, set[str]]:
    """Every app module and the app modules it imports (at the top or in a function)."""
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        if "piccolo_migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(APP.parent).with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("app")}
        graph[name] = found
    return {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}


def test_no_import_cycle_and_the_domain_never_imports_the_scheduler():
    graph = _imports()
    assert {name for name, deps in graph.items() if "app.jobs" in deps} <= {"app.main", "app.cli"}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(path[path.index(dep):] + [dep])
            if dep not in state:
                visit(dep, path + [dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


async def test_a_concurrent_billing_run_records_the_month_done_when_the_other_died(monkeypatch):
    customer = await factories.customer()
    await Assignment.insert(Assignment(customer=customer.id, tariff=await factories.tariff(),
                                       start=date(2026, 1, 1)))
    assert await runs.claim(billing.JOB, "2026-11", lease=runs.LEASE)
    real = billing.pending

    async def holder_dies_meanwhile(month):
        await JobRun.update({JobRun.lease_until: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
            JobRun.key == "billing:2026-11")
        return await real(month)

    monkeypatch.setattr(billing, "pending", holder_dies_meanwhile)
    result = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert (result.concurrent, result.invoices) == (True, 1)
    assert (await row(billing.JOB, "2026-11"))["status"] == "done"
