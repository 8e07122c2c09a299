"""The short scale run (bench/scale.py --short: 3 workers behind nginx on PostgreSQL,
50 customers for 30 s, a worker killed) under CI=true only: it is a bench, minutes of
CPU, so a developer's `pytest` leaves it out, and CI runs it once, in its PostgreSQL pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgcluster import pg_bin

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="the scale run is a bench; it runs under CI=true")
@pytest.mark.skipif(os.environ.get("WBOK_TEST_DB") != "postgres",
                    reason="it runs its own PostgreSQL cluster: once, in the PostgreSQL pass of scripts/test.sh")
@pytest.mark.skipif(pg_bin() is None or not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
                    reason="needs PostgreSQL binaries and nginx (bash scripts/setup.sh)")
def test_short_scale_run_passes_its_checks():
    done = subprocess.run([sys.executable, "bench/scale.py", "--short"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "tickets acknowledged that are in the database" in done.stdout
