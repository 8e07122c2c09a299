"""Fragment latency and throughput (issue 18; budgets in DESIGN.md).

One WBOK worker (uvicorn, pinned to core 0 with taskset when available) on a fresh demo
database; the load generator runs in this process, pinned to core 1, with 50 closed-loop
keep-alive clients. For every tab fragment of a demo customer with 12 months of history it
prints p50/p90/p99, requests a second, server CPU per request, and the ratio of req/s to a
bare Litestar app rendering a template of the same size, measured in the same run (the
ratio is what stays comparable on a loaded machine). Then:

- queries per fragment, counted by a hook on the database engine (bench/_count_app.py);
- the full /finances page at 16 connections (the LMS userpanel comparison: ≥ 430 req/s);
- logins: 100 concurrent clients logging in, with fragments of logged-in customers
  measured meanwhile (≥ 40 logins/s; those fragments p99 ≤ 100 ms).

    python bench/fragment_latency.py                       # SQLite, everything
    python bench/fragment_latency.py --db postgres         # a scratch PostgreSQL database, pooled
    python bench/fragment_latency.py --paths /finances --requests 500 --skip-logins
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
import urllib.parse
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import database, parse_login, process, wbok  # noqa: E402

TABS = ["/info", "/finances", "/messages", "/stats", "/helpdesk"]
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial", "Accept-Encoding": "br, gzip"}
FULL = {"Accept-Encoding": "br, gzip"}
CLK = os.sysconf("SC_CLK_TCK")


# --- a small keep-alive HTTP/1.1 client: the load generator must cost far less than the server

class Conn:
    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b""
                      ) -> tuple[int, dict[str, list[str]], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 *(f"{k}: {v}" for k, v in headers.items())]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        got: dict[str, list[str]] = {}
        for line in head[1:]:
            if line:
                k, _, v = line.partition(":")
                got.setdefault(k.strip().lower(), []).append(v.strip())
        if "content-length" in got:
            data = await self.reader.readexactly(int(got["content-length"][0]))
        elif got.get("transfer-encoding") == ["chunked"]:
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunks.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(c[:-2] for c in chunks)
        else:
            data = b""
        if got.get("connection") == ["close"]:
            self.close()
        return status, got, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _cookies(got: dict[str, list[str]], jar: dict[str, str]) -> None:
    for value in got.get("set-cookie", []):
        k, _, v = value.split(";", 1)[0].partition("=")
        jar[k.strip()] = v.strip()


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


async def login(conn: Conn, cid: str, pin: str) -> dict[str, str]:
    """Log in like a browser would; returns the cookie jar (session + CSRF)."""
    jar: dict[str, str] = {}
    status, got, _ = await conn.request("GET", "/login", {})
    _cookies(got, jar)
    body = urllib.parse.urlencode({"customer_id": cid, "pin": pin, "_csrf_token": jar["csrftoken"]}).encode()
    status, got, _ = await conn.request("POST", "/login", {
        "Cookie": _cookie_header(jar), "Content-Type": "application/x-www-form-urlencoded"}, body)
    assert status == 303, f"login of {cid} answered {status}"
    _cookies(got, jar)
    assert "wbok_session" in jar, "no session cookie after login"
    return jar


# --- measurement ---------------------------------------------------------------------

@dataclass
class Run:
    timings: list[float]
    elapsed: float
    cpu: float  # server CPU seconds over the run
    body: int  # bytes of the last answer as sent (compressed)

    def p(self, q: float) -> float:
        t = sorted(self.timings)
        return t[min(len(t) - 1, int(q * len(t)))] * 1000

    @property
    def rps(self) -> float:
        return len(self.timings) / self.elapsed

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.timings) * 1000

    def line(self) -> str:
        return (f"p50 {self.p(.5):6.1f} ms  p90 {self.p(.9):6.1f} ms  p99 {self.p(.99):6.1f} ms  "
                f"{self.rps:6.0f} req/s  CPU {self.cpu_ms:5.2f} ms/req")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


async def closed_loop(url: str, path: str, headers: dict[str, str], clients: int, total: int, pid: int
                      ) -> Run:
    conns = [Conn(url) for _ in range(clients)]
    for c in conns:  # warm: connect, and let the server build what it caches once per process
        status, _, _ = await c.request("GET", path, headers)
        assert status == 200, f"{path} answered {status}"
    timings: list[float] = []
    queue = iter(range(total))
    size = 0

    async def client(conn: Conn) -> None:
        nonlocal size
        for _ in queue:
            start = time.perf_counter()
            status, _, body = await conn.request("GET", path, headers)
            timings.append(time.perf_counter() - start)
            assert status == 200, f"{path} answered {status}"
            size = len(body)

    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    run = Run(timings, time.perf_counter() - t0, cpu_seconds(pid) - cpu0, size)
    for c in conns:
        c.close()
    return run


async def plain_size(url: str, path: str, headers: dict[str, str]) -> int:
    conn = Conn(url)
    _, _, body = await conn.request("GET", path, {k: v for k, v in headers.items() if k != "Accept-Encoding"})
    conn.close()
    return len(body)


async def query_count(url: str, path: str, headers: dict[str, str]) -> int:
    conn = Conn(url)
    await conn.request("GET", path, headers)  # the first request may fill a cache
    counts = []
    for _ in range(3):
        status, got, _ = await conn.request("GET", path, headers)
        assert status == 200
        counts.append(int(got["x-bench-queries"][0]))
    conn.close()
    return max(counts)


async def logins_burst(url: str, creds: list[tuple[str, str]], pid: int, watcher: dict[str, str] | None = None,
                       fragment_clients: int = 10) -> tuple[float, float, Run | None]:
    """`len(creds)` clients log in at once, each once (GET /login, then POST). With `watcher`,
    `fragment_clients` logged-in clients fetch /info fragments meanwhile. Returns (logins a
    second, server CPU ms per login when nothing else ran, the fragments' run)."""
    done = asyncio.Event()
    timings: list[float] = []

    async def fragments(conn: Conn) -> None:
        headers = {**PARTIAL, "Cookie": _cookie_header(watcher)}
        while not done.is_set():
            start = time.perf_counter()
            status, _, _ = await conn.request("GET", "/info", headers)
            timings.append(time.perf_counter() - start)
            assert status == 200, status

    async def one(cid: str, pin: str) -> None:
        conn = Conn(url)
        await login(conn, cid, pin)
        conn.close()

    watchers = [asyncio.create_task(fragments(Conn(url))) for _ in range(fragment_clients if watcher else 0)]
    await asyncio.sleep(0.2 if watchers else 0)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(one(cid, pin) for cid, pin in creds))
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    done.set()
    await asyncio.gather(*watchers)
    return len(creds) / elapsed, cpu / len(creds) * 1000, Run(timings, elapsed, cpu, 0) if watchers else None


