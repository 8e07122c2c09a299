"""The scale run: WBOK workers behind nginx on PostgreSQL, a mixed load of concurrent
customers and operators, and faults injected during it. Prints one line per check with
its figure, a summary table, and exits non-zero when a check fails.

    python bench/scale.py                       # 3 workers, 200 customers, 60 s, all faults
    python bench/scale.py --short               # 30 s, 50 customers, one fault (the test suite's run)
    python bench/scale.py --workers 1 --faults none          # a baseline figure
    python bench/scale.py --idle-streams 1000   # what 1,000 idle SSE streams cost

PostgreSQL is a throwaway cluster of the run's own (initdb in a temporary directory, on
another port: it is restarted as a fault, so the shared server is never touched), nginx
runs from the shipped deploy/nginx.conf (TLS stripped, ports and paths filled in), and
`wbok serve --workers N` runs the app with the scheduler in every worker.

Faults: `kill` (kill -9 of one worker during the load: nginx retries its GETs on the
shared socket, the supervisor starts a new worker), `pg` (PostgreSQL stopped for a few
seconds and started again: errors only while it is down), `publish` (kill -9 of the worker
running the start-up traffic publication: another run finishes the night, once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pgcluster import Cluster, _free_port  # noqa: E402

PIN = "735102"  # every bench customer's PIN (one argon2 hash, computed once)
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}
TABS = ["/info", "/finances", "/messages", "/stats", "/helpdesk"]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# ---------------------------------------------------------------- setup ------------

def wbok(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"wbok {' '.join(args)}: {done.stderr.strip()}")
    return done


SETUP = r"""
import asyncio, random, sys, time
from datetime import date, timedelta
from app import db, demo, security, traffic
from app.tables.customers import Device

async def main(customers, yesterday, pin, samples):
    t0 = time.monotonic()
    await db.migrate()
    hashed = security.hash_secret(pin)

    async def same_hash(secret):  # 5,000 argon2 hashes would take minutes
        return hashed
    demo.hash_secret_async = same_hash
    make_traffic = demo.create_demo_traffic
    # 35 days of published aggregates instead of a year; published up to the day before
    # yesterday, so yesterday (raw samples below) waits for the start-up catch-up.
    demo.create_demo_traffic = lambda rng, today: make_traffic(rng, today - timedelta(days=1), days=35)
    await demo.create_demo(customers, seed=17, today=yesterday + timedelta(days=1))
    ips = [r["ip"] for r in await Device.select(Device.ip)]
    start = traffic.warsaw_midnight(yesterday)
    rng = random.Random(17)
    for n in range(samples):
        text = "".join(f"{ip} {rng.randint(1, 9) * 10**6} {rng.randint(1, 90) * 10**6}\n" for ip in ips)
        await traffic.ingest(text, start + timedelta(days=1) * n / samples + timedelta(minutes=1))
    print(len(ips) * samples, round(time.monotonic() - t0, 1))

