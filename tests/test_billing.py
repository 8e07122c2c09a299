"""Billing: proration, one invoice per customer, reruns, concurrency, crash and resume, catch-up."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from app import billing
from app.billing import BillingError, due_months, prorate, run_billing
from app.settings import ISP
from app.tables.billing import BilledAssignment, InvoiceDelivery
from app.tables.customers import Customer
from app.tables.finances import Charge, Invoice, InvoiceLine
from app.tables.jobs import JobRun
from app.tables.tariffs import Assignment
from tests import factories

pytestmark = pytest.mark.anyio
NOV = date(2026, 11, 1)


async def assign(customer_id: int, tariff_id: int, start: date, end: date | None = None, **extra) -> int:
    rows = await Assignment.insert(Assignment(customer=customer_id, tariff=tariff_id, start=start, end=end,
                                              **extra)).returning(Assignment.id)
    return rows[0]["id"]


def flaky_issuer(monkeypatch, victim: int, error: BaseException):
    """billing.issue_invoices that fails for any batch with `victim` in it."""
    real = billing.issue_invoices

    async def flaky(requests, isp):
        if any(r.customer_id == victim for r in requests):
            raise error
        return await real(requests, isp)

    monkeypatch.setattr(billing, "issue_invoices", flaky)
    return real


async def billed_customer(price=7999, start=date(2026, 1, 1), end=None, invoice_by_email=False,
                          **fields):
    c = await factories.customer(**fields)
    await Customer.update({Customer.invoice_by_email: invoice_by_email}).where(Customer.id == c.id)
    await assign(c.id, await factories.tariff(price=price), start, end)
    return c


def test_full_month_is_the_whole_price():
    assert prorate(7999, date(2026, 1, 1), None, NOV) == (7999, 30, 30)
    assert prorate(7999, date(2026, 11, 1), date(2026, 11, 30), NOV) == (7999, 30, 30)


def test_start_on_the_31st_is_one_day_of_31():
    # 79,99 × 1/31 = 2,5803… → 2,58 zł
    assert prorate(7999, date(2026, 10, 31), None, date(2026, 10, 1)) == (258, 1, 31)


def test_february_and_leap_february():
    # 2027: 28 days; 10 days = 99,99 × 10/28 = 35,7107… → 35,71
    assert prorate(9999, date(2027, 2, 19), None, date(2027, 2, 1)) == (3571, 10, 28)
    # Leap 2028: 29 days; 10 days = 99,99 × 10/29 = 34,4793… → 34,48
    assert prorate(9999, date(2028, 2, 20), None, date(2028, 2, 1)) == (3448, 10, 29)
    # A start on 29 Feb 2028 covers one day of 29.
    assert prorate(2900, date(2028, 2, 29), None, date(2028, 2, 1)) == (100, 1, 29)


def test_rounding_is_half_up_to_the_grosz():
    # 1 day of 30 from 15 gr = 0,5 gr → 1 gr (half up), 45 gr → 1,5 gr → 2 gr.
    assert prorate(15, date(2026, 11, 30), None, NOV)[0] == 1
    assert prorate(45, date(2026, 11, 30), None, NOV)[0] == 2


def test_end_mid_month_and_outside_the_month():
    assert prorate(6000, date(2025, 5, 5), date(2026, 11, 10), NOV) == (2000, 10, 30)
    assert prorate(6000, date(2026, 12, 1), None, NOV)[1] == 0
    assert prorate(6000, date(2025, 1, 1), date(2026, 10, 31), NOV)[1] == 0


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "1999-12", "2026-1", "2026-11-01",
                                  "październik", "", "12026-01"])
def test_bad_month(text):
    with pytest.raises(BillingError):
        billing.parse_month(text)


def test_month_not_in_the_future():
    assert billing.parse_month("2026-11", date(2026, 11, 30)) == NOV
    with pytest.raises(BillingError, match="jeszcze się nie zaczął"):
        billing.parse_month("2026-12", date(2026, 11, 30))


def test_discount_percent_then_amount_never_below_zero():
    assert billing.discounted(7999, 10) == 7199  # 79,99 − 7,999 (→ 8,00) = 71,99
    assert billing.discounted(7999, 0, 1000) == 6999
    assert billing.discounted(10000, 50, 1000) == 4000
    assert billing.discounted(1000, 0, 5000) == 0


async def test_one_invoice_per_customer_with_all_lines_and_proration():
    a = await billed_customer()
    # Two tariffs in one month: one ends on the 10th, the next starts on the 11th.
    b = await factories.customer()
    await assign(b.id, await factories.tariff(name="Radio 20", price=6000), date(2026, 1, 1),
                 date(2026, 11, 10))
    await assign(b.id, await factories.tariff(name="Światłowód 600", price=12000), date(2026, 11, 11))
    nobody = await factories.customer()
    await assign(nobody.id, await factories.tariff(), date(2026, 12, 1))

    result = await run_billing("2026-11", date(2026, 11, 1), ISP())

    assert (result.invoices, result.total, result.errors) == (2, 7999 + 2000 + 8000, [])
    assert result.summary() == "billing 2026-11: 2 invoices, 179,99 zł, 0 skipped, 0 failed"
    inv_b = await Invoice.select().where(Invoice.customer == b.id).first()
    lines = await InvoiceLine.select(InvoiceLine.description, InvoiceLine.gross).where(
        InvoiceLine.invoice == inv_b["id"]).order_by(InvoiceLine.position)
    assert [x["gross"] for x in lines] == [2000, 8000]
    assert "01.11–10.11, 10/30 dni" in lines[0]["description"]
    assert "Światłowód 600" in lines[1]["description"]
    assert inv_b["sale_date"] == date(2026, 11, 30) and inv_b["issue_date"] == date(2026, 11, 1)
    assert not await Invoice.exists().where(Invoice.customer == nobody.id)
    assert await Charge.count().where(Charge.customer == a.id) == 1
    run = await JobRun.select().where(JobRun.key == "billing:2026-11").first()
    assert (run["status"], run["rows"]) == ("done", 2)


async def test_rerun_and_concurrent_run_issue_nothing_twice():
    customers = [await billed_customer() for _ in range(6)]
    first, second = await asyncio.gather(run_billing("2026-11", date(2026, 11, 1), ISP()),
                                         run_billing("2026-11", date(2026, 11, 1), ISP()))
    assert first.invoices + second.invoices == 6
    again = await run_billing(NOV, date(2026, 11, 2), ISP())
    assert (again.invoices, again.skipped, again.failed) == (0, 6, 0)
    seqs = sorted(r["seq"] for r in await Invoice.select(Invoice.seq))
    assert seqs == list(range(1, 7))
    assert await BilledAssignment.count() == len(customers)


async def test_markers_stop_duplicates_even_without_the_run_key():
    """Two runs that both got past the claim (a stale takeover) still bill once."""
    [await billed_customer() for _ in range(4)]
    month = NOV
    work, _ = await billing.pending(month)
    results = await asyncio.gather(*[
        billing.bill_customer(w, month, date(2026, 11, 1), ISP(), None)
        for w in list(work.values()) * 2])
    assert sum(1 for r in results if r) == 4
    assert sorted(r["seq"] for r in await Invoice.select(Invoice.seq)) == [1, 2, 3, 4]


async def test_crash_for_one_customer_then_resume_without_gaps(monkeypatch):
    customers = [await billed_customer() for _ in range(5)]
    victim = customers[2].id
    real = flaky_issuer(monkeypatch, victim, RuntimeError("dysk pełny"))
    broken = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert broken.invoices == 4 and len(broken.errors) == 1 and "dysk pełny" in broken.errors[0]
    run = await JobRun.select().where(JobRun.key == "billing:2026-11").first()
    assert run["status"] == "failed" and "dysk pełny" in run["detail"]
    assert not await BilledAssignment.exists().where(BilledAssignment.customer == victim)

    monkeypatch.setattr(billing, "issue_invoices", real)
    resumed = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert (resumed.invoices, resumed.errors) == (1, [])
    rows = await Invoice.select(Invoice.seq, Invoice.customer).order_by(Invoice.seq)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[-1]["customer"] == victim
    assert (await JobRun.select().where(JobRun.key == "billing:2026-11").first())["status"] == "done"


async def test_a_run_that_dies_releases_nothing_twice_and_is_taken_over(monkeypatch):
    [await billed_customer() for _ in range(3)]

    async def boom(month):
        raise ConnectionError("baza nie odpowiada")

    monkeypatch.setattr(billing, "month_lines", boom)
    with pytest.raises(ConnectionError):
        await run_billing("2026-11", date(2026, 11, 1), ISP())
    run = await JobRun.select().where(JobRun.key == "billing:2026-11").first()
    assert run["status"] == "failed" and "baza nie odpowiada" in run["detail"]
    monkeypatch.undo()
    assert (await run_billing("2026-11", date(2026, 11, 1), ISP())).invoices == 3


async def test_catch_up_bills_every_missed_month():
    c = await billed_customer(start=date(2026, 1, 1))
    assert await due_months(date(2026, 9, 1)) == [date(2026, 9, 1)]
    await run_billing("2026-09", date(2026, 9, 1), ISP())
    assert await due_months(date(2026, 9, 15)) == []
    # Down from September to late November: October and November are both due.
    assert await due_months(date(2026, 11, 20)) == [date(2026, 10, 1), NOV]
    results = await billing.catch_up(date(2026, 11, 20), ISP())
    assert [r.period for r in results] == ["2026-10", "2026-11"]
    assert await Invoice.count().where(Invoice.customer == c.id) == 3
    assert await billing.catch_up(date(2026, 11, 21), ISP()) == []


async def test_future_month_is_refused():
    with pytest.raises(BillingError):
        await run_billing("2026-12", date(2026, 11, 30), ISP())


async def test_e_mail_customers_get_a_delivery_row():
    mail = await billed_customer(invoice_by_email=True)
    paper = await billed_customer(invoice_by_email=False)
    await run_billing(NOV, date(2026, 11, 1), ISP())
    rows = await InvoiceDelivery.select(InvoiceDelivery.customer, InvoiceDelivery.sent_at)
    assert [(r["customer"], r["sent_at"]) for r in rows] == [(mail.id, None)]
    assert paper.id != mail.id


async def test_billing_runs_for_admin():
    [await billed_customer(price=10000) for _ in range(2)]
    await run_billing(NOV, date(2026, 11, 1), ISP())
    [run] = await billing.billing_runs()
    assert (run["period"], run["count"], run["total"], run["errors"]) == ("2026-11", 2, 20000, [])


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


async def test_hard_crash_mid_run_rolls_back_the_open_batch_and_resumes(monkeypatch):
    customers = [await billed_customer() for _ in range(7)]
    monkeypatch.setattr(billing, "BATCH", 2)
    real = flaky_issuer(monkeypatch, customers[4].id, Crash())
    with pytest.raises(Crash):
        await run_billing("2026-11", date(2026, 11, 1), ISP())
    # Batches [0,1] and [2,3] were committed; [4,5] died open and left nothing.
    assert await BilledAssignment.count() == 4 and await Invoice.count() == 4
    monkeypatch.setattr(billing, "issue_invoices", real)
    resumed = await run_billing("2026-11", date(2026, 11, 1), ISP())
    assert resumed.invoices == 3
    assert sorted(r["seq"] for r in await Invoice.select(Invoice.seq)) == list(range(1, 8))
    assert await BilledAssignment.count() == 7


def test_cli_billing_run_prints_one_summary_line(capsys):
    from app.cli import main
    from tests.conftest import run_sync

    run_sync(billed_customer(price=10000))
    run_sync(billed_customer(price=2345))
    assert main(["billing", "run", "--month", "2026-10"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == "billing 2026-10: 2 invoices, 123,45 zł, 0 skipped, 0 failed"
    assert main(["billing", "run", "--month", "2026-10"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 invoices, 0,00 zł, 2 skipped, 0 failed")
    assert main(["billing", "run", "--month", "październik"]) == 2
    assert "RRRR-MM" in capsys.readouterr().err
    assert main(["billing", "run", "--month", "2999-01"]) == 2
    assert "nie zaczął" in capsys.readouterr().err


def test_cli_billing_errors_go_to_stderr_with_non_zero_exit(capsys, monkeypatch):
    from app.cli import main
    from tests.conftest import run_sync

    bad = run_sync(billed_customer())
    flaky_issuer(monkeypatch, bad.id, RuntimeError("brak numeru NIP"))
    with pytest.raises(SystemExit) as exit_:
        main(["billing", "run", "--month", "2026-10"])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert out.strip() == "billing 2026-10: 0 invoices, 0,00 zł, 0 skipped, 1 failed"
    assert f"klient {bad.id}: brak numeru NIP" in err


def test_scheduler_bills_nightly_at_three_warsaw_and_at_start_up():
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from app.jobs import add_billing_jobs
    from app.settings import Settings

    scheduler = AsyncIOScheduler(timezone="Europe/Warsaw")
    add_billing_jobs(scheduler, Settings())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"billing", "billing_retry", "reminders", "reminders_catch_up"}
    fields = {f.name: str(f) for f in jobs["billing"].trigger.fields}
    assert (fields["day"], fields["hour"], fields["minute"]) == ("*", "3", "0")
    assert str(jobs["billing"].trigger.timezone) == "Europe/Warsaw"
    assert jobs["billing"].next_run_time is not None  # the start-up catch-up


async def test_customer_billed_by_another_run_meanwhile_rolls_the_batch_back(monkeypatch):
    """Between listing who is due and billing them, another process billed one of them:
    its marker conflicts, the batch is undone (numbers too) and redone one by one."""
    customers = [await billed_customer() for _ in range(4)]
    work, skipped = await billing.pending(NOV)
    first = await billing.bill_customer(work[customers[1].id], NOV, date(2026, 11, 1), ISP(), None)
    assert first is not None

    async def stale(month):
        return work, skipped

    async def no_refresh(batch, month):
        return batch

    monkeypatch.setattr(billing, "pending", stale)
    monkeypatch.setattr(billing, "_refresh", no_refresh)
    result = await run_billing(NOV, date(2026, 11, 1), ISP())
    assert (result.invoices, result.errors) == (3, [])
    assert sorted(r["seq"] for r in await Invoice.select(Invoice.seq)) == [1, 2, 3, 4]
    assert await Invoice.count().where(Invoice.customer == customers[1].id) == 1


async def test_demo_months_count_as_billed_so_catch_up_bills_nothing():
    from app import billing, demo
    from app.settings import ISP

    today = date.today()
    await demo.create_demo(3, seed=1, today=today)
    assert await billing.due_months(today) == []
    results = await billing.catch_up(today, ISP())
    assert results == []
