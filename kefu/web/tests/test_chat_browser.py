"""The chat in real Chromium against a real uvicorn server: a visitor chats in the embedded widget, an
agent answers in the console and turns the chat into a ticket, and the visitor's emailed reply to our
notification threads back into that ticket."""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server
from kefu.web.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]

PASSWORD = "desk-password-2026"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    env = embedded_env(tmp_path)
    with running_server(env, tmp_path / "server.log") as base:
        yield env, base


@contextmanager
def _shop(base: str) -> Iterator[str]:
    """Another site (its own origin) whose page embeds the widget with one script tag."""
    script = f'<script src="{base}/static/kefu/widget.js"></script>'
    page = f"<!doctype html><html><body><h1>A shop</h1>{script}</body></html>"

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{site.server_address[1]}/"
    finally:
        site.shutdown()
        site.server_close()


def _prepare(env: dict[str, str]) -> str:
    """An agent who can sign in and an administrator's API token for the mail hand-over; returns the token."""
    return run_kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Role; from kefu.accounts.services import create_staff_user, issue_api_token;"
        "from kefu.testing import factories;"
        f"create_staff_user(username='desk', email='desk@staff.example', display_name='Agent Han', role=Role.AGENT,"
        f" password='{PASSWORD}', departments=(factories.department('Chat team'),), actor=None);"
        "admin = factories.staff(Role.ADMIN); print(issue_api_token(admin, 'mta', actor=admin)[1])"))


def test_widget_chat_becomes_a_ticket_and_an_emailed_reply_threads_back(server: tuple[dict[str, str], str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    env, base = server
    token = _prepare(env)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, _shop(base) as shop_url:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        shop = browser.new_context(locale="en-US").new_page()
        shop.goto(shop_url)
        shop.click("[data-kefu-chat-button]")
        widget = shop.frame_locator("iframe[data-kefu-chat-frame]")
        widget.locator("input[name=name]").fill("Visitor Xu")
        widget.locator("input[name=email]").fill("xu@example.com")
        widget.locator("button:has-text('Start chat')").click()
        expect(widget.locator(".chat-msg.from-system").first).to_contain_text("Visitor Xu")
        widget.locator("textarea[name=body]").fill("My parcel arrived damaged")
        widget.locator("button:has-text('Send')").click()
        expect(widget.locator(".chat-msg.mine")).to_contain_text("My parcel arrived damaged")

        desk = browser.new_context(locale="en-US").new_page()
        desk.goto(f"{base}/login/")
        desk.fill("input[name=username]", "desk")
        desk.fill("input[name=password]", PASSWORD)
        desk.click("button[type=submit]:has-text('Sign in')")
        desk.goto(f"{base}/console/chats/")
        pane = desk.locator(".chat-pane").first
        expect(pane.locator(".chat-msg.from-customer")).to_contain_text("My parcel arrived damaged")
        pane.locator("button:has-text('Take this chat')").click()
        expect(widget.locator(".chat-status")).to_contain_text("Agent Han")
        pane.locator("textarea[name=body]").fill("Sorry! Please send a photo; we will replace it.")
        pane.locator("button:has-text('Send')").click()
        expect(widget.locator(".chat-msg.from-agent")).to_contain_text("send a photo")
        expect(pane.locator(".chat-msg.mine .read")).to_have_count(1)  # the visitor has seen it
        shop.screenshot(path=str(ARTIFACTS / "chat-1-widget.png"))
        desk.screenshot(path=str(ARTIFACTS / "chat-2-desk.png"), full_page=True)

        pane.locator("button:has-text('Continue as ticket')").click()
        expect(widget.locator(".chat-status")).to_contain_text("Continued as ticket #")
        number = re.search(r"#(\d+)", widget.locator(".chat-status").inner_text())
        assert number is not None
        ticket = number.group(1)

        # The acknowledgement goes out by email (written to files in this mode); the visitor answers it.
        run_kefu(env, "shell", "-c", "from kefu.notifications.services import deliver_due; deliver_due()")
        sent = "\n".join(p.read_text() for p in (Path(env["KEFU_DATA_DIR"]) / "sent-mail").glob("*.log"))
        message_id = re.search(r"^Message-ID: (<notification\.\d+\.\d+@[^>]+>)", sent, re.M)
        assert message_id is not None and "xu@example.com" in sent
        reply = EmailMessage()
        reply["From"], reply["To"] = "Visitor Xu <xu@example.com>", "support@kefu.localhost"
        reply["Subject"], reply["Message-ID"] = f"Re: [#{ticket}]", "<xu-reply@example.com>"
        reply["In-Reply-To"] = reply["References"] = message_id.group(1)
        reply.set_content("Here is the photo of the box.\n\nOn Thu, kefu wrote:\n> We have received your request")
        request = urllib.request.Request(  # noqa: S310 (the test's own server)
            f"{base}/api/v1/inbox/email", data=reply.as_bytes(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            handed = json.loads(response.read())
        assert handed["outcome"] == "reply" and str(handed["ticket"]) == ticket

        desk.goto(f"{base}/console/tickets/{ticket}/")
        expect(desk.locator(".thread")).to_contain_text("Here is the photo of the box.")
        expect(desk.locator(".thread")).to_contain_text("My parcel arrived damaged")  # the transcript
        expect(desk.locator(".thread")).not_to_contain_text("We have received your request")
        desk.screenshot(path=str(ARTIFACTS / "chat-3-ticket.png"), full_page=True)
        browser.close()
