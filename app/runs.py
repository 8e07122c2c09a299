"""Runs: the one run-key store that makes a job run once per period (billing months,
traffic nights), across reruns and processes.

The protocol: `claim` inserts the unique key "<job>:<period>" (one atomic statement: a
second claimant inserts nothing), the work runs, then `finish` or `fail` records the end.
A claim made outside a transaction carries a lease (`lease_until`) that the live run keeps
pushing forward with `renew` (or `heartbeat`); when its process dies the lease runs out
within LEASE and a new `claim(..., retake=True)` takes the run over. A claim made inside
the work's own transaction needs no lease: a crash rolls the claim back with the work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

from app.tables.jobs import JobRun

log = logging.getLogger("wbok.runs")
LEASE = timedelta(minutes=1)  # a dead run's claim is free again after this


def key(job: str, period: str) -> str:
    return f"{job}:{period}"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


async def claim(job: str, period: str, *, lease: timedelta | None = None, retake: bool = False,
                again: bool = False, now: datetime | None = None) -> bool:
    """Claim the run of `job` for `period`; False when another claim holds it or it is done.
    With `lease`, the claim expires at now + lease unless renewed. With `retake`, a failed
    run, or a running one whose lease ran out (its process died), is taken over; a done
    run never is. Each step is one conditional statement, never a read then a write."""
    now = _now(now)
    until = now + lease if lease else None
    inserted = await JobRun.insert(
        JobRun(key=key(job, period), job=job, period=period, status="running", started_at=now,
               lease_until=until)
    ).on_conflict(action="DO NOTHING").returning(JobRun.id)
    if inserted or not retake:
        return bool(inserted)
    taken = await JobRun.update({
        JobRun.status: "running", JobRun.detail: "", JobRun.rows: 0, JobRun.started_at: now,
        JobRun.finished_at: None, JobRun.lease_until: until,
    }).where(
        (JobRun.key == key(job, period))
        & ((JobRun.status == "failed") | (JobRun.status == ("done" if again else "failed"))
           | ((JobRun.status == "running") & JobRun.lease_until.is_not_null() & (JobRun.lease_until < now)))
    ).returning(JobRun.id)
    return bool(taken)


async def renew(job: str, period: str, lease: timedelta = LEASE, now: datetime | None = None) -> bool:
    """Push a running claim's lease to now + lease; False when the run is no longer running."""
    renewed = await JobRun.update({JobRun.lease_until: _now(now) + lease}).where(
        (JobRun.key == key(job, period)) & (JobRun.status == "running")).returning(JobRun.id)
    return bool(renewed)


@contextlib.asynccontextmanager
async def heartbeat(job: str, period: str, lease: timedelta = LEASE) -> AsyncIterator[None]:
    """Renew the claim every third of its lease while the block runs. Enter it outside any
    transaction: the renewals use connections of their own."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await renew(job, period, lease)
            except Exception as exc:  # a busy database: the next beat tries again
                log.warning("renewing %s failed: %s", key(job, period), exc)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def finish(job: str, period: str, rows: int = 0) -> None:
    """The run is done: it is never claimed again."""
    await JobRun.update({
        JobRun.status: "done", JobRun.rows: rows, JobRun.detail: "", JobRun.lease_until: None,
        JobRun.finished_at: datetime.now(timezone.utc),
    }).where(JobRun.key == key(job, period))


async def fail(job: str, period: str, error: str, rows: int = 0) -> None:
    """Record a failed run (creating its row if the claim was rolled back with the work);
    a done run stays done. The next `claim(..., retake=True)` tries the period again."""
    detail, at = error[:2000], datetime.now(timezone.utc)
    await JobRun.insert(JobRun(key=key(job, period), job=job, period=period, status="failed",
                               rows=rows, detail=detail, finished_at=at)
                        ).on_conflict(action="DO NOTHING")
    await JobRun.update({
        JobRun.status: "failed", JobRun.rows: rows, JobRun.detail: detail, JobRun.lease_until: None,
        JobRun.finished_at: at,
    }).where((JobRun.key == key(job, period)) & (JobRun.status != "done"))


async def recent(job: str | None = None, limit: int | None = 20, by_period: bool = False) -> list[dict]:
    """The newest runs (of `job`), by start time or, with `by_period`, by period."""
    query = JobRun.select()
    if job:
        query = query.where(JobRun.job == job)
    query = query.order_by(JobRun.period if by_period else JobRun.started_at, ascending=False)
    return await (query.limit(limit) if limit else query)
