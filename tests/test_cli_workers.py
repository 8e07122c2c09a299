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


def test_workers_share_the_parents_secret_key(monkeypatch):
    monkeypatch.delenv("WBOK_SECRET_KEY", raising=False)
    cli._share_settings_with_workers()
    from app.settings import get_settings

    assert os.environ["WBOK_SECRET_KEY"] == get_settings().secret_key
