"""The zh-Hans and en catalogs are complete and compiled, and cover every string in the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[3]
LOCALE = ROOT / "kefu" / "locale"
LANGUAGES = ("zh_Hans", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_compiled(language):
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    def compiled(entries):
        return {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in entries}

    assert compiled(mo) == compiled(po.translated_entries())


def test_chinese_catalog_really_is_chinese():
    po = polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    entries = po.translated_entries()
    chinese = [e for e in entries if any("\u4e00" <= ch <= "\u9fff" for ch in e.msgstr or e.msgstr_plural.get(0, ""))]
    assert len(chinese) / len(entries) > 0.95


def test_catalogs_cover_every_string_in_the_code(tmp_path):
    """makemessages over a copy of the code must find no msgid missing from the committed catalog."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext (Debian package gettext) is required in CI")
        pytest.skip("xgettext not installed (apt-get install gettext)")
    copy = tmp_path / "kefu"
    shutil.copytree(ROOT / "kefu", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    for language in LANGUAGES:
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", language, "--no-obsolete", "--no-location",
             "-i", "testing/*", "-i", "*/tests/*"],
            cwd=copy, check=True, capture_output=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "kefu.settings", "PYTHONPATH": str(tmp_path)},
        )
    fresh = {(e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))}
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))}
    assert sorted(fresh - committed, key=str) == []
