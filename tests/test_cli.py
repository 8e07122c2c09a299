"""The `wbok` command line: output as DESIGN.md names it, errors as one line on stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wbok(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def test_customer_add_prints_id_and_pin_and_the_pin_logs_in():
    done = wbok("customer", "add", "--name", "Jan Kowalski", "--email", "jan@example.pl", "--pin", "4829")
    assert done.returncode == 0, done.stderr
    match = re.fullmatch(r"customer (\d+) PIN 4829\n", done.stdout)
    assert match
    generated = wbok("customer", "add", "--name", "Ewa Żak")
    assert re.fullmatch(r"customer \d+ PIN \d{6}\n", generated.stdout)


def test_customer_add_refuses_bad_input_on_stderr():
    done = wbok("customer", "add", "--name", "Jan", "--pin", "12")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.startswith("wbok: ") and "PIN" in done.stderr
    assert "Traceback" not in done.stderr


def test_operator_and_tariff_add():
    assert wbok("operator", "add", "biuro", "--password", "bardzo-tajne").returncode == 0
    again = wbok("operator", "add", "biuro", "--password", "bardzo-tajne")
    assert again.returncode != 0 and "już istnieje" in again.stderr
    tariff = wbok("tariff", "add", "Światłowód 300", "--price", "79,99", "--down", "300", "--up", "50")
    assert tariff.returncode == 0 and "Światłowód 300" in tariff.stdout
    bad = wbok("tariff", "add", "Zła", "--price", "abc", "--down", "1", "--up", "1")
    assert bad.returncode != 0 and "Podaj kwotę" in bad.stderr


def test_demo_prints_one_line_per_login_and_only_fills_an_empty_database():
    done = wbok("demo", "--customers", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len([x for x in lines if re.fullmatch(r"customer \d+ PIN \d{6}", x)]) == 3
    assert len([x for x in lines if re.fullmatch(r"operator \S+ password \S+", x)]) == 1
    again = wbok("demo", "--customers", "3")
    assert again.returncode != 0 and again.stderr.startswith("wbok: ")


def test_a_broken_database_url_is_one_clear_line_and_a_non_zero_exit(tmp_path):
    for url in ("postgresql://nobody@127.0.0.1:1/none", "mysql://x", f"sqlite:///{tmp_path}/no/such/dir.db"):
        done = wbok("migrate", env={"WBOK_DATABASE_URL": url})
        assert done.returncode != 0, url
        assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("wbok: "), done.stderr


def _serve_demo(env: dict[str, str]) -> tuple[list[str], int]:
    """Start `wbok serve --demo`, read what it prints up to the URL line, stop it."""
    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
                            cwd=ROOT, env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
                            stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("WBOK: http"):
                break
    finally:
        proc.terminate()
        proc.wait(10)
    return lines, port


def test_serve_demo_prints_logins_only_when_it_made_them_and_keeps_existing_pins(tmp_path):
    import sqlite3

    from app.security import verify_secret

    path = tmp_path / "demo.sqlite3"
    env = {"WBOK_DATABASE_URL": f"sqlite:///{path}", "WBOK_SCHEDULER": "0", "WBOK_SECRET_KEY": None}
    first, port = _serve_demo(env)
    assert first[-1] == f"WBOK: http://127.0.0.1:{port}/login"
    assert "secret key: kept in the database, table app_secret (set WBOK_SECRET_KEY to use your own)" in first
    logins = [re.fullmatch(r"customer (\d+) PIN (\d{6})", x) for x in first]
    logins = [m.groups() for m in logins if m]
    assert logins and any(re.fullmatch(r"operator admin password \S+", x) for x in first)
    key = sqlite3.connect(path).execute("SELECT value FROM app_secret").fetchall()
    second, _ = _serve_demo(env)
    assert not [x for x in second if x.startswith(("customer", "operator"))], "no new logins"
    assert any("PIN-y i hasła bez zmian" in x for x in second)
    rows = dict(sqlite3.connect(path).execute("SELECT id, pin_hash FROM customer").fetchall())
    assert all(verify_secret(rows[int(cid)], pin) for cid, pin in logins), "the printed PINs still work"
    assert sqlite3.connect(path).execute("SELECT value FROM app_secret").fetchall() == key, "the key is kept"
    assert len(key) == 1 and len(key[0][0]) == 64
