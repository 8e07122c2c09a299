"""`wbok serve --workers N|auto`: the argument, and the key the workers share."""

from __future__ import annotations

import argparse
import os

import pytest

from app import cli


def test_workers_argument():
    assert cli.workers_count("3") == 3
    assert cli.workers_count("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "many", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.workers_count(bad)


def test_serve_defaults_to_one_worker():
    parser = cli.build_parser()
    assert parser.parse_args(["serve"]).workers == 1
    assert parser.parse_args(["serve", "--workers", "auto"]).workers == len(os.sched_getaffinity(0))


def test_workers_share_the_kept_secret_key(monkeypatch):
    """Without WBOK_SECRET_KEY, serve puts the key kept in the database into the environment
    before uvicorn starts: every worker (a fresh interpreter) signs with that one key."""
    from app import secret
    from app.settings import get_settings

    monkeypatch.delenv("WBOK_SECRET_KEY", raising=False)
    try:
        line = cli._keep_secret_key()
        kept = os.environ["WBOK_SECRET_KEY"]
        assert secret.WHERE in line and get_settings().secret_key == kept
        monkeypatch.delenv("WBOK_SECRET_KEY")
        cli._keep_secret_key()
        assert os.environ["WBOK_SECRET_KEY"] == kept  # made once, then the same for every process
    finally:
        get_settings.cache_clear()