# --- the run -------------------------------------------------------------------------

@contextmanager
def postgres_database():
    import asyncpg

    server = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"wbok_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    os.environ["WBOK_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        yield
    finally:
        os.environ.pop("WBOK_DATABASE_URL", None)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default=",".join(TABS), help="tab fragments, comma-separated")
    parser.add_argument("--requests", type=int, default=1500, help="per fragment")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--logins", type=int, default=100, help="concurrent logins (0: skip)")
    parser.add_argument("--skip-logins", action="store_true")
    parser.add_argument("--full-requests", type=int, default=1500, help="full /finances pages (0: skip)")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    n_logins = 0 if args.skip_logins else args.logins
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        os.environ["WBOK_BENCH_TASKSET"] = "0"
        os.sched_setaffinity(0, {1})
    lines: list[str] = []
    failures: list[str] = []
    with ExitStack() as stack:
        if args.db == "postgres":
            stack.enter_context(postgres_database())
        env = stack.enter_context(database(
            lambda e: lines.extend(wbok(e, "demo", "--customers", str(max(5, n_logins + 1))).splitlines())))
        creds = [parse_login(line) for line in lines if line.startswith("customer ")]
        url, proc = stack.enter_context(process(env))
        bare_url, bare = stack.enter_context(process(env, "bench._bare_app:create_app", health="/"))
        count_url, _ = stack.enter_context(process(env, "bench._count_app:create_app"))

        async def run() -> None:
            jar = await login(Conn(url), *creds[0])
            headers = {**PARTIAL, "Cookie": _cookie_header(jar)}
            print(f"WBOK on {args.db}, one worker pinned to core 0, load from core 1; "
                  f"{args.clients} closed-loop clients, {args.requests} requests per fragment; "
                  f"customer {creds[0][0]} (12 months of demo history)")
            for path in paths:
                cjar = await login(Conn(count_url), *creds[0])
                queries = await query_count(count_url, path, {**PARTIAL, "Cookie": _cookie_header(cjar)})
                size = await plain_size(url, path, headers)
                bare_path = f"/?bytes={size}"
                base = await closed_loop(bare_url, bare_path, FULL, args.clients, args.requests, bare.pid)
                got = await closed_loop(url, path, headers, args.clients, args.requests, proc.pid)
                ratio = got.rps / base.rps
                ok = got.p(.99) <= 50 and got.rps >= 1000 and ratio >= .5 and queries <= 2
                if not ok:
                    failures.append(path)
                print(f"{path:10} {size:6} B  {queries:2} queries  {got.line()}")
                print(f"{'  bare':10} {size:6} B  {'':10} {base.line()}   "
                      f"ratio {ratio:4.0%} (by CPU {base.cpu_ms / got.cpu_ms:4.0%}) {'ok' if ok else 'MISSED'}")
            print("budgets: p99 ≤ 50 ms, ≥ 1000 req/s, ratio of req/s ≥ 50%, ≤ 2 queries per fragment "
                  "(sizes are uncompressed; CPU is the server process's user+system time per request)")
            if args.full_requests:
                full = await closed_loop(url, "/finances", {**FULL, "Cookie": _cookie_header(jar)},
                                         16, args.full_requests, proc.pid)
                ok = full.rps >= 430
                failures.extend([] if ok else ["full /finances"])
                print(f"full /finances page, 16 connections: {full.line()}  "
                      f"({full.rps / 43:.1f}× LMS's 43 req/s; {'ok' if ok else 'MISSED'}, budget ≥ 430 req/s)")
            if n_logins:
                batch = creds[1:n_logins + 1]
                rate, cpu_ms, _ = await logins_burst(url, batch, proc.pid)
                print(f"{len(batch)} concurrent logins alone: {rate:.0f} logins/s, server CPU {cpu_ms:.1f} ms "
                      f"per login ({'ok' if rate >= 40 else 'MISSED'}, budget ≥ 40 logins/s on one core)")
                rate2, _, frag = await logins_burst(url, batch, proc.pid, watcher=jar)
                ok = rate >= 40 and frag.p(.99) <= 100
                failures.extend([] if ok else ["logins"])
                print(f"{len(batch)} concurrent logins again, with 10 clients fetching /info meanwhile: "
                      f"{rate2:.0f} logins/s; the fragments: p50 {frag.p(.5):.1f} ms, p99 {frag.p(.99):.1f} ms "
                      f"({len(frag.timings)} requests; {'ok' if frag.p(.99) <= 100 else 'MISSED'}, budget p99 ≤ 100 ms)")

        asyncio.run(run())
    print("all budgets met" if not failures else "missed: " + ", ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
