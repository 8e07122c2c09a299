"""Traffic: collector ingestion, the nightly publication and what the Statystyki tab reads.

Times: samples are stamped in UTC and aggregated by UTC hour; a day is a Warsaw calendar
day, so it is 23 hours long on the spring DST night and 25 on the autumn one. The night
for day D publishes everything stamped before D+1 00:00 Warsaw time (the cut-off)."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from app import db, runs
from app.i18n import WARSAW
from app.tables.customers import Device
from app.tables.traffic import TrafficPublication, TrafficPublished, TrafficSample

log = logging.getLogger("wbok.traffic")
JOB = "traffic"
PERIODS = ("hour", "day", "month", "year", "all")
DEFAULT_PERIOD = "month"
MAX_BYTES = 2**62  # far above any 5-minute counter; keeps sums inside BigInt
CHUNK = 2000


class TrafficError(ValueError):
    """Input or a state the publication or ingestion refuses; the message is for people."""


# --- ingestion -------------------------------------------------------------------------

@dataclass(frozen=True)
class BadLine:
    number: int
    text: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    rows: list[tuple[str, int, int]]  # (ip, upload, download)
    bad: list[BadLine]


@dataclass(frozen=True)
class IngestResult:
    at: datetime
    stored: int
    bad: list[BadLine]
    unknown: int
    unknown_ips: list[str] = field(default_factory=list)  # the first few, for the report

    def summary(self) -> str:
        return (f"traffic ingest: {self.stored} stored, {len(self.bad)} bad lines, "
                f"{self.unknown} unknown IPs at {self.at.isoformat()}")


def parse(text: str) -> Parsed:
    """The LMS collector format: one `IP upload download` line per address, bytes.
    Blank lines and `#` comments are ignored; bad lines are reported and skipped."""
    rows: list[tuple[str, int, int]] = []
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split()
        if len(parts) != 3:
            bad.append(BadLine(number, stripped[:80], "expected: IP upload download"))
            continue
        try:
            ip = str(ipaddress.ip_address(parts[0]))
        except ValueError:
            bad.append(BadLine(number, stripped[:80], "invalid IP address"))
            continue
        if not (parts[1].isdigit() and parts[2].isdigit()) or max(int(parts[1]), int(parts[2])) > MAX_BYTES:
            bad.append(BadLine(number, stripped[:80], "byte counts must be whole numbers ≥ 0"))
            continue
        rows.append((ip, int(parts[1]), int(parts[2])))
    return Parsed(rows, bad)


def sample_time(at: datetime | None = None) -> datetime:
    """UTC, whole seconds; a naive time is Warsaw local time."""
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=WARSAW)
    return at.astimezone(timezone.utc).replace(microsecond=0)


async def ingest(text: str, at: datetime | None = None) -> IngestResult:
    """Store one collector payload stamped `at`, in one transaction. Samples for a period
    that is already published are refused: they could never be aggregated."""
    at = sample_time(at)
    parsed = parse(text)
    async with db.transaction():
        if not db.is_sqlite():
            # Waits for a running publication, so the stamp read below is the one it wrote.
            await TrafficSample.raw("LOCK TABLE traffic_sample IN ROW EXCLUSIVE MODE")
        stamp = await publication()
        if stamp and at < stamp["cutoff"]:
            raise TrafficError(f"data up to {stamp['cutoff'].isoformat()} is already published; "
                               f"samples at {at.isoformat()} are refused")
        devices = {d["ip"]: (d["customer"], d["id"]) for d in
                   await Device.select(Device.id, Device.ip, Device.customer)}
        known, unknown = [], []
        for ip, upload, download in parsed.rows:
            if ip in devices:
                customer, device = devices[ip]
                known.append((customer, device, at, upload, download))
            else:
                unknown.append(ip)
        await _bulk_insert("traffic_sample", ("customer", "device", "at", "upload", "download"), known)
    return IngestResult(at, len(known), parsed.bad, len(unknown), unknown[:10])


async def _bulk_insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """executemany on the current transaction's connection: one prepared statement,
    no per-row objects (10,000 rows in well under a second on either engine)."""
    if not rows:
        return
    connection = db.db().current_transaction.get().connection
    names = ", ".join(columns)
    if db.is_sqlite():
        marks = ", ".join("?" for _ in columns)
        for i in range(0, len(rows), CHUNK * 10):
            await connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                         rows[i:i + CHUNK * 10])
    else:
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))


# --- publication -----------------------------------------------------------------------

def warsaw_midnight(day: date) -> datetime:
    """The UTC instant at which the Warsaw day `day` starts."""
    return datetime.combine(day, time(0), tzinfo=WARSAW).astimezone(timezone.utc)


def local_hour(moment: datetime) -> int:
    return moment.astimezone(WARSAW).hour


def warsaw_today(now: datetime) -> date:
    return now.astimezone(WARSAW).date()


@dataclass
class PublishResult:
    days: list[date] = field(default_factory=list)  # nights this call published
    rows: int = 0  # samples aggregated
    pruned: int = 0
    skipped: list[date] = field(default_factory=list)  # claimed by another run
    last_day: date | None = None  # the newest published day afterwards

    def summary(self) -> str:
        if not self.days:
            upto = self.last_day.isoformat() if self.last_day else "never"
            return f"traffic publish: nothing to publish (published up to {upto})"
        return (f"traffic publish: {len(self.days)} night(s) {self.days[0]}..{self.days[-1]}, "
                f"{self.rows} samples, {self.pruned} pruned")


async def publication() -> dict | None:
    """The stamp: {day, cutoff, published_at} of the last publication, or None."""
    return await TrafficPublication.select().first()


async def pending_days(until: date) -> list[date]:
    """Nights not yet published up to `until`: after the last published day, or from the
    first sample's day when nothing was ever published."""
    stamp = await publication()
    if stamp:
        start = stamp["day"] + timedelta(days=1)
    else:
        first = await TrafficSample.select(TrafficSample.at).order_by(TrafficSample.at).first()
        start = min(warsaw_today(first["at"]), until) if first else until
    return [start + timedelta(days=i) for i in range((until - start).days + 1)]


