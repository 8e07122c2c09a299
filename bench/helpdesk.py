"""Helpdesk budgets: a 20-message thread fragment compressed (≤ 4 KB), and what an idle SSE
stream costs on the wire (a small keep-alive every 15–30 s).

    python bench/helpdesk.py [idle-seconds]     (default 50)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="wbok-bench-hd-"))
os.environ.update(WBOK_DATABASE_URL=f"sqlite:///{TMP / 'bench.sqlite3'}", WBOK_SCHEDULER="0",
                  WBOK_SECRET_KEY="bench-secret", WBOK_DB_POOL_SIZE="0")

import httpx  # noqa: E402

from app import db  # noqa: E402
from tests import factories  # noqa: E402

BODIES = [
    "Dzień dobry, od wczoraj wieczorem Internet działa bardzo wolno, szczególnie między 19:00 a 22:00. "
    "Router był restartowany dwa razy, bez zmian. Proszę o sprawdzenie łącza.",
    "Dzień dobry, sprawdziliśmy nadajnik w Pańskiej okolicy. Widzimy duże obciążenie sektora wieczorami; "
    "technik przestawi antenę jutro między 10:00 a 12:00. Proszę dać znać, czy jest lepiej.",
]


async def _setup() -> tuple[object, int]:
    from datetime import datetime, timedelta, timezone

    from app import tickets
    from app.settings import ISP

    await db.migrate()
    customer = await factories.customer()
    operator = await factories.operator()
    at = datetime.now(timezone.utc) - timedelta(days=3)
    ticket_id, _ = await tickets.open_ticket(customer.id, "Wolny Internet wieczorami", BODIES[0], "technical",
                                             "bench", at, ISP(), "http://x")
    for i in range(19):
        at += timedelta(hours=1)
        if i % 2 == 0:
            await tickets.operator_answer(operator.id, ticket_id, f"{BODIES[1]} ({i})", False, "", "", at, ISP(), "x")
        else:
            await tickets.customer_reply(customer.id, ticket_id, f"{BODIES[0]} ({i})", at)
    return customer, ticket_id


def _login(base: str, customer) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/login")
    client.post("/login", data={"customer_id": str(customer.id), "pin": customer.pin,
                                "_csrf_token": client.cookies["csrftoken"]})
    return client


def fragment_size(base: str, customer, ticket_id: int) -> tuple[int, int, int]:
    client = _login(base, customer)
    with client.stream("GET", f"/helpdesk/{ticket_id}", headers={
            "HX-Request": "true", "HX-Request-Type": "partial", "Accept-Encoding": "br"}) as response:
        raw = b"".join(response.iter_raw())
    text = client.get(f"/helpdesk/{ticket_id}", headers={"HX-Request": "true"}).text
    client.close()
    return len(raw), len(text.encode()), text.count('class="msg ')


def idle_stream(base: str, customer, ticket_id: int, seconds: float) -> list[tuple[float, int]]:
    """(seconds since connect, bytes) of every chunk an idle stream receives."""
    chunks: list[tuple[float, int]] = []
    client = _login(base, customer)
    if True:
        start = time.monotonic()
        try:
            with client.stream("GET", f"/helpdesk/{ticket_id}/events?after=999999",
                               headers={"Accept": "text/event-stream", "Accept-Encoding": "br"},
                               timeout=httpx.Timeout(10, read=seconds)) as response:
                for chunk in response.iter_raw():
                    chunks.append((time.monotonic() - start, len(chunk)))
                    if time.monotonic() - start > seconds:
                        break
        except httpx.ReadTimeout:
            pass
    client.close()
    return chunks


def start_server() -> tuple[subprocess.Popen, str]:
    """uvicorn on a free port (tests.conftest is not imported: it points the environment
    at a test database of its own)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 50
    customer, ticket_id = asyncio.run(_setup())
    proc, base = start_server()
    try:
        compressed, plain, messages = fragment_size(base, customer, ticket_id)
        print(f"thread fragment, {messages} messages: {plain} B raw, {compressed} B brotli "
              f"(budget 4096 B): {'OK' if compressed <= 4096 else 'OVER'}")
        chunks = idle_stream(base, customer, ticket_id, seconds)
        after_open = [c for c in chunks[1:]]
        gaps = [round(b[0] - a[0], 1) for a, b in zip(chunks, chunks[1:])]
        total = sum(n for _, n in chunks)
        print(f"idle SSE for {seconds:.0f} s: {len(chunks)} chunks, {total} B on the wire "
              f"(first {chunks[0][1] if chunks else 0} B at open); keep-alives "
              f"{[n for _, n in after_open]} B every {gaps} s")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
