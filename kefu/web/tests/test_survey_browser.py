"""The satisfaction survey on a phone, in real Chromium against a real server: the customer opens the link
from their message without signing in, taps the marks (big targets, nothing scrolls sideways), sends, and
the link then only says thank you."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server
from kefu.web.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]



@pytest.fixture
def survey_link(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    env = embedded_env(tmp_path)
    url = run_kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Role; from kefu.testing import factories;"
        "from kefu.feedback import services; from kefu.feedback.tests.support import closed_ticket;"
        "from kefu.notifications.models import Notification;"
        "factories.staff(Role.SUPERVISOR, name='Supervisor Li');"
        "ticket = closed_ticket(factories.staff(Role.AGENT), subject='Refund not received');"
        "services.survey_ticket(ticket.pk);"
        "print(Notification.objects.get(template='survey').context['survey_url'])"))
    path = url[url.index("/s/"):]
    with running_server(env, tmp_path / "server.log") as base:
        yield env, base + path


def _no_sideways_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_customer_answers_the_survey_on_a_phone(survey_link: tuple[dict[str, str], str]) -> None:
    from playwright.sync_api import ViewportSize, expect, sync_playwright

    phone_size: ViewportSize = {"width": 390, "height": 844}

    env, link = survey_link
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        phone = browser.new_context(viewport=phone_size, device_scale_factor=3, is_mobile=True, has_touch=True,
                                    locale="en-US").new_page()
        phone.goto(link)
        expect(phone.locator("h1")).to_have_text("How did we do?")
        expect(phone.locator(".survey")).to_contain_text("Refund not received")
        assert _no_sideways_scroll(phone)
        for name in ("attitude", "overall", "nps"):
            box = phone.locator(f"input[name={name}] + span").first.bounding_box()
            assert box is not None and box["width"] >= 44 and box["height"] >= 44, (name, box)

        for name, value in {"attitude": "4", "speed": "2", "solution": "3", "overall": "2", "nps": "6"}.items():
            phone.locator(f"label:has(input[name={name}][value='{value}']) span").tap()
        expect(phone.locator("input[name=overall][value='2']")).to_be_checked()
        phone.locator("textarea[name=comment]").fill("It took a week.")
        phone.screenshot(path=str(ARTIFACTS / "survey-1-phone.png"), full_page=True)
        phone.locator("button:has-text('Send my answers')").tap()

        expect(phone.locator(".flash")).to_contain_text("Thank you! Your answers are recorded.")
        expect(phone.locator("h1")).to_have_text("Thank you!")
        assert _no_sideways_scroll(phone)
        phone.screenshot(path=str(ARTIFACTS / "survey-2-thanks.png"), full_page=True)

        phone.goto(link)  # the link is used up: it only thanks
        expect(phone.locator(".survey")).to_contain_text("This survey has been answered.")
        assert phone.locator("input[type=radio]").count() == 0
        browser.close()

    summary = run_kefu(env, "shell", "-c", (
        "from kefu.feedback.models import FollowUpTask, Survey;"
        "s = Survey.objects.get(); t = FollowUpTask.objects.get();"
        "print(s.state, s.bad, t.assignee.name, t.state)"))
    assert summary == "answered True Supervisor Li open"