asyncio.run(main(int(sys.argv[1]), date.fromisoformat(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
"""


def prepare_database(env: dict, customers: int, samples_per_device: int) -> tuple[int, float]:
    """Demo data for `customers` (one PIN for all), published up to the day before
    yesterday, and raw samples for yesterday: the night the workers' start-up catch-up
    publishes. Returns (samples, seconds)."""
    from app.traffic import warsaw_today

    yesterday = warsaw_today(datetime.now(timezone.utc)) - timedelta(days=1)
    done = subprocess.run([sys.executable, "-c", SETUP, str(customers), yesterday.isoformat(), PIN,
                           str(samples_per_device)], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    samples, seconds = done.stdout.split()[-2:]
    return int(samples), float(seconds)


# ---------------------------------------------------------------- servers ----------

def nginx_config(tmp: Path, listen: int, upstream: int) -> Path:
    """deploy/nginx.conf with TLS stripped and this run's ports and paths."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = text.split("\nserver {")
    upstream_block, tls_server = servers[0], "server {" + servers[2]
    body = "\n".join(line for line in tls_server.splitlines()
                     if not re.match(r"\s*(ssl_|listen |add_header Strict)", line))
    body = body.replace("server {", f"server {{\n    listen 127.0.0.1:{listen} backlog=4096;", 1)
    conf = (f"worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log warn;\n"
            f"events {{ worker_connections 8192; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    access_log off;\n"
            f"    client_body_temp_path {tmp}/body;\n    proxy_temp_path {tmp}/proxy;\n"
            f"    fastcgi_temp_path {tmp}/fcgi;\n    uwsgi_temp_path {tmp}/uwsgi;\n    scgi_temp_path {tmp}/scgi;\n"
            f"{upstream_block}\n{body}\n}}\n")
    conf = conf.replace("127.0.0.1:8000", f"127.0.0.1:{upstream}").replace("/opt/wbok/static/", f"{ROOT}/static/")
    path = tmp / "nginx.conf"
    path.write_text(conf)
    return path


class Serve:
    """`wbok serve --workers N` and the pids of its workers."""

    def __init__(self, env: dict, workers: int, port: int, log_path: Path) -> None:
        self.port = port
        self.single = workers == 1
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--workers", str(workers),
                                      "--port", str(port)], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def workers(self) -> list[int]:
        """The worker pids; with one worker uvicorn serves in the supervisor's own process."""
        if self.single:
            return [self.proc.pid]
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        found = [int(x) for x in path.read_text().split()] if path.exists() else []
        out = []
        for pid in found:
            try:
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(pid)
            except OSError:
                pass
        return out

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def worker_of_backend(serve: Serve, backend_port: int) -> int | None:
    """The worker pid owning the TCP connection whose local port is `backend_port`."""
    out = subprocess.run(["ss", "-tnpH", f"sport = :{backend_port}"], capture_output=True, text=True).stdout
    for pid in re.findall(r"pid=(\d+)", out):
        if int(pid) in serve.workers():
            return int(pid)
    return None


def wait_http(url: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200")


# ---------------------------------------------------------------- the data set ------

CACHE = Path(os.environ.get("WBOK_BENCH_CACHE", Path.home() / ".cache" / "wbok-bench"))


def cached_cluster(customers: int, samples: int) -> tuple[Cluster, int]:
    """A cluster holding database `wbok` with the run's data set. Building 5,000 demo
    customers takes minutes, so the stopped cluster's data directory is kept in CACHE,
    keyed by the schema, the demo code, the sizes and the day (yesterday's samples)."""
    import hashlib

    from app.traffic import warsaw_today

    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("app/tables/**/*.py"), ROOT / "app/demo.py", ROOT / "app/traffic.py"]):
        digest.update(path.read_bytes())
    digest.update(f"{SETUP}{customers}:{samples}:{warsaw_today(datetime.now(timezone.utc))}".encode())
    saved = CACHE / f"scale-{customers}-{digest.hexdigest()[:12]}"
    if saved.exists():
        pg = Cluster(max_connections=300, copy_of=saved)
        pg.start()
        return pg, int((saved / "wbok-samples").read_text())
    log(f"building the data set: {customers} demo customers, {samples} samples per device (kept in {CACHE})")
    pg = Cluster(max_connections=300)
    pg.start()
    url = pg.create_database("wbok")
    count, seconds = prepare_database({**os.environ, "WBOK_DATABASE_URL": url, "WBOK_SCHEDULER": "0"},
                                      customers, samples)
    log(f"data set built in {seconds:.0f} s ({count} raw samples for yesterday)")
    (pg.data / "wbok-samples").write_text(str(count))
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"scale-{customers}-*"):
        shutil.rmtree(old, ignore_errors=True)
    pg.save(saved)
    return pg, count


# ---------------------------------------------------------------- the load ----------

@dataclass
class Run:
    base: str
    started: float = 0.0
    stop_at: float = 0.0
    latency: dict = field(default_factory=lambda: {"fragment": [], "page": [], "pdf": [], "ticket": [], "login": []})
    errors: list = field(default_factory=list)  # (time, what, detail)
    requests: int = 0
    foreign: list = field(default_factory=list)  # answers rendered for another customer
    tickets_acked: dict = field(default_factory=dict)  # form token -> customer id
    streams: dict = field(default_factory=dict)  # ticket id -> customer id (a stream is open or reopening)
    answers: dict = field(default_factory=dict)  # token -> (ticket id, sent at)
    received: dict = field(default_factory=dict)  # token -> first arrival time
    windows: list = field(default_factory=list)  # (fault, start, end)
    reconnects: int = 0

    def now(self) -> float:
        return time.monotonic() - self.started


