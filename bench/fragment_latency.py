"""Fragment latency: 50 concurrent clients requesting a tab fragment from one server
process on SQLite (pinned to one core with taskset when available). Budget (DESIGN.md):
p99 ≤ 50 ms.

    python bench/fragment_latency.py [--path /info] [--requests 2000] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import parse_login, server, wbok  # noqa: E402

PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial", "Accept-Encoding": "br, gzip"}


async def load(url: str, cid: str, pin: str, path: str, clients: int, total: int) -> list[float]:
    import httpx

    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=clients)) as http:
        await http.get("/login")
        token = http.cookies["csrftoken"]
        await http.post("/login", data={"customer_id": cid, "pin": pin, "_csrf_token": token})
        assert (await http.get(path, headers=PARTIAL)).status_code == 200
        timings: list[float] = []
        queue = iter(range(total))

        async def client() -> None:
            for _ in queue:
                start = time.perf_counter()
                response = await http.get(path, headers=PARTIAL)
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200, response.status_code

        await asyncio.gather(*(client() for _ in range(clients)))
        return timings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="/info")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    logins: list[str] = []
    if shutil.which("taskset"):
        os.environ["WBOK_BENCH_TASKSET"] = "0"
    with server(lambda env: logins.extend(wbok(env, "demo", "--customers", "5").splitlines())) as (url, _):
        cid, pin = parse_login(logins[0])
        started = time.perf_counter()
        timings = asyncio.run(load(url, cid, pin, args.path, args.clients, args.requests))
        elapsed = time.perf_counter() - started
    timings.sort()
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))] * 1000  # noqa: E731
    ok = p(0.99) <= 50
    print(f"{args.path} fragment, {args.clients} concurrent clients, {len(timings)} requests, "
          f"{len(timings) / elapsed:.0f} req/s: p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, mean {statistics.mean(timings) * 1000:.1f} ms "
          f"({'ok' if ok else 'OVER BUDGET'}, budget p99 ≤ 50 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
