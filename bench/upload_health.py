"""/healthz while a 10 MB bank statement is uploaded and parsed: its worst and median latency,
against the same figures with no upload, measured in the same run. Budget: worst < 100 ms.

    python bench/upload_health.py [lines]     (default 40000 lines, about 10 MB)
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import server, wbok  # noqa: E402

LINE = ("2026-11-02;{n},00;Wpłata {n} " + "za abonament internetowy " * 10
        + ";61109010140000071219812874;Jan Kowalski\n")


def statement(lines: int) -> bytes:
    body = "data;kwota;tytul;rachunek_nadawcy;nadawca\n" + "".join(LINE.format(n=n + 1) for n in range(lines))
    data = body.encode()[:10 * 1024 * 1024 - 4096]
    return data[:data.rindex(b"\n") + 1]


def probe(base: str, until: threading.Event | None, seconds: float = 3.0) -> list[float]:
    """/healthz latencies (ms), every 20 ms, until `until` is set (or for `seconds`)."""
    out: list[float] = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10) as client:
        client.get("/healthz")
        while (until is not None and not until.is_set()) or (until is None and time.monotonic() < end):
            started = time.monotonic()
            client.get("/healthz").raise_for_status()
            out.append((time.monotonic() - started) * 1000)
            time.sleep(0.02)
    return out


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    data = statement(lines)
    with server(lambda env: wbok(env, "operator", "add", "bench", "--password", "bench-password")) as (base, _):
        baseline = probe(base, None)
        staff = httpx.Client(base_url=base, timeout=300)
        staff.get("/admin/login")
        staff.post("/admin/login", data={"username": "bench", "password": "bench-password",
                                         "_csrf_token": staff.cookies["csrftoken"]})
        done, answer = threading.Event(), []

        def upload() -> None:
            try:
                started = time.monotonic()
                answer.append(staff.post("/admin/payments/import", files={"statement": ("big.csv", data)},
                                         data={"_csrf_token": staff.cookies["csrftoken"]}).status_code)
                answer.append(time.monotonic() - started)
            finally:
                done.set()

        threading.Thread(target=upload).start()
        during = probe(base, done)
        staff.close()
    print(f"statement: {len(data) / 1024 / 1024:.1f} MB, {lines} lines, answer {answer[0]} in {answer[1]:.1f} s")
    print(f"/healthz idle:   median {statistics.median(baseline):.1f} ms, worst {max(baseline):.1f} ms")
    print(f"/healthz upload: median {statistics.median(during):.1f} ms, worst {max(during):.1f} ms "
          f"({len(during)} probes), worst/idle-worst {max(during) / max(baseline):.1f}x, budget < 100 ms")


if __name__ == "__main__":
    main()