async def publish(until: date | None = None, now: datetime | None = None,
                  retention_days: int = 90, progress=None) -> PublishResult:
    """Publish every night up to `until` (default: yesterday in Warsaw), oldest first, each
    in its own transaction claimed by the run key "traffic:<day>": a rerun or a second
    process does nothing, and nights missed during downtime are caught up. Then prune raw
    samples older than `retention_days` that are already aggregated."""
    now = now or datetime.now(timezone.utc)
    yesterday = warsaw_today(now) - timedelta(days=1)
    until = until or yesterday
    if until > yesterday:
        raise TrafficError(f"day {until} is not over yet in Warsaw; the newest you can publish is {yesterday}")
    result = PublishResult()
    days = await pending_days(until)
    for day in days:
        rows = await publish_day(day, now)
        if rows is None:
            result.skipped.append(day)
        else:
            result.days.append(day)
            result.rows += rows
        if progress:
            progress()
    result.pruned = await prune(now - timedelta(days=retention_days))
    stamp = await publication()
    result.last_day = stamp["day"] if stamp else None
    return result


async def publish_day(day: date, now: datetime) -> int | None:
    """Aggregate the Warsaw day `day` and rebuild the published totals, in one transaction
    that also holds the claim: a crash leaves no claim behind, a failure is recorded.
    Returns the number of samples aggregated, None when the night was claimed already."""
    start, cutoff = warsaw_midnight(day), warsaw_midnight(day + timedelta(days=1))
    try:
        async with db.transaction():
            # No lease: the claim commits or rolls back with the night's aggregates.
            if not await runs.claim(JOB, day.isoformat(), retake=True):
                return None
            if not db.is_sqlite():
                await TrafficSample.raw("LOCK TABLE traffic_sample IN SHARE ROW EXCLUSIVE MODE")
            rows = await _aggregate(day, start, cutoff)
            await _rebuild_published(day, cutoff)
            await TrafficPublication.delete(force=True)
            await TrafficPublication.insert(TrafficPublication(day=day, cutoff=cutoff, published_at=now))
            await runs.finish(JOB, day.isoformat(), rows)
            return rows
    except Exception as exc:
        log.exception("traffic publication for %s failed", day)
        await runs.fail(JOB, day.isoformat(), f"{type(exc).__name__}: {exc}")
        raise TrafficError(f"publication of {day} failed: {exc}") from exc


