from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import cache

CHROMIUM = Path(os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium"))


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium; CI requires it, a developer machine may lack it."""
    if CHROMIUM.exists() or os.environ.get("KEFU_REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path, monkeypatch):
    # Tests read English text; Chinese is covered by the catalog tests and by tests that ask for it.
    settings.LANGUAGE_CODE = "en"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    cache.clear()  # rate-limit counters must not leak from one test into the next
    from kefu.core.shortcache import forget_all

    forget_all()  # nor configuration (webhook endpoints, SLA policies) rolled back with an earlier test
    # The chatbot's model is a file: each test starts untrained, and with the knowledge index rebuilt.
    monkeypatch.setitem(settings.KEFU, "BOT_MODEL_PATH", str(tmp_path / "bot" / "intents.pickle"))
    from kefu.knowledge import selectors as knowledge_selectors

    monkeypatch.setattr(knowledge_selectors, "_catalog", None)


@pytest.fixture
def activity_noted_once(monkeypatch):
    """A page's query count must not depend on how long the test ran: on a slow machine a test can outlast the
    once-a-minute write of the agent's activity, and the page it counts then writes once more."""
    from kefu.web import middleware

    monkeypatch.setattr(middleware, "NOTE_EVERY_S", 24 * 3600)
