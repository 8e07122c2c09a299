"""Extract msgids into app/locale/messages.pot and merge them into the English catalogue.

Usage: python scripts/i18n.py            (extract + update; new entries get empty msgstr)
       python scripts/i18n.py --check    (exit 1 when a msgid has no English translation)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "app/locale/messages.pot"
EN = ROOT / "app/locale/en/LC_MESSAGES/messages.po"


def extract(pot: Path = POT) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "N_", "-o", str(pot), "--no-location", "--sort-output",
                    "--project", "WBOK", "."], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def missing(pot: Path = POT) -> list[str]:
    template = read_po(pot.open("rb"))
    english = read_po(EN.open("rb"), locale="en")
    out = []
    for message in template:
        if not message.id:
            continue
        translated = english.get(message.id)
        if translated is None or not translated.string or (
                isinstance(translated.string, tuple) and not all(translated.string)):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def update() -> None:
    template = read_po(POT.open("rb"))
    english = read_po(EN.open("rb"), locale="en") if EN.exists() else None
    if english is None:
        from babel.messages.catalog import Catalog

        english = Catalog(locale="en", project="WBOK")
    english.update(template, no_fuzzy_matching=True)
    EN.parent.mkdir(parents=True, exist_ok=True)
    with EN.open("wb") as fh:
        write_po(fh, english, omit_header=False, sort_output=True, ignore_obsolete=True)


if __name__ == "__main__":
    extract()
    if "--check" in sys.argv:
        gaps = missing()
        for gap in gaps:
            print(f"no English translation: {gap!r}")
        sys.exit(1 if gaps else 0)
    update()
    print(f"{EN.relative_to(ROOT)}: {len(missing())} untranslated")
