"""The whole loop in real Chromium: portal → console → portal, with screenshots kept as artefacts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connections

from kefu.accounts.models import Role
from kefu.testing import factories
from kefu.testing.net import sign_in
from kefu.tickets.models import Ticket

# serialized_rollback: what the migrations put in the database (categories, the default SLA policies) is
# restored first, whichever transactional test emptied the database before this one.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; our ORM calls here are plain blocking ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # ORM calls made while Playwright's loop is active may have opened a context-local connection;
        # close it, or PostgreSQL refuses to drop the test database at the end of the run.
        connections.close_all()


def _page(browser, errors):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page




def _shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_customer_and_agent_close_the_loop_in_chromium(browser, live_server):
    base = live_server.url
    team = factories.department("Support")
    agent = factories.staff(Role.AGENT, teams=(team,), name="Li Wei")
    customer = factories.customer(name="Zhang San", language="en")
    errors: list[str] = []

    # The customer submits a request in the portal and is told number, owner and tracking link at once.
    cust = _page(browser, errors)
    sign_in(cust, base, customer.email, factories.PASSWORD)
    cust.goto(f"{base}/portal/new/")
    cust.fill("input[name=subject]", "Router keeps rebooting 路由器反复重启")
    cust.fill("textarea[name=description]", "Since yesterday the router reboots every ten minutes.")
    cust.fill("[name=what]", "The router reboots by itself")
    cust.fill("[name=when]", "Since yesterday 20:00")
    cust.click("button:has-text('Submit request')")
    cust.wait_for_selector("text=We have received your request")
    number = cust.inner_text(".ticket-number").lstrip("#")
    assert "Li Wei" in cust.content()
    assert re.search(r"/t/[\w-]{20,}/", cust.content())
    _shot(cust, "1-portal-submitted")
    ticket = Ticket.objects.get(pk=int(number))
    cust.goto(f"{base}/portal/tickets/{number}/")
    assert "We will reply by" in cust.content()  # the service-level promise

    # The agent finds it in the console, replies and proposes a solution.
    desk = _page(browser, errors)
    sign_in(desk, base, agent.username, factories.PASSWORD)
    desk.goto(f"{base}/console/at-risk/")
    desk.wait_for_selector(f"a:has-text('#{number}')")
    _shot(desk, "2-console-at-risk")
    desk.goto(f"{base}/console/tickets/")
    assert "left" in desk.inner_text(".sla")  # the countdown on the list
    _shot(desk, "2-console-list")
    desk.click("a:has-text('Router keeps rebooting')")
    desk.wait_for_url(f"**/console/tickets/{number}/")
    desk.fill("form[action$='/reply/'] textarea[name=body]", "We are on it: please keep the router powered on.")
    desk.click("button:has-text('Send reply')")
    desk.wait_for_selector("text=We are on it")
    assert "First response: met" in desk.inner_text(".sla-panel")
    desk.click("summary:has-text('Propose solutions')")
    desk.fill("input[name=title_1]", "Replace the router")
    desk.fill("textarea[name=tradeoffs_1]", "A courier brings a new one tomorrow.")
    desk.fill("input[name=title_2]", "Remote firmware reset")
    desk.click("button:has-text('Send options to the customer')")
    desk.wait_for_selector("text=Replace the router")
    _shot(desk, "3-console-ticket-with-options")

    # The customer reads the reply and chooses an option.
    cust.goto(f"{base}/portal/tickets/{number}/")
    assert "We are on it" in cust.content()
    cust.locator(".solution").filter(has_text="Replace the router").locator("button:has-text('Choose this')").click()
    cust.wait_for_selector(".solution.chosen:has-text('Replace the router')")
    _shot(cust, "4-portal-solution-chosen")
    ticket.refresh_from_db()
    assert ticket.chosen_solution is not None and ticket.chosen_solution.title == "Replace the router"

    # The agent verifies the fix internally, then resolves.
    desk.reload()
    desk.click("button:has-text('Mark fix internally verified')")
    desk.wait_for_selector("text=Fix verified by")
    desk.fill("form.status-actions input[name=reason]", "New router delivered and tested.")
    desk.click("form.status-actions button[value=resolve]")
    desk.wait_for_selector("text=Resolved — awaiting confirmation")
    _shot(desk, "5-console-resolved")

    # The customer confirms; the loop is closed.
    cust.goto(f"{base}/portal/tickets/{number}/")
    cust.click("button:has-text('Confirm it is solved')")
    cust.wait_for_load_state()
    _shot(cust, "6-portal-closed")
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert "Closed" in cust.content()
    assert errors == []  # no script errors and no Content-Security-Policy violations on any page