async def _aggregate(day: date, start: datetime, cutoff: datetime) -> int:
    """Samples → hourly → daily for one Warsaw day, set-based. One statement per UTC hour
    (23, 24 or 25 of them): the same SQL on both engines, and each sort stays small."""
    count = await TrafficSample.raw(
        "SELECT COUNT(*) AS n FROM traffic_sample WHERE at >= {} AND at < {}", start, cutoff)
    hour = start
    while hour < cutoff:
        await TrafficSample.raw(
            "INSERT INTO traffic_hourly (customer, device, hour, upload, download) "
            "SELECT customer, device, {}, SUM(upload), SUM(download) FROM traffic_sample "
            "WHERE at >= {} AND at < {} GROUP BY customer, device", hour, hour, hour + timedelta(hours=1))
        hour += timedelta(hours=1)
    await TrafficSample.raw(
        "INSERT INTO traffic_daily (customer, device, day, upload, download) "
        "SELECT customer, device, {}, SUM(upload), SUM(download) FROM traffic_hourly "
        "WHERE hour >= {} AND hour < {} GROUP BY customer, device", day, start, cutoff)
    if not db.is_sqlite():
        # Rows inserted in this transaction have no statistics yet; without them the
        # planner guesses tiny tables and picks nested loops.
        await TrafficSample.raw("ANALYZE traffic_hourly, traffic_daily")
    return count[0]["n"]


async def _rebuild_published(day: date, cutoff: datetime, full: bool = False) -> None:
    """The totals per customer, device and period as of `cutoff`, then one total row per
    customer and period (device NULL) that also counts removed devices. Run before the
    stamp moves: when the stamp is the day before, "all" is the previous "all" plus this
    day, instead of a sort of the whole daily history (6 s a year at 10,000 devices)."""
    raw = TrafficSample.raw
    cols = "INSERT INTO traffic_published (customer, device, period, since, upload, download) "
    stamp = await publication()
    await raw("DELETE FROM traffic_published WHERE period <> 'all' OR device IS NULL")
    if not full and stamp and stamp["day"] == day - timedelta(days=1):
        await raw(cols + "SELECT customer, device, 'next', MIN(since), SUM(upload), SUM(download) FROM ("
                  "SELECT customer, device, since, upload, download FROM traffic_published "
                  "WHERE period = 'all' UNION ALL SELECT customer, device, day, upload, download FROM traffic_daily "
                  "WHERE day = {}) AS t GROUP BY customer, device", day)
        await raw("DELETE FROM traffic_published WHERE period = 'all'")
        await raw("UPDATE traffic_published SET period = 'all'")
    else:
        # "All" runs from the device's first day with data (the total row takes the
        # customer's MIN), not from 1970. Nights are published in order: no later day exists.
        await raw("DELETE FROM traffic_published")
        await raw(cols + "SELECT customer, device, 'all', MIN(day), SUM(upload), SUM(download) "
                  "FROM traffic_daily GROUP BY customer, device")
    await raw(cols + "SELECT customer, device, 'hour', NULL, SUM(upload), SUM(download) "
              "FROM traffic_hourly WHERE hour = {} GROUP BY customer, device",
              cutoff - timedelta(hours=1))
    for period, days in (("day", 1), ("month", 30), ("year", 365)):
        since = day - timedelta(days=days - 1)
        await raw(cols + f"SELECT customer, device, '{period}', {{}}, SUM(upload), SUM(download) "
                  "FROM traffic_daily WHERE day >= {} AND day <= {} GROUP BY customer, device",
                  since, since, day)
    await raw(cols + "SELECT customer, NULL, period, MIN(since), SUM(upload), SUM(download) "
              "FROM traffic_published WHERE device IS NOT NULL GROUP BY customer, period")