def _check_owner(run: Run, response, customer_id: int, what: str) -> None:
    owner = response.headers.get("x-wbok-customer")
    if owner != str(customer_id):
        run.foreign.append((run.now(), what, customer_id, owner))


async def _request(run: Run, client, kind: str, method: str, url: str, customer_id: int | None = None, **kw):
    started = time.monotonic()
    try:
        response = await client.request(method, url, **kw)
    except Exception as exc:  # connection refused or reset, timeout: an error of the run
        run.errors.append((run.now(), f"{method} {url}", type(exc).__name__))
        return None
    run.requests += 1
    if response.status_code >= 500:
        run.errors.append((run.now(), f"{method} {url}", str(response.status_code)))
        return None
    run.latency[kind].append(time.monotonic() - started)
    if customer_id is not None and response.status_code == 200:
        _check_owner(run, response, customer_id, url)
    return response


async def _login(run: Run, client, customer_id: int) -> bool:
    while time.monotonic() < (run.stop_at or time.monotonic() + 1):
        page = await _request(run, client, "page", "GET", "/login")
        if page is not None:
            response = await _request(run, client, "login", "POST", "/login", data={
                "customer_id": str(customer_id), "pin": PIN, "_csrf_token": client.cookies.get("csrftoken", "")})
            if response is not None and response.status_code == 303:
                return True
        await asyncio.sleep(1)
    return False


async def _post_ticket(run: Run, client, customer_id: int, n: int) -> int | None:
    """A new ticket; a failed attempt is sent again with the same form token, as a
    browser resubmits, and the token makes the second attempt a no-op if the first landed."""
    token = f"bench-{customer_id}-{n}-{random.randrange(10**9)}"
    data = {"subject": f"Zgłoszenie {token}", "body": "Od rana Internet działa z przerwami, proszę o sprawdzenie.",
            "queue": "technical", "token": token, "_csrf_token": client.cookies.get("csrftoken", "")}
    for _ in range(30):
        response = await _request(run, client, "ticket", "POST", "/helpdesk", data=data)
        if response is not None and response.status_code == 303:
            run.tickets_acked[token] = customer_id
            match = re.search(r"created=(\d+)", response.headers.get("location", ""))
            return int(match.group(1)) if match else None
        if time.monotonic() > run.stop_at:
            return None
        await asyncio.sleep(1)
    return None


async def _stream(run: Run, client, customer_id: int, ticket_id: int) -> None:
    """Keep an SSE stream open on the ticket as the browser does: after a drop, reconnect
    in a second with Last-Event-ID."""
    import httpx

    last = ""
    while True:
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last} if last else {})}
        try:
            async with client.stream("GET", f"/helpdesk/{ticket_id}/events", headers=headers,
                                     timeout=httpx.Timeout(10, read=60)) as response:
                if response.status_code == 200:
                    _check_owner(run, response, customer_id, "events")
                    run.streams[ticket_id] = customer_id  # open: the operators may answer it
                    data: list[str] = []
                    async for line in response.aiter_lines():
                        if line.startswith("id:"):
                            last = line[3:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:])
                        elif line == "" and data:
                            arrived = time.monotonic()
                            for token in re.findall(r"ans-\d+", "".join(data)):
                                run.received.setdefault(token, arrived)
                            data = []
        except asyncio.CancelledError:
            raise
        except Exception:
            pass
        run.reconnects += 1
        await asyncio.sleep(1)


