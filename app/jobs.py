"""Scheduled work as plain functions (the CLI calls them too), and the scheduler that runs them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import sessions
from app.settings import Settings
from app.tables.jobs import JobRun

log = logging.getLogger("wbok.jobs")
TIMEZONE = "Europe/Warsaw"


async def claim(job: str, period: str) -> bool:
    """Claim one run of `job` for `period`; False when it is claimed already, by this
    process or another, so a rerun or a second process does nothing."""
    inserted = await JobRun.insert(
        JobRun(key=f"{job}:{period}", job=job, period=period, status="running")
    ).on_conflict(action="DO NOTHING").returning(JobRun.id)
    return bool(inserted)


async def finish(job: str, period: str, rows: int, error: str | None = None) -> None:
    await JobRun.update({
        JobRun.status: "failed" if error else "done", JobRun.rows: rows,
        JobRun.detail: error or "", JobRun.finished_at: datetime.now(timezone.utc),
    }).where(JobRun.key == f"{job}:{period}")


async def release(job: str, period: str) -> None:
    """Drop a failed claim so that the next run tries the period again."""
    await JobRun.delete().where((JobRun.key == f"{job}:{period}") & (JobRun.status != "done"))


async def recent_runs(job: str | None = None, limit: int = 20) -> list[dict]:
    query = JobRun.select()
    if job:
        query = query.where(JobRun.job == job)
    return await query.order_by(JobRun.started_at, ascending=False).limit(limit)


async def prune_sessions(idle_minutes: int) -> int:
    return await sessions.prune(timedelta(minutes=idle_minutes))


async def publish_traffic(retention_days: int = 90) -> None:
    """The nightly traffic publication (as `wbok traffic publish`), catching up missed nights."""
    from app import traffic

    try:
        result = await traffic.publish(retention_days=retention_days)
        log.info(result.summary())
    except traffic.TrafficError as exc:
        log.error("%s", exc)


def start_scheduler(settings: Settings) -> AsyncIOScheduler:
    """One scheduler per process; jobs that must run once per period claim it first."""
    scheduler = AsyncIOScheduler(
        timezone=TIMEZONE,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    scheduler.add_job(prune_sessions, "interval", minutes=15, args=[settings.session_idle_minutes],
                      id="prune_sessions")
    from app import billing

    billing.schedule(scheduler, settings)
    add_mail_job(scheduler, settings)
    # 02:30 Warsaw; on the spring DST night APScheduler fires at 03:30, on the autumn one twice
    # (the second run finds the night claimed). The one-off run catches up after downtime.
    scheduler.add_job(publish_traffic, "cron", hour=2, minute=30, id="traffic_publish",
                      args=[settings.traffic_retention_days])
    scheduler.add_job(publish_traffic, "date", id="traffic_catch_up", args=[settings.traffic_retention_days])
    scheduler.start()
    return scheduler


def add_mail_job(scheduler: AsyncIOScheduler, settings: Settings) -> None:
    """Retry notification e-mails that failed or were not sent after their commit."""
    from app.mail import deliver_outbox

    scheduler.add_job(deliver_outbox, "interval", minutes=1, args=[settings], id="mail_outbox")