async def import_aggregates(hourly: list[tuple], daily: list[tuple], day: date, now: datetime) -> None:
    """Store ready-made aggregates up to the Warsaw day `day` and publish them, as night
    `day` (demo data; history carried over from another system). Rows are
    (customer, device, hour or day, upload, download)."""
    cutoff = warsaw_midnight(day + timedelta(days=1))
    async with db.transaction():
        columns = ("customer", "device", "hour", "upload", "download")
        await _bulk_insert("traffic_hourly", columns, hourly)
        await _bulk_insert("traffic_daily", columns[:2] + ("day",) + columns[3:], daily)
        await _rebuild_published(day, cutoff, full=True)
        await TrafficPublication.delete(force=True)
        await TrafficPublication.insert(TrafficPublication(day=day, cutoff=cutoff, published_at=now))
        if await runs.claim(JOB, day.isoformat()):
            await runs.finish(JOB, day.isoformat(), 0)


async def prune(older_than: datetime) -> int:
    """Delete raw samples (and hourly rows) older than `older_than`, but never any that
    the last publication has not aggregated yet. Returns the samples deleted."""
    stamp = await publication()
    if stamp is None:
        return 0
    limit = min(older_than, stamp["cutoff"])
    async with db.transaction():
        count = await TrafficSample.raw(
            "SELECT COUNT(*) AS n FROM traffic_sample WHERE at < {}", limit)
        await TrafficSample.raw("DELETE FROM traffic_sample WHERE at < {}", limit)
        await TrafficSample.raw("DELETE FROM traffic_hourly WHERE hour < {}", limit)
    return count[0]["n"]


async def recent_runs(limit: int = 30) -> list[dict]:
    return await runs.recent(JOB, limit)


# --- the Statystyki tab ----------------------------------------------------------------

@dataclass(frozen=True)
class Amount:
    bytes: int
    kbit_s: float  # average over the period


@dataclass(frozen=True)
class StatsRow:
    name: str
    download: Amount
    upload: Amount
    down_pct: int  # bar length, 0..100, scaled to the largest value in the table
    up_pct: int


@dataclass(frozen=True)
class Stats:
    period: str
    devices: list[StatsRow]
    total: StatsRow | None
    published_at: datetime | None
    day: date | None  # the last published day
    since: datetime | None  # the period shown: [since, until)
    until: datetime | None = None


async def stats_data(customer_id: int, period: str) -> Stats:
    """What the customer's Statystyki tab shows for `period`: their own devices only."""
    period = period if period in PERIODS else DEFAULT_PERIOD
    stamp = await publication()
    if stamp is None:
        return Stats(period, [], None, None, None, None)
    rows = await TrafficPublished.select().where(
        (TrafficPublished.customer == customer_id) & (TrafficPublished.period == period))
    names = {d["id"]: d["name"] for d in await Device.select(Device.id, Device.name).where(
        Device.customer == customer_id).order_by(Device.name)}
    by_device = {r["device"]: r for r in rows}
    total = by_device.get(None)
    cutoff = stamp["cutoff"]
    if period == "hour":
        start = cutoff - timedelta(hours=1)
    elif total and total["since"]:
        start = warsaw_midnight(total["since"])
    else:
        start = warsaw_midnight(stamp["day"] - timedelta(days={"day": 0, "month": 29, "year": 364}.get(period, 0)))
    seconds = max((cutoff - start).total_seconds(), 1)
    items = [(name, by_device.get(device_id)) for device_id, name in names.items()]
    peak = max([max(total["download"], total["upload"])] if total else [0]) or 1

    def row(name: str, r: dict | None) -> StatsRow:
        down, up = (r["download"], r["upload"]) if r else (0, 0)
        return StatsRow(name, Amount(down, down * 8 / 1000 / seconds), Amount(up, up * 8 / 1000 / seconds),
                        round(100 * down / peak), round(100 * up / peak))

    return Stats(period, [row(n, r) for n, r in items], row("", total), stamp["published_at"],
                 stamp["day"], start, cutoff)


def format_bytes(n: int) -> str:
    """1024-based, Polish decimal comma: `512 B`, `1,5 KiB`, `12,3 MiB`, `4,07 GiB`."""
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "B":
        return f"{n}\u00a0B"
    text = f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return _group(text.replace(".", ",")) + f"\u00a0{unit}"


def format_rate(kbit_s: float) -> str:
    """`12,3 kbit/s`, thousands separated by a (non-breaking) space."""
    return _group(f"{kbit_s:.1f}".replace(".", ",")) + "\u00a0kbit/s"


def _group(text: str) -> str:
    whole, _, frac = text.partition(",")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return "\u00a0".join(groups) + ("," + frac if frac else "")
