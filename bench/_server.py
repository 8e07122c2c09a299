"""Shared by the bench scripts: a throwaway WBOK server on a temporary SQLite database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(tmp: str) -> dict[str, str]:
    return {**os.environ, "WBOK_DATABASE_URL": os.environ.get("WBOK_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3"),
            "WBOK_SECRET_KEY": "bench", "WBOK_SCHEDULER": "0"}


def wbok(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


@contextmanager
def process(env: dict[str, str], factory: str = "app.main:create_app", health: str = "/healthz",
            extra: list[str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of one uvicorn worker serving `factory`."""
    port = _free_port()
    # WBOK_BENCH_TASKSET=0 pins the server to core 0 ("one core" in the budgets).
    pin = ["taskset", "-c", os.environ["WBOK_BENCH_TASKSET"]] if os.environ.get("WBOK_BENCH_TASKSET") else []
    proc = subprocess.Popen([*pin, sys.executable, "-m", "uvicorn", factory, "--factory",
                             "--app-dir", str(ROOT), "--port", str(port), "--log-level", "warning",
                             *(extra or [])], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(url + health, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{factory} did not start")
                time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def database(setup=None) -> Iterator[dict[str, str]]:
    """Yield the env of a migrated database that `setup(env)` filled first."""
    with tempfile.TemporaryDirectory(prefix="wbok-bench-") as tmp:
        env = bench_env(tmp)
        wbok(env, "migrate")
        if setup:
            setup(env)
        yield env


@contextmanager
def server(setup=None) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (base URL, env) of a server whose database `setup(env)` filled first."""
    with database(setup) as env, process(env) as (url, _):
        yield url, env


def parse_login(line: str) -> tuple[str, str]:
    match = re.search(r"customer (\d+) PIN (\d+)", line)
    assert match, line
    return match.group(1), match.group(2)