async def customer(run: Run, customer_id: int, pdf_share: float, ticket_share: float,
                   logins: asyncio.Semaphore, ready: list, go: asyncio.Event) -> None:
    """Log in (during the warm-up, a few at a time: argon2 is costly by design), then
    wait for the start and run the mix: htmx tab fragments, now and then an invoice PDF or
    a new ticket, and an SSE stream kept open on the customer's ticket."""
    import httpx

    async with httpx.AsyncClient(base_url=run.base, timeout=httpx.Timeout(30), follow_redirects=False) as client:
        async with logins:
            ok = await _login(run, client, customer_id)
        ready.append(ok)
        await go.wait()
        if not ok:
            return
        ticket_id = await _post_ticket(run, client, customer_id, 0)
        stream = asyncio.create_task(_stream(run, client, customer_id, ticket_id)) if ticket_id else None
        invoices: list[str] = []
        n = 1
        try:
            while time.monotonic() < run.stop_at:
                roll = random.random()
                if roll < pdf_share and invoices:
                    await _request(run, client, "pdf", "GET", random.choice(invoices), customer_id)
                elif roll < pdf_share + ticket_share:
                    await _post_ticket(run, client, customer_id, n)
                    n += 1
                else:
                    tab = random.choice(TABS)
                    response = await _request(run, client, "fragment", "GET", tab, customer_id, headers=PARTIAL)
                    if tab == "/finances" and response is not None and not invoices:
                        invoices = sorted(set(re.findall(r'href="(/finances/invoices/\d+)"', response.text)))
                await asyncio.sleep(random.uniform(0.05, 0.3))
        finally:
            if stream:
                await asyncio.sleep(3)  # answers sent just before the end still arrive
                stream.cancel()
                await asyncio.gather(stream, return_exceptions=True)


