"""Translations: every msgid in the code and templates has an English translation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts/i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_has_an_english_translation(tmp_path):
    script = _script()
    pot = tmp_path / "messages.pot"
    script.extract(pot)
    assert pot.stat().st_size > 0
    assert script.missing(pot) == [], "run: python scripts/i18n.py, then translate the new entries"
