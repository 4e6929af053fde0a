"""The collaboration inbox in real Chromium against a real server: the ticket's owner raises a request from
the ticket page; a member of the logistics department finds it in the inbox, asks back, accepts and
delivers; the owner sees each step on the ticket's timeline and accepts the delivery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server, sign_in
from kefu.web.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]

PASSWORD = "collab-desk-password-2026"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    env = embedded_env(tmp_path)
    run_kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Department, Role; from kefu.accounts.services import create_staff_user;"
        "from kefu.testing import factories; from kefu.tickets import services;"
        f"owner = create_staff_user(username='owner', email='owner@staff.example', display_name='Agent Han',"
        f" role=Role.AGENT, password='{PASSWORD}', actor=None);"
        "logistics = factories.department('Logistics', kind=Department.Kind.OTHER);"
        f"create_staff_user(username='wu', email='wu@staff.example', display_name='Wu (logistics)',"
        f" role=Role.DEPARTMENT, password='{PASSWORD}', departments=(logistics,), actor=None);"
        "customer = factories.customer('Li Lei', email='lilei@example.com', language='en');"
        "ticket = factories.ticket(customer, subject='Parcel lost on the way');"
        "services.accept_ticket(ticket, actor=owner)"))
    with running_server(env, tmp_path / "server.log") as base:
        yield env, base


def _sign_in(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, base, login, PASSWORD)


def test_department_member_works_a_request_from_the_inbox(server: tuple[dict[str, str], str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    _env, base = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        owner = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai").new_page()
        _sign_in(owner, base, "owner")
        owner.goto(f"{base}/console/tickets/")
        owner.locator("a", has_text="Parcel lost on the way").first.click()
        panel = owner.locator(".collaboration-panel")
        panel.locator("summary", has_text="Ask another department").click()
        form = panel.locator("form.collab-raise")
        form.locator("select[name=department]").select_option(label="Logistics")
        form.locator("textarea[name=need]").fill("Trace the parcel with the carrier")
        form.locator("textarea[name=deliverable]").fill("The carrier's trace report")
        form.locator("textarea[name=acceptance_standard]").fill("Shows the last scan")
        form.locator("textarea[name=context]").fill("Order 4411, shipped 1 Dec")
        form.locator("button:has-text('Send the request')").click()
        expect(owner.locator(".flash")).to_contain_text("The request was sent to Logistics.")
        expect(panel.locator(".collab-requests")).to_contain_text("Waiting for the department")
        ticket_url = owner.url.split("#")[0]

        member = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai").new_page()
        _sign_in(member, base, "wu")
        member.goto(f"{base}/console/requests/")
        row = member.locator(".collaboration-inbox tbody tr").first
        expect(row).to_contain_text("Parcel lost on the way")
        expect(row).to_contain_text("Waiting for the department")
        expect(member.locator("nav")).not_to_contain_text("Customers")  # only their own pages
        member.screenshot(path=str(ARTIFACTS / "collab-1-inbox.png"), full_page=True)
        row.locator("a", has_text="Trace the parcel").click()
        expect(member.locator("main")).to_contain_text("Order 4411, shipped 1 Dec")
        expect(member.locator("main")).not_to_contain_text("lilei@example.com")
        member.locator("textarea[name=text]").last.fill("Was it SF Express?")
        member.locator("button:has-text('Ask back')").click()
        expect(member.locator(".request-state")).to_contain_text("Question to the owner")

        owner.goto(ticket_url)
        expect(owner.locator(".timeline")).to_contain_text("Logistics asked: Was it SF Express?")
        owner.locator(".collab-requests a").first.click()
        owner.locator("textarea[name=text]").first.fill("Yes, SF Express")
        owner.locator("button:has-text('Answer')").click()
        expect(owner.locator(".request-state")).to_contain_text("Waiting for the department")

        member.reload()
        member.locator("button:has-text('Accept the request')").click()
        expect(member.locator(".request-state")).to_contain_text("Accepted")
        member.locator("form:has(input[value=deliver]) textarea[name=text]").fill("Last scan: Hangzhou hub")
        member.locator("button:has-text('Deliver')").click()
        expect(member.locator(".request-state")).to_contain_text("Delivered")
        expect(member.locator(".collaboration-notes")).to_contain_text("Yes, SF Express")
        member.screenshot(path=str(ARTIFACTS / "collab-2-request.png"), full_page=True)
        closed = member.goto(ticket_url)
        assert closed is not None and closed.status == 404  # the ticket itself stays closed to the department

        owner.reload()
        owner.locator("button:has-text('Accept the delivery')").click()
        expect(owner.locator(".request-state")).to_contain_text("Done")
        owner.goto(ticket_url)
        timeline = owner.locator(".timeline")
        expect(timeline).to_contain_text("Logistics delivered the collaboration request.")
        expect(timeline).to_contain_text("Accepted the delivery of Logistics.")
        owner.screenshot(path=str(ARTIFACTS / "collab-3-ticket.png"), full_page=True)
        browser.close()
