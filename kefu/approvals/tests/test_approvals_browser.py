"""Approval above the limit in real Chromium against a real server: the agent asks on the ticket page, the
team's supervisor approves in the approvals queue, the agent sees the decision on the ticket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server, sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]

CHROMIUM = os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "approvals-password-2026"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = embedded_env(tmp_path)
    run_kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Role; from kefu.accounts.services import create_staff_user;"
        "from kefu.testing import factories; team = factories.department('Billing');"
        f"agent = create_staff_user(username='zhou', email='zhou@staff.example', display_name='Agent Zhou',"
        f" role=Role.AGENT, password='{PASSWORD}', departments=(team,), language='en', actor=None);"
        f"create_staff_user(username='li', email='li@staff.example', display_name='Supervisor Li',"
        f" role=Role.SUPERVISOR, password='{PASSWORD}', departments=(team,), language='en', actor=None);"
        "t = factories.worked_ticket(agent, team=team, subject='Blender arrived broken');"
        "print('TICKET', t.pk)"))
    with running_server(env, tmp_path / "server.log") as base:
        yield base


def _sign_in(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, base, login, PASSWORD)


def test_an_agent_asks_and_a_supervisor_approves_in_the_browser(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        agent = browser.new_context(locale="en-US").new_page()
        _sign_in(agent, base, "zhou")
        agent.goto(f"{base}/console/tickets/?owner=mine")
        agent.locator("a:has-text('Blender arrived broken')").first.click()
        card = agent.locator(".approvals-panel")
        card.locator("summary:has-text('Decide a refund or compensation')").click()
        expect(card.locator("select[name=kind]")).to_contain_text("Refund — alone up to 200.00 CNY")
        card.locator("select[name=kind]").select_option("refund")
        card.locator("input[name=amount]").fill("480")
        card.locator("textarea[name=reason]").fill("Broken on arrival; the customer wants the money back")
        card.locator("button:has-text('Decide or request approval')").click()
        expect(agent.locator(".flash")).to_contain_text("Refund of 480.00 CNY is above your limit: approval requested.")
        expect(agent.locator(".approvals-panel .decision-pending")).to_contain_text("Waiting for approval")

        supervisor = browser.new_context(locale="en-US").new_page()
        _sign_in(supervisor, base, "li")
        supervisor.goto(f"{base}/console/approvals/")
        row = supervisor.locator(".approvals-waiting tbody tr").first
        expect(row).to_contain_text("Broken on arrival")
        row.locator("input[name=reason]").fill("Agreed, VIP customer")
        row.locator("button:has-text('Approve')").click()
        expect(supervisor.locator(".flash")).to_contain_text("Approved: Refund of 480.00 CNY")
        expect(supervisor.locator(".approvals-recent")).to_contain_text("Agreed, VIP customer")

        agent.reload()
        expect(agent.locator(".approvals-panel .decision-approved")).to_contain_text("Approved")
        expect(agent.locator("li.event-approval_approved")).to_contain_text(
            "Approved Refund of 480.00 CNY asked by Agent Zhou: Agreed, VIP customer")
        browser.close()
