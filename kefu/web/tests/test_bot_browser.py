"""The chatbot in real Chromium against a real server: a signed-in customer's question is answered by the
bot from the knowledge base; they ask for a person; the agent sees the hand-off with its context, takes
the chat and answers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server, sign_in
from kefu.web.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]

PASSWORD = "bot-desk-password-2026"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    env = embedded_env(tmp_path)
    run_kefu(env, "shell", "-c", (
        "import json; from kefu.accounts.models import Role; from kefu.accounts.services import create_staff_user;"
        "from kefu.customers.services import create_customer;"
        "from kefu.knowledge.services import import_knowledge;"
        "from kefu.web.demo import DEMO_KNOWLEDGE; from kefu.testing import factories;"
        "import_knowledge(json.loads(DEMO_KNOWLEDGE.read_text()), actor=None);"
        f"create_staff_user(username='desk', email='desk@staff.example', display_name='Agent Han', role=Role.AGENT,"
        f" password='{PASSWORD}', departments=(factories.department('Chat team'),), actor=None);"
        f"create_customer(name='Zhou Min', email='zhou@example.com', password='{PASSWORD}', language='en',"
        " actor=None)"))
    run_kefu(env, "bot", "train")  # the worker would do it within a minute; the test does not wait
    with running_server(env, tmp_path / "server.log") as base:
        yield env, base


def _sign_in(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, base, login, PASSWORD)


def test_bot_answers_then_hands_over_to_an_agent_with_the_context(server: tuple[dict[str, str], str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    _env, base = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        customer = browser.new_context(locale="en-US").new_page()
        _sign_in(customer, base, "zhou@example.com")
        customer.goto(f"{base}/portal/chat/")
        customer.locator("button:has-text('Start chat')").click()
        expect(customer.locator(".chat-status")).to_contain_text("With the virtual assistant")
        customer.locator("textarea[name=body]").fill("what payment methods do you take")
        customer.locator("button:has-text('Send')").click()
        bot = customer.locator(".chat-msg.from-bot")
        expect(bot.nth(1)).to_contain_text("Accepted payment methods")
        expect(bot.nth(2)).to_contain_text("Did this answer your question?")

        customer.locator("textarea[name=body]").fill("no, I want to talk to a person")
        customer.locator("button:has-text('Send')").click()
        expect(bot.nth(3)).to_contain_text("passing you to a colleague")
        expect(customer.locator(".chat-msg.from-system").last).to_contain_text("The wait is about")
        expect(customer.locator(".chat-status")).to_contain_text("Waiting for an agent")
        customer.screenshot(path=str(ARTIFACTS / "bot-1-customer.png"), full_page=True)

        desk = browser.new_context(locale="en-US").new_page()
        _sign_in(desk, base, "desk")
        desk.goto(f"{base}/console/chats/")
        pane = desk.locator(".chat-pane").first
        handoff = pane.locator(".handoff")
        expect(handoff).to_contain_text("The customer asked for a person")
        expect(handoff).to_contain_text("payment-methods")
        expect(pane.locator(".chat-msg.from-bot").nth(1)).to_contain_text("Accepted payment methods")  # transcript
        pane.locator("button:has-text('Take this chat')").click()
        expect(customer.locator(".chat-status")).to_contain_text("Agent Han")
        pane.locator("textarea[name=body]").fill("Hello, Agent Han here: which card would you like to use?")
        pane.locator("button:has-text('Send')").click()
        expect(customer.locator(".chat-msg.from-agent")).to_contain_text("which card")
        desk.screenshot(path=str(ARTIFACTS / "bot-2-desk.png"), full_page=True)

        # The ticket opened at the hand-off carries the conversation.
        pane.locator(".customer-panel a[href^='/console/tickets/']").click()
        expect(desk.locator("main")).to_contain_text("Detected intent: Accepted payment methods")
        expect(desk.locator("main")).to_contain_text("what payment methods do you take")
        # Assist beside it: the matching article, inserted into the reply in one click.
        article = desk.locator(".assist-panel li", has_text="Accepted payment methods").first
        article.locator("button:has-text('Insert link')").click()
        expect(desk.locator(".composer textarea[name=body]").first).to_have_value(
            re.compile(r"Accepted payment methods: http://127\.0\.0\.1:\d+/help/payment-methods/\?lang=en"))
        desk.screenshot(path=str(ARTIFACTS / "bot-3-ticket-assist.png"), full_page=True)
        browser.close()
