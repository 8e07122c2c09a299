"""Jobs: all the scheduled work, as plain functions (the CLI calls the same domain code),
and the one scheduler per process that runs them. Jobs that must run once per period
claim it in the run-key store (app/runs.py); every job logs its errors and never raises,
so that the scheduler keeps running."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import billing, delivery, ksef, mail, sessions, traffic
from app.settings import Settings

log = logging.getLogger("wbok.jobs")
TIMEZONE = "Europe/Warsaw"


async def prune_sessions(idle_minutes: int) -> int:
    return await sessions.prune(timedelta(minutes=idle_minutes))


async def publish_traffic(retention_days: int = 90) -> None:
    """The nightly traffic publication (as `wbok traffic publish`), catching up missed nights."""
    try:
        result = await traffic.publish(retention_days=retention_days)
        log.info(result.summary())
    except traffic.TrafficError as exc:
        log.error("%s", exc)


async def monthly_job(settings: Settings) -> None:
    """Nightly at 03:00 and at start-up: bill whatever is due (a new month, a customer or
    an assignment added since the last run, a failed or killed run), then e-mail the invoices."""
    try:
        results = await billing.catch_up(billing.warsaw_today(), settings.isp)
        await delivery.deliver_pending(settings)
        for result in results:
            result.mails = await delivery.invoice_mail_counts(result.period)
            (log.warning if result.errors or result.mails_failed else log.info)(result.summary())
    except Exception:
        log.exception("monthly billing failed")


async def retry_job(settings: Settings) -> None:
    """Every 15 minutes: send invoices and reminders that are due (retries wait out their
    backoff, app/mail.py)."""
    try:
        await delivery.deliver_pending(settings)
    except Exception:
        log.exception("delivery retry failed")


async def reminders_job(settings: Settings) -> None:
    """Nightly: payment reminders (one per customer per month)."""
    try:
        await delivery.send_reminders(settings, billing.warsaw_today())
    except Exception:
        log.exception("reminders failed")


async def mail_job(settings: Settings, batch: int = 500, seconds: float = 50) -> None:
    """Every minute: send the outbox's due e-mails (new ones, and retries with backoff),
    batch after batch while there are more, for at most `seconds` (the next run goes on)."""
    import time

    try:
        deadline = time.monotonic() + seconds
        while True:
            result = await mail.deliver_outbox(settings, limit=batch)
            if result.sent + result.failed < batch or time.monotonic() > deadline:
                break
    except Exception:
        log.exception("mail outbox failed")


async def ksef_job(settings: Settings) -> None:
    """Every 5 minutes and at start-up: build the FA(3) XML of new invoices and send what is
    due to KSeF (documents lease their rows, so several processes never send one twice)."""
    if settings.ksef_mode == "off":
        return
    try:
        result = await ksef.send_pending(settings)
        if result.sent or result.accepted or result.rejected or result.error:
            log.info(result.summary())
    except Exception:
        log.exception("KSeF sending failed")


def add_billing_jobs(scheduler: AsyncIOScheduler, settings: Settings) -> None:
    """The billing jobs; the nightly one and the reminders also run now, to catch up after
    downtime (both are idempotent: an assignment is billed once a month, a customer reminded
    once a month)."""
    scheduler.add_job(monthly_job, "cron", hour=3, minute=0, args=[settings],
                      id="billing", next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(retry_job, "interval", minutes=15, args=[settings], id="billing_retry")
    scheduler.add_job(reminders_job, "cron", hour=4, minute=30, args=[settings], id="reminders")
    scheduler.add_job(reminders_job, "date", args=[settings], id="reminders_catch_up")


def start_scheduler(settings: Settings) -> AsyncIOScheduler:
    """One scheduler per process; jobs that must run once per period claim it first."""
    scheduler = AsyncIOScheduler(
        timezone=TIMEZONE,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    scheduler.add_job(prune_sessions, "interval", minutes=15, args=[settings.session_idle_minutes],
                      id="prune_sessions")
    add_billing_jobs(scheduler, settings)
    scheduler.add_job(mail_job, "interval", minutes=1, args=[settings], id="mail_outbox")
    scheduler.add_job(ksef_job, "interval", minutes=5, args=[settings], id="ksef_send",
                      next_run_time=datetime.now(timezone.utc) + timedelta(seconds=30))
    # 02:30 Warsaw; on the spring DST night APScheduler fires at 03:30, on the autumn one twice
    # (the second run finds the night claimed). The one-off run catches up after downtime.
    scheduler.add_job(publish_traffic, "cron", hour=2, minute=30, id="traffic_publish",
                      args=[settings.traffic_retention_days])
    scheduler.add_job(publish_traffic, "date", id="traffic_catch_up", args=[settings.traffic_retention_days])
    scheduler.start()
    return scheduler