async def operator(run: Run, username: str, password: str, rate: float) -> None:
    """Answers tickets that have an open stream, `rate` answers a second."""
    import httpx

    async with httpx.AsyncClient(base_url=run.base, timeout=httpx.Timeout(30), follow_redirects=False) as client:
        while time.monotonic() < run.stop_at:
            await _request(run, client, "page", "GET", "/admin/login")
            response = await _request(run, client, "login", "POST", "/admin/login", data={
                "username": username, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")})
            if response is not None and response.status_code == 303:
                break
            await asyncio.sleep(1)
        n = 0
        while time.monotonic() < run.stop_at - 3:
            await asyncio.sleep(random.expovariate(rate))
            if not run.streams:
                continue
            ticket_id = random.choice(list(run.streams))
            n += 1
            token = f"ans-{username[-1]}{n:05d}"
            sent = time.monotonic()
            response = await _request(run, client, "ticket", "POST", f"/admin/helpdesk/{ticket_id}", data={
                "body": f"Dzień dobry, sprawdzamy łącze ({token}).", "status": "todo",
                "_csrf_token": client.cookies.get("csrftoken", "")})
            if response is not None and response.status_code == 303:
                run.answers[token] = (ticket_id, sent)


# ---------------------------------------------------------------- faults ------------

async def _pg(url: str, sql: str, *args):
    import asyncpg

    conn = await asyncpg.connect(url, timeout=60)  # the run's own loop is busy
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def kill_publication(serve: Serve, url: str, night: str, timeout: float = 60) -> dict:
    """Find the worker whose connection holds the publication's table lock, kill -9 it.
    Runs in a thread of its own from the workers' start (their start-up catch-up
    publishes the night), so the load's busy event loop cannot make it late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        rows = await _pg(url, "SELECT a.client_port FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                              "JOIN pg_stat_activity a ON a.pid = l.pid WHERE c.relname = 'traffic_sample' "
                              "AND l.mode = 'ShareRowExclusiveLock' AND l.granted")
        for row in rows:
            pid = await asyncio.to_thread(worker_of_backend, serve, row["client_port"])
            if pid:
                os.kill(pid, signal.SIGKILL)
                log(f"fault: kill -9 worker {pid} while it publishes {night}")
                return {"killed": pid, "at": time.monotonic()}
        done = await _pg(url, "SELECT status FROM job_run WHERE key = $1", f"traffic:{night}")
        if done and done[0]["status"] == "done":
            return {"killed": None}
    return {"killed": None}


async def kill_worker(run: Run, serve: Serve) -> int:
    victim = random.choice(serve.workers())
    os.kill(victim, signal.SIGKILL)
    run.windows.append(("kill", run.now(), run.now() + 2))
    log(f"fault: kill -9 worker {victim}")
    return victim


async def restart_postgres(run: Run, pg: Cluster, down: float) -> tuple[float, float]:
    start = run.now()
    await asyncio.to_thread(pg.stop, "fast")
    log("fault: PostgreSQL stopped")
    await asyncio.sleep(down)
    await asyncio.to_thread(pg.start)
    back = run.now()
    log(f"fault: PostgreSQL started again after {back - start:.1f} s")
    run.windows.append(("pg", start, back + RECOVERY_GRACE))
    return start, back


RECOVERY_GRACE = 5.0  # seconds after PostgreSQL is back within which errors still count as the outage


# ---------------------------------------------------------------- checks ------------

def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def in_window(run: Run, at: float, kinds: tuple[str, ...]) -> bool:
    return any(kind in kinds and start <= at <= end for kind, start, end in run.windows)


async def evaluate(run: Run, url: str, samples: int, night: str, fault_info: dict, faults: set[str],
                   seconds: float) -> list[tuple[str, str, bool]]:
    checks: list[tuple[str, str, bool]] = []
    outside = [e for e in run.errors if not in_window(run, e[0], ("pg", "kill", "publish"))]
    during = len(run.errors) - len(outside)
    checks.append(("errors outside the injected faults (5xx, connection failures)",
                   f"{len(outside)} (and {during} during the faults)", not outside))
    tokens = list(run.tickets_acked)
    found = await _pg(url, "SELECT submit_key FROM ticket WHERE submit_key = ANY($1::text[])",
                      [f"{cid}:{t}" for t, cid in run.tickets_acked.items()])
    checks.append(("tickets acknowledged that are in the database", f"{len(found)} of {len(tokens)}",
                   len(found) == len(tokens) and len(tokens) > 0))
    delays = [run.received[t] - sent for t, (_, sent) in run.answers.items() if t in run.received]
    missing = [t for t in run.answers if t not in run.received]
    checks.append(("operator answers that reached the customer's open stream",
                   f"{len(delays)} of {len(run.answers)}", not missing and len(run.answers) > 0))
    p99 = pct(delays, 99)
    checks.append(("live answer delay p50 / p99 (budget p99 <= 2 s)",
                   f"{pct(delays, 50) * 1000:.0f} ms / {p99 * 1000:.0f} ms", p99 <= 2.0))
    checks.append(("answers rendered for another customer", f"{len(run.foreign)}", not run.foreign))
    frag = run.latency["fragment"]
    total = sum(len(v) for v in run.latency.values())
    checks.append(("fragment latency p50 / p99", f"{pct(frag, 50) * 1000:.0f} ms / {pct(frag, 99) * 1000:.0f} ms "
                   f"({len(frag)} fragments)", True))
    checks.append(("throughput (all requests but streams)", f"{total / seconds:.0f} req/s "
                   f"({total} in {seconds:.0f} s; {len(run.latency['pdf'])} PDFs, "
                   f"{len(run.latency['login'])} logins)", True))
    if "pg" in faults:
        last = max((e[0] for e in run.errors if in_window(run, e[0], ("pg",))), default=None)
        pg_window = next(w for w in run.windows if w[0] == "pg")
        recovered = (last - (pg_window[2] - RECOVERY_GRACE)) if last else 0.0
        checks.append(("PostgreSQL restart: errors stop after it is back", f"{max(recovered, 0):.1f} s "
                       f"after the restart ({sum(1 for e in run.errors if in_window(run, e[0], ('pg',)))} errors "
                       f"in the outage)", recovered <= RECOVERY_GRACE))
    if "kill" in faults:
        checks.append(("killed worker replaced by the supervisor", fault_info.get("kill", "?"),
                       fault_info.get("kill_replaced", False)))
    if "publish" in faults:
        row = await _pg(url, "SELECT status, rows FROM job_run WHERE key = $1", f"traffic:{night}")
        ok = bool(row) and row[0]["status"] == "done" and row[0]["rows"] == samples
        checks.append((f"publication of {night} killed mid-run, finished by the next run",
                       f"killed worker {fault_info.get('publish')}, run {row[0]['status'] if row else 'missing'}, "
                       f"{row[0]['rows'] if row else 0} of {samples} samples", ok and bool(fault_info.get("publish"))))
    return checks


# ---------------------------------------------------------------- main --------------

def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def smtp_sink():
    """Swallow the notification e-mails (a real SMTP server on localhost)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    return controller


async def load(args, serve: Serve, pg: Cluster, url: str, base: str, samples: int, night: str,
               faults: set[str], customers: list[int], publication: dict) -> int:
    run = Run(base=base)
    run.started = time.monotonic()
    run.stop_at = run.started + 600  # the warm-up's limit
    fault_info: dict = {}
    logins, ready, go = asyncio.Semaphore(8), [], asyncio.Event()
    tasks = [asyncio.create_task(customer(run, cid, 0.05, 0.05, logins, ready, go)) for cid in customers]
    while len(ready) < len(customers):
        await asyncio.sleep(0.2)
    warmup = time.monotonic() - run.started
    log(f"warm-up: {sum(ready)} of {len(customers)} customers logged in in {warmup:.0f} s "
        f"({sum(ready) / warmup:.1f} logins/s)")
    run.latency["login"].clear()
    run.started = time.monotonic()
    run.stop_at = run.started + args.seconds
    go.set()
    tasks += [asyncio.create_task(operator(run, f"ops{i}", "bench-operator-1", args.answers / 2)) for i in (1, 2)]

    async def injector() -> None:
        if "publish" in faults:
            while "killed" not in publication:
                await asyncio.sleep(0.2)
            fault_info["publish"] = publication["killed"]
            if publication.get("at"):
                at = publication["at"] - run.started
                run.windows.append(("publish", at, at + 10))
        if "kill" in faults:
            await asyncio.sleep(max(0.0, args.seconds * 0.3 - run.now()))
            victim, killed_at = await kill_worker(run, serve), time.monotonic()
            fault_info["kill"] = f"worker {victim} killed, not replaced in 20 s"
            while time.monotonic() < killed_at + 20:
                now = serve.workers()
                if victim not in now and len(now) == args.workers:
                    fault_info["kill"] = f"worker {victim} replaced in {time.monotonic() - killed_at:.1f} s"
                    fault_info["kill_replaced"] = True
                    # Requests the dead worker held are answered (502) when the loop gets
                    # to them: the fault lasts until its replacement serves, plus a margin.
                    run.windows[-1] = ("kill", run.windows[-1][1], run.now() + 2)
                    break
                await asyncio.sleep(0.2)
        if "pg" in faults:
            await asyncio.sleep(max(0.0, args.seconds * 0.55 - run.now()))
            await restart_postgres(run, pg, 3.0)

    inject = asyncio.create_task(injector())
    await asyncio.gather(*tasks)
    await inject
    if "publish" in faults:  # the next run: a worker's start-up catch-up after the kill
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = await _pg(url, "SELECT status FROM job_run WHERE key = $1", f"traffic:{night}")
            if row and row[0]["status"] == "done":
                break
            await asyncio.sleep(0.5)
    checks = await evaluate(run, url, samples, night, fault_info, faults, args.seconds)
    print()
    print(f"scale run: {args.workers} workers behind nginx, PostgreSQL, {len(customers)} customers "
          f"({args.customers} in the database), {args.seconds:.0f} s, faults: {', '.join(sorted(faults)) or 'none'}")
    width = max(len(c[0]) for c in checks)
    print(f"{'check'.ljust(width)}  {'ok':4}  figure")
    print(f"{'-' * width}  ----  {'-' * 40}")
    for name, figure, ok in checks:
        print(f"{name.ljust(width)}  {'ok' if ok else 'FAIL':4}  {figure}")
    print(f"(SSE reconnects: {run.reconnects}; errors by kind: "
          f"{json.dumps(_error_kinds(run.errors), ensure_ascii=False)})")
    return 0 if all(ok for _, _, ok in checks) else 1


def _error_kinds(errors: list) -> dict:
    kinds: dict = {}
    for _, what, detail in errors:
        key = f"{what.split(' ')[0]} {re.sub(r'/[0-9]+', '/N', what.split(' ')[1])} {detail}"
        kinds[key] = kinds.get(key, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:8])


async def idle_streams(args, serve: Serve, base: str, customers: list[int]) -> int:
    """Open args.idle_streams streams, then measure the workers' memory and CPU while idle."""
    import httpx

    before = rss_kib(serve.workers())
    clients, opened = [], []
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    for cid in customers[:50]:
        client = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(20, read=None), limits=limits)
        await client.get("/login")
        await client.post("/login", data={"customer_id": str(cid), "pin": PIN,
                                          "_csrf_token": client.cookies.get("csrftoken", "")})
        clients.append(client)

    async def hold(client) -> None:
        async with client.stream("GET", "/helpdesk/events", headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200, response.status_code
            opened.append(1)
            async for _ in response.aiter_raw():
                pass

    tasks = [asyncio.create_task(hold(clients[i % len(clients)])) for i in range(args.idle_streams)]
    while len(opened) < args.idle_streams:
        await asyncio.sleep(0.5)
        if any(t.done() for t in tasks):
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()
    await asyncio.sleep(3)
    pids = serve.workers()
    after = rss_kib(pids)
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    await asyncio.sleep(args.seconds)
    cpu = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
    print(f"{args.idle_streams} idle SSE streams on {args.workers} worker(s): memory {before / 1024:.0f} -> "
          f"{after / 1024:.0f} MiB, {(after - before) / args.idle_streams:.1f} KiB per stream; "
          f"CPU while idle {cpu * 100:.1f} % of one core over {args.seconds:.0f} s "
          f"(keep-alive every 20 s per stream)")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200, help="concurrent simulated customers")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--customers", type=int, default=5000, help="demo customers in the database")
    parser.add_argument("--samples", type=int, default=48, help="raw traffic samples per device for the night")
    parser.add_argument("--answers", type=float, default=4.0, help="operator answers per second")
    parser.add_argument("--faults", default="publish,kill,pg", help="comma-separated: publish, kill, pg, or none")
    parser.add_argument("--short", action="store_true", help="30 s, 50 customers, one fault (kill), 500 in the database")
    parser.add_argument("--idle-streams", type=int, default=0, help="measure N idle SSE streams instead of the load")
    args = parser.parse_args()
    if args.short:
        args.seconds, args.clients, args.customers, args.faults = 30, 50, 500, "kill"
    faults = set() if args.faults == "none" else set(args.faults.split(","))
    if not Path(NGINX).exists():
        print("scale: nginx is missing; run bash scripts/setup.sh", file=sys.stderr)
        return 2
    from app.traffic import warsaw_today

    night = (warsaw_today(datetime.now(timezone.utc)) - timedelta(days=1)).isoformat()
    pg, samples = cached_cluster(args.customers, args.samples)
    tmp = Path(tempfile.mkdtemp(prefix="wbok-scale-"))
    smtp = smtp_sink()
    serve = nginx = None
    status = 1
    try:
        url = pg.url("wbok")
        env = {**os.environ, "WBOK_DATABASE_URL": url, "WBOK_SECRET_KEY": "scale-" + os.urandom(8).hex(),
               "WBOK_SCHEDULER": "1", "WBOK_DB_POOL_SIZE": "10", "WBOK_TRUSTED_PROXIES": "127.0.0.1",
               "WBOK_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "WBOK_BASE_URL": "http://127.0.0.1"}
        for i in (1, 2):
            wbok(env, "operator", "add", f"ops{i}", "--password", "bench-operator-1", check=False)
        customers = asyncio.run(_pg(url, "SELECT id FROM customer ORDER BY random() LIMIT $1", args.clients))
        customers = [r["id"] for r in customers]
        app_port, web_port = _free_port(), _free_port()
        conf = nginx_config(tmp, web_port, app_port)
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
        serve = Serve(env, args.workers, app_port, tmp / "serve.log")
        publication: dict = {}
        if "publish" in faults and not args.idle_streams:
            import threading

            threading.Thread(target=lambda: publication.update(asyncio.run(kill_publication(serve, url, night))),
                             daemon=True).start()
        base = f"http://127.0.0.1:{web_port}"
        wait_http(base + "/healthz")
        log(f"{args.workers} workers up behind nginx at {base}")
        if args.idle_streams:
            status = asyncio.run(idle_streams(args, serve, base, customers))
            return status
        status = asyncio.run(load(args, serve, pg, url, base, samples, night, faults, customers, publication))
        return status
    finally:
        if serve:
            serve.stop()
        if nginx:
            nginx.terminate()
            nginx.wait(10)
        smtp.stop()
        pg.destroy()
        if status:
            print(f"(logs kept in {tmp}: serve.log, nginx-error.log)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
