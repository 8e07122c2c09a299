"""Bench: queueing 10,000 e-mails in the outbox and sending them to a local aiosmtpd
server; and a server that accepts connections but never answers.

Figures: queueing time; send throughput (messages/s) with the pool (settings.smtp_pool)
against a baseline measured in the same run, one message at a time (pool 1, the old
behaviour); the stalled server's cost per message against the old 20 s timeout.
Run: python bench/mail.py [--mails 10000] [--baseline 1000] [--stalled 20]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="wbok-bench-mail-"))
os.environ["WBOK_DATABASE_URL"] = os.environ.get("WBOK_BENCH_DB", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ.pop("WBOK_CONFIG", None)

import logging  # noqa: E402

from app import db, mail  # noqa: E402

logging.getLogger("wbok.mail").setLevel(logging.ERROR)
from app.settings import settings_from_env  # noqa: E402

BODY = ("Dzień dobry,\n\nw załączniku przesyłamy fakturę FV/{n}/12/2026 na kwotę 79,99 zł, płatną do "
        "15.12.2026 na rachunek\n15 1090 1014 0001 0000 0000 0001.\n\nPozdrawiamy\nHLG Networks\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


async def queue(n: int, first: int = 0) -> float:
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    for lo in range(first, first + n, 500):
        async with db.transaction():
            for i in range(lo, min(lo + 500, first + n)):
                await mail.enqueue(f"klient{i}@example.pl", f"Faktura FV/{i}/12/2026", BODY.format(n=i), now)
    return time.perf_counter() - started


async def drain(settings) -> tuple[float, int]:
    started, sent = time.perf_counter(), 0
    while True:
        result = await mail.deliver_outbox(settings, limit=500)
        sent += result.sent
        if result.sent + result.failed == 0:
            return time.perf_counter() - started, sent


async def stalled(settings, n: int) -> tuple[float, int]:
    async def handle(reader, writer):
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    await queue(n, first=10**6)
    started = time.perf_counter()
    result = await mail.deliver_outbox(dataclasses.replace(settings, smtp_url=url), limit=n)
    server.close()
    return time.perf_counter() - started, result.failed


async def main(mails: int, baseline: int, stalled_n: int) -> None:
    from aiosmtpd.controller import Controller

    await db.migrate()
    handler, port = Counter(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = dataclasses.replace(settings_from_env(), smtp_url=f"smtp://127.0.0.1:{port}")
    print(f"database: {os.environ['WBOK_DATABASE_URL']}; SMTP: aiosmtpd on 127.0.0.1:{port}")
    try:
        took = await queue(mails)
        print(f"queue {mails} mails: {took:.2f} s ({mails / took:.0f}/s)")
        # Baseline first: the first `baseline` mails one at a time (pool 1).
        from app.tables.mail import MailOutbox

        cut = await MailOutbox.select(MailOutbox.id).order_by(MailOutbox.id).limit(1).offset(baseline).first()
        await MailOutbox.update({MailOutbox.locked_until: datetime(2100, 1, 1, tzinfo=timezone.utc)}).where(
            MailOutbox.id >= cut["id"])
        one, sent_one = await drain(dataclasses.replace(settings, smtp_pool=1))
        await MailOutbox.update({MailOutbox.locked_until: None}).where(MailOutbox.sent_at.is_null())
        pooled, sent_pooled = await drain(settings)
        base_rate, rate = sent_one / one, sent_pooled / pooled
        print(f"send, pool 1 (baseline): {sent_one} mails in {one:.2f} s = {base_rate:.0f} mails/s")
        print(f"send, pool {settings.smtp_pool}:            {sent_pooled} mails in {pooled:.2f} s = "
              f"{rate:.0f} mails/s  (×{rate / base_rate:.2f} of baseline)")
        print(f"server received {handler.received} of {mails}")
        slow = dataclasses.replace(settings, smtp_timeout=1.0)
        took, failed = await stalled(slow, stalled_n)
        print(f"stalled server, {stalled_n} mails, timeout 1 s, pool {slow.smtp_pool}: {took:.2f} s, "
              f"{failed} failed (kept for retry); at the old 20 s one at a time: {20 * stalled_n} s")
    finally:
        controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=10000)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--stalled", type=int, default=20)
    a = parser.parse_args()
    asyncio.run(main(a.mails, a.baseline, a.stalled))
