"""Traffic: parsing and ingestion, the nightly publication (hours, days, months, DST nights),
idempotency under concurrency, catch-up and pruning."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import traffic
from app.tables.jobs import JobRun
from app.tables.traffic import TrafficDaily, TrafficHourly, TrafficPublished, TrafficSample
from tests import factories

pytestmark = pytest.mark.anyio
UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[1]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def published(customer_id: int) -> dict:
    """{(period, device): (download, upload)} as the tab reads them."""
    rows = await TrafficPublished.select().where(TrafficPublished.customer == customer_id)
    return {(r["period"], r["device"]): (r["download"], r["upload"]) for r in rows}


async def daily() -> dict:
    return {(r["device"], r["day"]): (r["download"], r["upload"]) for r in await TrafficDaily.select()}


@pytest.fixture
async def home():
    """A customer with two devices."""
    who = await factories.customer(ip="10.0.0.1")
    laptop = await factories.device(who.id, "10.0.0.2", "Laptop")
    router = (await traffic.Device.select(traffic.Device.id).where(traffic.Device.ip == "10.0.0.1"))[0]["id"]
    return who, router, laptop


def test_parse_reports_bad_lines_with_numbers():
    parsed = traffic.parse("# LMS collector\n10.0.0.1 100 200\n\n10.0.0.2 1\nfoo 1 2\n10.0.0.3 -5 2\n"
                           "10.0.0.4 1.5 2\n2001:db8::1 7 8\n10.0.0.5 3 4 extra\n")
    assert parsed.rows == [("10.0.0.1", 100, 200), ("2001:db8::1", 7, 8)]
    assert [b.number for b in parsed.bad] == [4, 5, 6, 7, 9]
    assert parsed.bad[1].reason == "invalid IP address"


async def test_ingest_stores_known_counts_unknown_skips_bad(home):
    who, router, laptop = home
    result = await traffic.ingest("10.0.0.1 100 2000\n10.9.9.9 5 5\n10.0.0.2 7 70\nxx\n10.8.8.8 1 1\n",
                                  utc(2026, 11, 20, 12, 0, 31, 500))
    assert (result.stored, result.unknown, [b.number for b in result.bad]) == (2, 2, [4])
    assert result.unknown_ips == ["10.9.9.9", "10.8.8.8"]
    rows = await TrafficSample.select().order_by(TrafficSample.device)
    assert [(r["customer"], r["device"], r["upload"], r["download"], r["at"]) for r in rows] == [
        (who.id, router, 100, 2000, utc(2026, 11, 20, 12, 0, 31)),
        (who.id, laptop, 7, 70, utc(2026, 11, 20, 12, 0, 31))]


async def test_ingest_naive_time_is_warsaw_and_published_period_is_refused(home):
    result = await traffic.ingest("10.0.0.1 1 1\n", datetime(2026, 7, 1, 12, 0))
    assert result.at == utc(2026, 7, 1, 10, 0)
    await traffic.publish(now=utc(2026, 7, 3, 1, 0))
    with pytest.raises(traffic.TrafficError):
        await traffic.ingest("10.0.0.1 1 1\n", utc(2026, 7, 2, 21, 59))
    assert await TrafficSample.count() == 1


async def test_aggregation_across_hour_day_and_month_boundaries(home):
    who, router, laptop = home
    # Warsaw is UTC+1 in November: 22:55 UTC on 31 Oct is 23:55 local, 23:05 UTC is 00:05 on 1 Nov.
    samples = [(utc(2026, 10, 31, 21, 59), "10.0.0.1 1 10"), (utc(2026, 10, 31, 22, 0), "10.0.0.1 2 20"),
               (utc(2026, 10, 31, 22, 55), "10.0.0.1 4 40\n10.0.0.2 8 80"),
               (utc(2026, 10, 31, 23, 5), "10.0.0.1 16 160"), (utc(2026, 11, 1, 22, 30), "10.0.0.2 32 320"),
               (utc(2026, 11, 1, 23, 0), "10.0.0.1 64 640")]  # this one is 2 Nov local
    for at, text in samples:
        await traffic.ingest(text, at)
    result = await traffic.publish(now=utc(2026, 11, 2, 2, 0))
    assert result.days == [date(2026, 10, 31), date(2026, 11, 1)] and result.rows == 6
    hourly = {(r["device"], r["hour"]): r["download"] for r in await TrafficHourly.select()}
    assert hourly == {(router, utc(2026, 10, 31, 21)): 10, (router, utc(2026, 10, 31, 22)): 60,
                      (laptop, utc(2026, 10, 31, 22)): 80, (router, utc(2026, 10, 31, 23)): 160,
                      (laptop, utc(2026, 11, 1, 22)): 320}
    assert await daily() == {(router, date(2026, 10, 31)): (70, 7), (laptop, date(2026, 10, 31)): (80, 8),
                             (router, date(2026, 11, 1)): (160, 16), (laptop, date(2026, 11, 1)): (320, 32)}
    totals = await published(who.id)
    assert totals[("hour", laptop)] == (320, 32) and ("hour", router) not in totals
    assert totals[("hour", None)] == (320, 32)
    assert totals[("day", None)] == (480, 48)
    for period in ("month", "year", "all"):
        assert totals[(period, router)] == (230, 23) and totals[(period, laptop)] == (400, 40)
        assert totals[(period, None)] == (630, 63)
    # The 2 Nov sample waits for its own night.
    assert await TrafficSample.count().where(TrafficSample.at >= utc(2026, 11, 1, 23)) == 1


async def test_month_is_thirty_days_and_all_is_the_customers_own_span(home):
    who, router, _ = home
    for at in (utc(2026, 9, 1, 10), utc(2026, 10, 2, 10), utc(2026, 10, 3, 10), utc(2026, 11, 1, 10)):
        await traffic.ingest("10.0.0.1 1 1000", at)
    await traffic.publish(now=utc(2026, 11, 2, 2, 0))
    totals = await published(who.id)
    # 30 days up to 1 Nov start on 3 Oct.
    assert totals[("month", None)] == (2000, 2) and totals[("year", None)] == (4000, 4)
    stats = await traffic.stats_data(who.id, "all")
    assert stats.since == traffic.warsaw_midnight(date(2026, 9, 1))
    seconds = (traffic.warsaw_midnight(date(2026, 11, 2)) - stats.since).total_seconds()
    assert stats.total.download.kbit_s == pytest.approx(4000 * 8 / 1000 / seconds)
    month = await traffic.stats_data(who.id, "month")
    assert month.since == traffic.warsaw_midnight(date(2026, 10, 3))


@pytest.mark.parametrize("day, hours", [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
async def test_dst_nights_have_23_and_25_hours(home, day, hours):
    who, router, _ = home
    start, end = traffic.warsaw_midnight(day), traffic.warsaw_midnight(day + timedelta(days=1))
    assert (end - start) == timedelta(hours=hours)
    at = start - timedelta(minutes=30)  # the evening before: not this day
    while at < end + timedelta(hours=1):
        await traffic.ingest("10.0.0.1 1 100", at)
        at += timedelta(minutes=30)
    await traffic.publish(day, now=end + timedelta(hours=3))
    days = await daily()
    assert days[(router, day)] == (hours * 2 * 100, hours * 2)
    assert days[(router, day - timedelta(days=1))] == (100, 1)
    assert await TrafficHourly.count().where(TrafficHourly.hour >= start) == hours
    stats = await traffic.stats_data(who.id, "day")
    assert stats.total.download.kbit_s == pytest.approx(hours * 2 * 100 * 8 / 1000 / (hours * 3600))
    last_hour = await traffic.stats_data(who.id, "hour")
    assert last_hour.total.download.bytes == 200


async def test_publish_twice_and_concurrently_gives_the_same_result(home):
    who, *_ = home
    for hour in range(0, 48, 5):
        await traffic.ingest("10.0.0.1 3 30\n10.0.0.2 1 10", utc(2026, 11, 20, 0) + timedelta(hours=hour))
    now = utc(2026, 11, 22, 6)
    first, second = await asyncio.gather(traffic.publish(now=now), traffic.publish(now=now))
    assert not set(first.days) & set(second.days)
    assert sorted(first.days + second.days) == [date(2026, 11, 20), date(2026, 11, 21)]
    before = await published(who.id), await daily()
    again = await traffic.publish(now=now)
    assert again.days == [] and (await published(who.id), await daily()) == before
    assert before[0][("all", None)] == (400, 40)
    runs = await JobRun.select(JobRun.period, JobRun.status).where(JobRun.job == "traffic")
    assert sorted((r["period"], r["status"]) for r in runs) == [("2026-11-20", "done"), ("2026-11-21", "done")]


async def test_two_processes_publish_once(home):
    who, *_ = home
    yesterday = traffic.warsaw_today(datetime.now(UTC)) - timedelta(days=1)
    at = traffic.warsaw_midnight(yesterday) + timedelta(hours=12)
    await traffic.ingest("10.0.0.1 5 50\n10.0.0.2 6 60", at)
    command = [sys.executable, "-m", "app.cli", "traffic", "publish", "--date", yesterday.isoformat()]
    procs = [subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    summaries = sorted(out.strip() for out, _ in outputs)
    assert summaries[0].startswith("traffic publish: 1 night(s)") or summaries[1].startswith("traffic publish: 1 night(s)")
    assert any("nothing to publish" in s for s in summaries), summaries
    assert (await published(who.id))[("day", None)] == (110, 11)
    assert await JobRun.count().where(JobRun.job == "traffic") == 1


async def test_catch_up_after_three_missed_nights(home):
    who, router, _ = home
    await traffic.ingest("10.0.0.1 1 1", utc(2026, 11, 10, 12))
    await traffic.publish(now=utc(2026, 11, 11, 1, 30))
    for day in (11, 12, 13):
        await traffic.ingest(f"10.0.0.1 {day} {day * 10}", utc(2026, 11, day, 12))
    result = await traffic.publish(now=utc(2026, 11, 14, 8))
    assert result.days == [date(2026, 11, 11), date(2026, 11, 12), date(2026, 11, 13)] and result.rows == 3
    assert {d: v for (dev, d), v in (await daily()).items()} == {
        date(2026, 11, 10): (1, 1), date(2026, 11, 11): (110, 11), date(2026, 11, 12): (120, 12),
        date(2026, 11, 13): (130, 13)}
    assert (await traffic.publication())["day"] == date(2026, 11, 13)
    assert (await published(who.id))[("day", None)] == (130, 13)
    assert (await traffic.publish(now=utc(2026, 11, 14, 9))).days == []


async def test_prune_keeps_what_is_not_aggregated(home):
    for day in (1, 2, 3):
        await traffic.ingest("10.0.0.1 1 1", utc(2026, 11, day, 12))
    result = await traffic.publish(date(2026, 11, 2), now=utc(2026, 11, 4, 12), retention_days=0)
    assert result.pruned == 2
    left = await TrafficSample.select(TrafficSample.at)
    assert [r["at"] for r in left] == [utc(2026, 11, 3, 12)]
    assert await TrafficDaily.count() == 2  # daily aggregates stay


async def test_a_day_not_over_is_refused():
    with pytest.raises(traffic.TrafficError):
        await traffic.publish(date(2026, 11, 24), now=utc(2026, 11, 24, 12))


def test_formats():
    nbsp = "\u00a0"  # the number never wraps away from its unit
    assert traffic.format_bytes(512) == f"512{nbsp}B"
    assert traffic.format_bytes(1536) == f"1,50{nbsp}KiB"
    assert traffic.format_bytes(5 * 2**30 + 2**29) == f"5,50{nbsp}GiB"
    assert traffic.format_bytes(123 * 2**20) == f"123,0{nbsp}MiB"
    assert traffic.format_bytes(3 * 2**40) == f"3,00{nbsp}TiB"
    assert traffic.format_rate(12345.67) == f"12{nbsp}345,7{nbsp}kbit/s"


async def test_scheduler_runs_the_publication_at_2_30_warsaw_and_catches_up_on_start():
    from app import jobs
    from app.settings import Settings

    scheduler = jobs.start_scheduler(Settings(traffic_retention_days=30))
    try:
        nightly, catch_up = scheduler.get_job("traffic_publish"), scheduler.get_job("traffic_catch_up")
        assert str(nightly.trigger) == "cron[hour='2', minute='30']"
        assert str(nightly.trigger.timezone) == "Europe/Warsaw"
        assert nightly.func is jobs.publish_traffic and nightly.args == (30,)
        assert catch_up.func is jobs.publish_traffic
    finally:
        scheduler.shutdown(wait=False)


async def test_nightly_all_equals_a_full_recount(home):
    """Night by night "all" is the previous "all" plus the new day; it must equal a recount."""
    who, router, laptop = home
    await factories.device(who.id, "10.0.0.3", "Telewizor")  # joins on the third night
    for day, text in ((3, "10.0.0.1 1 10"), (4, "10.0.0.2 2 20\n10.0.0.1 4 40"), (5, "10.0.0.3 8 80")):
        await traffic.ingest(text, utc(2026, 11, day, 12))
        await traffic.publish(now=utc(2026, 11, day + 1, 2))
    nightly = await published(who.id)
    since = {r["device"]: r["since"] for r in await TrafficPublished.select().where(TrafficPublished.period == "all")}
    from app import db

    async with db.transaction():
        await traffic._rebuild_published(date(2026, 11, 5), traffic.warsaw_midnight(date(2026, 11, 6)), full=True)
    assert await published(who.id) == nightly
    assert nightly[("all", None)] == (150, 15) and nightly[("all", router)] == (50, 5)
    assert since == {r["device"]: r["since"] for r in await TrafficPublished.select().where(TrafficPublished.period == "all")}
    assert since[None] == date(2026, 11, 3) and since[laptop] == date(2026, 11, 4)
