"""Stored XSS, in real Chromium: hostile text in every field a person can fill reaches every page that shows it,
and nothing of it ever runs.

A corpus of payloads (kefu.testing.xss) goes through the real services into customers' and staff names,
tickets, replies, notes, attachments' names, inbound email (text, HTML and attachments), the knowledge base,
reply templates, chats, surveys, follow-ups, QA reviews, collaboration requests, meetings and approvals.
Then Chromium opens every page of the console, the portal, the tracking links, the help center and the
survey, as the people who see them. Chromium runs with the Content-Security-Policy switched off: the escaping
and the HTML sanitiser alone must stop every payload (the policy is the second wall, checked apart: every
page must send it). A payload that runs calls ``__xss('<marker>')``, which reports it with the field it came
in by; alert-style dialogs and markup that would run on a click are reported too.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections, transaction

from kefu.accounts.models import Department, Role, User
from kefu.accounts.services import create_staff_user, issue_api_token
from kefu.analytics.models import Report
from kefu.approvals import services as approvals
from kefu.approvals.models import DecisionKind
from kefu.assist.services import create_reply_template
from kefu.chat import services as chat_services
from kefu.chat.selectors import file_url
from kefu.collaboration import services as collaboration
from kefu.core.clock import now
from kefu.customers.models import Channel, Customer
from kefu.customers.services import add_order_reference, create_customer, update_customer
from kefu.feedback import services as feedback
from kefu.feedback.models import FollowUpTask, SurveyQuestion
from kefu.inbox import services as inbox
from kefu.inbox.models import InboundEmail, Mailbox
from kefu.knowledge import services as knowledge
from kefu.notifications.mailthread import ticket_thread_id
from kefu.notifications.models import Notification
from kefu.quality import services as quality
from kefu.quality.models import ReworkTask
from kefu.testing import factories
from kefu.testing.net import embedded_env, run_kefu, running_server, sign_in
from kefu.testing.proof import figure
from kefu.testing.xss import (
    INERT_ATTRIBUTES,
    INIT_SCRIPT,
    MARKER,
    PAYLOADS,
    SCAN_SCRIPT,
    all_payloads,
    evaluated_templates,
    hostile_email,
    html_corpus,
    markdown_corpus,
    marker,
)
from kefu.tickets import services as tickets
from kefu.tickets.models import Ticket
from kefu.web.tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from kefu.web.tests.test_permission_matrix import web_routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Every field the corpus goes into; the number is in each payload's marker (x07f12: payload 7 in field 12).
FIELDS = {
    1: "customer name", 2: "ticket subject", 3: "ticket tag", 4: "staff display name", 5: "ticket description",
    6: "5W1H facts", 7: "customer's message", 8: "agent's reply", 9: "agent's reply HTML", 10: "internal note",
    11: "progress update", 12: "solution options", 13: "fix verification note", 14: "resolution summary",
    15: "customer's objection", 16: "attachment name", 17: "customer company, account and notes",
    18: "order number", 19: "team name", 20: "email subject", 21: "email sender name", 22: "email text",
    23: "email HTML", 24: "email attachment name", 25: "held email's subject and sender", 26: "article title",
    27: "article Markdown", 28: "article questions", 29: "article feedback comment", 30: "reply template",
    31: "chat visitor's name and order", 32: "chat messages", 33: "chat file name", 34: "survey comment",
    35: "follow-up notes and outcome", 36: "QA review comments", 37: "rework note", 38: "collaboration request",
    39: "collaboration question, answer and delivery", 40: "meeting decisions and plan", 41: "approval reasons",
    42: "phone call caller", 43: "API token name", 44: "survey question", 45: "status change reason",
    46: "customer's phone",
}
# Shown in no page: an email's HTML is kept (sanitised) for the API, the console shows its text (field 9, the
# same sanitiser's output, is shown).
NOT_SHOWN = {23}
# What a person reads on a page: its text and what its form fields hold.
SHOWN_TEXT = """() => [document.body ? document.body.innerText : "",
  ...Array.from(document.querySelectorAll("textarea, input"), (el) => el.value)].join("\\n")"""
# Routes that answer with a file to download, never a page (checked apart: a download, sandboxed).
DOWNLOADS = {"web:console_attachment", "web:console_email_original", "web:portal_attachment",
             "web:track_attachment", "chat:file", "web:console_report_download"}
SKIPPED = {"web:logout"}  # a GET would end the session the walk runs in

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _short(field_no: int) -> list[str]:
    """One payload per object, for fields too short for the whole corpus."""
    return [p.text(field_no) for p in PAYLOADS]


def _long(field_no: int) -> str:
    return all_payloads(field_no)


@dataclass
class Planted:
    """What the corpus went into, and how to reach each page that shows it."""

    admin: User
    customer: Customer  # owns the showcase ticket; signs in to the portal
    showcase: Ticket
    tickets: list[Ticket] = field(default_factory=list)  # every ticket the corpus reached
    params: dict[str, Any] = field(default_factory=dict)
    qa_ticket: Ticket | None = None
    fields_planted: set[int] = field(default_factory=set)


def plant() -> Planted:
    team = factories.department(_short(19)[0][:100])
    finance = factories.department("Finance", kind=Department.Kind.OTHER)
    admin = factories.staff(Role.ADMIN, name="Admin Zhou")
    supervisor = factories.staff(Role.SUPERVISOR, name="Supervisor Qian")
    reviewer = factories.staff(Role.QA, name="Reviewer Sun")
    member = factories.staff(Role.DEPARTMENT, teams=(finance,), name="Finance Wu")
    desk = factories.staff(Role.AGENT, teams=(team,), name="Agent Li")
    planted: set[int] = {19}

    # One customer, agent and ticket per payload: names, subjects and tags are too short for the whole corpus.
    names, subjects, tags, agents_names = _short(1), _short(2), _short(3), _short(4)
    per_payload: list[Ticket] = []
    customers: list[Customer] = []
    for n in range(len(PAYLOADS)):
        customer = create_customer(name=names[n], email=f"xss{n}@example.com", phone=f"+86130000{n:05d}",
                                   actor=None, password=factories.PASSWORD if n == 0 else None, language="en")
        update_customer(customer, actor=admin, company=_short(17)[n][:200], account_ref=_short(17)[n][:64],
                        notes=_long(17))
        add_order_reference(customer, _short(18)[n][:64], actor=admin)
        agent = create_staff_user(username=f"xss-agent-{n}", email=f"xss-agent-{n}@staff.example",
                                  display_name=agents_names[n], role=Role.AGENT, password=None,
                                  departments=(team,), actor=None)
        ticket = tickets.open_ticket(customer=customer, subject=subjects[n], description=_long(5),
                                     actor=customer.user, team=team, tags=[tags[n]], auto_assign=False,
                                     facts={"what": _long(6), "when": _short(6)[n], "where": _short(6)[n - 1]})
        tickets.accept_ticket(ticket, actor=agent)
        per_payload.append(ticket)
        customers.append(customer)
    planted |= {1, 2, 3, 4, 5, 6, 17, 18}

    # The showcase ticket: every kind of message and step, each carrying the whole corpus.
    showcase, customer = per_payload[0], customers[0]
    tickets.assign_ticket(showcase, desk, actor=admin)
    showcase.refresh_from_db()
    update_customer(customer, actor=admin, phone=_short(46)[0][:32])
    with transaction.atomic():  # as its callers do (the portal, the API, the inbox): the service opens none
        tickets.add_customer_message(showcase, _long(7), actor=customer.user)
    uploads = [tickets.Upload(f"{name}.txt", b"hello", "text/plain") for name in _short(16)]
    tickets.reply_to_customer(showcase, _long(8), actor=desk, html=html_corpus(9), uploads=uploads)
    tickets.add_internal_note(showcase, _long(10), actor=desk)
    tickets.send_progress_update(showcase, progress=_long(11), obstacle=_long(11), next_step=_long(11), actor=desk)
    tickets.verify_customer_identity(showcase, "account", _short(17)[0][:64], actor=desk)
    tickets.change_status(showcase, "wait_internal", actor=desk, reason=_long(45))
    tickets.change_status(showcase, "resume", actor=desk, reason=_long(45))
    options = tickets.propose_solutions(showcase, [
        {"title": title, "description": _long(12), "tradeoffs": _long(12)} for title in _short(12)[:3]],
        actor=desk)
    tickets.choose_solution(showcase, options[0].pk, actor=customer.user)
    tickets.verify_fix(showcase, actor=desk, note=_long(13))
    tickets.resolve_ticket(showcase, actor=desk, summary=_long(14))
    tickets.object_to_resolution(showcase, _long(15), actor=customer.user)
    with transaction.atomic():  # as the phone system's intake does
        tickets.log_call(showcase, call_id="call-1", phase="ended", caller=_short(42)[0], agent=desk,
                         duration_s=60, recording_url="javascript:__xss('x07f42')")
    planted |= {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 45, 46}

    # Inbound email: one message per payload (subject, sender's name, a text part, an HTML part carrying the
    # whole corpus, attachments under hostile names), and a stranger's reply on the showcase thread (held).
    mailbox = Mailbox.objects.create(name="Support", address="support@kefu.localhost", team=team)
    email_tickets = []
    for n, (subject, sender) in enumerate(zip(_short(20), _short(21), strict=True)):
        raw = hostile_email(sender=(sender, f"mail{n}@example.com"), subject=subject, text=_long(22),
                            html=html_corpus(23), attachments={f"{_short(24)[n]}.txt": b"hi"})
        received = inbox.receive_email(raw, source=InboundEmail.Source.HTTP, mailbox=mailbox)
        assert inbox.process_email(received.inbound.pk, verify_dkim=inbox.no_dkim) == inbox.Outcome.NEW_TICKET
        received.inbound.refresh_from_db()
        assert received.inbound.ticket_id is not None
        email_tickets.append(Ticket.objects.get(pk=received.inbound.ticket_id))
    reply = hostile_email(sender=(customer.name, customer.email), subject=_long(20)[:200],
                          text=_long(22), html=html_corpus(23), attachments={f"{_short(24)[1]}.txt": b"hi"},
                          headers={"In-Reply-To": ticket_thread_id(showcase.pk)})
    received = inbox.receive_email(reply, source=InboundEmail.Source.HTTP, mailbox=mailbox)
    assert inbox.process_email(received.inbound.pk, verify_dkim=inbox.no_dkim) == inbox.Outcome.REPLY
    received.inbound.refresh_from_db()
    emailed_reply = received.inbound
    stranger = hostile_email(sender=(_short(25)[3], "stranger@example.com"), subject=_short(25)[0],
                             text=_long(25), html=html_corpus(25), attachments={},
                             headers={"In-Reply-To": ticket_thread_id(showcase.pk)})
    received = inbox.receive_email(stranger, source=InboundEmail.Source.HTTP, mailbox=mailbox)
    assert inbox.process_email(received.inbound.pk, verify_dkim=inbox.no_dkim) == inbox.Outcome.HELD
    received.inbound.refresh_from_db()
    held = received.inbound
    planted |= {20, 21, 22, 23, 24, 25}

    # The knowledge base: a public article in Markdown, its questions, a reader's comment; reply templates.
    article = knowledge.create_article(key="xss-article", actor=None)
    knowledge.save_draft(article, locale="en", title=_short(26)[3], body=_long(27) + "\n\n" + markdown_corpus(27),
                         questions=_short(28), actor=None)
    version = knowledge.publish(article, locale="en", actor=None)
    knowledge.record_feedback(version, helpful=False, comment=_long(29)[:500])
    template = create_reply_template(actor=admin, name=_short(30)[0], locale="en",
                                     body="Hello {customer_name},\n" + _long(30), keywords="router")
    planted |= {26, 27, 28, 29, 30}

    # A chat: the visitor's name and order, their messages and a file, then continued as a ticket.
    chat = chat_services.start_chat(chat_services.PreChat(name=_short(31)[0], phone="+8613900000000",
                                                          order_number=_short(31)[1][:64]))
    for text in _short(32):
        chat_services.post_message(chat, text, side="customer")
    # Payload 2 has no "/": a stored name keeps only what follows the last slash (kefu.core.filetypes).
    chat_file, _created = chat_services.post_message(chat, "", side="customer", upload=tickets.Upload(
        f"{_short(33)[1]}.png", b"\x89PNG\r\n\x1a\n", "image/png"))
    waiting = chat_services.start_chat(chat_services.PreChat(name=_short(31)[2], phone="+8613900000001",
                                                             order_number=_short(31)[3][:64]))
    chat_services.post_message(waiting, _long(32), side="customer")
    chat_services.take_chat(chat, agent=desk)
    chat_services.post_message(chat, _long(32), side="agent", actor=desk)
    chat_services.continue_as_ticket(chat, actor=desk)
    chat.refresh_from_db()
    planted |= {31, 32, 33}

    # Collaboration, a meeting and an approval request on the showcase ticket (back at work after the objection).
    showcase.refresh_from_db()
    request = collaboration.raise_request(showcase, department=finance, need=_long(38), deliverable=_long(38),
                                          acceptance_standard=_long(38), context=_long(38),
                                          due_at=now() + dt.timedelta(days=2), actor=desk)
    collaboration.ask_back(request, _long(39), actor=member)
    collaboration.answer_question(request, _long(39), actor=desk)
    collaboration.accept_request(request, actor=member)
    collaboration.deliver(request, _long(39), actor=member)
    collaboration.reject_delivery(request, _long(39), actor=desk)
    meeting = collaboration.record_meeting(showcase, held_at=now(), decisions=_long(40),
                                           other_participants=_long(40)[:500], actor=desk, plan=[
                                               collaboration.PlanLine(what=text, who=text[:100],
                                                                      due_at=now() + dt.timedelta(days=1))
                                               for text in _short(40)[:5]])
    decision = approvals.record_decision(showcase, kind=DecisionKind.objects.get(key="refund"),
                                         amount=Decimal("99999"), reason=_long(41), actor=desk)
    refused = approvals.record_decision(showcase, kind=DecisionKind.objects.get(key="refund"),
                                        amount=Decimal("99998"), reason=_long(41), actor=desk)
    approvals.decide_request(refused, approve=False, reason=_long(41), actor=admin)
    planted |= {38, 39, 40, 41}

    # A closed ticket with a bad survey (its comment), the follow-up, a QA review and the agent's rework;
    # another whose survey is still open, with an administrator's question in hostile text.
    feedback.save_question(None, key="xss", kind=SurveyQuestion.Kind.COMMENT, text_en=_short(44)[0],
                           text_zh=_short(44)[1], required=False, position=99, active=True, actor=admin)
    closed = _closed(per_payload[1], per_payload[1].owner)
    answered_token = _survey_token(closed)
    feedback.submit_survey(answered_token, {"attitude": "1", "speed": "1", "solution": "1", "overall": "1",
                                            "nps": "0", "comment": _long(34), "xss": _long(34)})
    task = FollowUpTask.objects.get(ticket=closed)
    feedback.record_contact(task, note=_long(35), actor=supervisor)
    feedback.close_followup(task, apology=True, remedy=_long(35), compensation=_long(35)[:200],
                            root_cause=_long(35), note=_long(35), actor=supervisor)
    review = quality.start_review(closed, actor=reviewer)
    criteria = list(review.scorecard.criteria.values_list("pk", flat=True))
    first_message = closed.messages.order_by("pk").values_list("pk", flat=True).first()
    assert first_message is not None
    quality.save_review(review, scores=dict.fromkeys(criteria, 0), comments=dict.fromkeys(criteria, _long(36)),
                        message_comments={first_message: _long(36)}, summary=_long(36), submit=True,
                        actor=reviewer)
    rework = ReworkTask.objects.get(ticket=closed)
    assert rework.agent is not None
    quality.complete_rework(rework, _long(37), actor=rework.agent)
    open_survey = _closed(per_payload[2], per_payload[2].owner)
    open_token = _survey_token(open_survey)
    planted |= {34, 35, 36, 37, 44}

    issue_api_token(admin, _short(43)[0], actor=admin)
    planted.add(43)

    report = Report.objects.create(kind="weekly", start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 8))
    result = Planted(admin=admin, customer=customer, showcase=showcase, qa_ticket=closed, fields_planted=planted)
    assert chat.ticket_id is not None
    result.tickets = [*per_payload, *email_tickets, Ticket.objects.get(pk=chat.ticket_id)]
    result.params = {
        "ticket_id": showcase.pk, "customer_id": customer.pk, "token": showcase.tracking_token,
        "attachment_id": showcase.messages.filter(attachments__isnull=False).values_list(
            "attachments__pk", flat=True).first(),
        "option_id": options[0].pk, "request_id": request.pk, "meeting_id": meeting.pk,
        "decision_id": decision.pk, "task_id": task.pk, "rework_id": rework.pk, "report_id": report.pk,
        "fmt": "csv", "key": article.key, "template_id": template.pk, "inbound_id": held.pk,
        "message_id": emailed_reply.ticket_message_id, "chat_token": chat.token,
        "signed": file_url(chat_file).rstrip("/").rsplit("/", 1)[1], "survey_token": open_token,
        "answered_survey_token": answered_token, "token_id": 0,
        "secret": "not-a-real-sign-in-secret", "slug": "none",
    }
    return result


def _closed(ticket: Ticket, owner: User | None) -> Ticket:
    assert owner is not None
    tickets.verify_fix(ticket, actor=owner)
    tickets.resolve_ticket(ticket, actor=owner)
    closed = tickets.confirm_resolution(ticket, actor=ticket.customer.user)
    assert feedback.survey_ticket(closed.pk) is not None
    return closed


def _survey_token(ticket: Ticket) -> str:
    url = str(Notification.objects.get(ticket_id=ticket.pk, template="survey").context["survey_url"])
    return url.rstrip("/").rsplit("/", 1)[1]


# ---------------------------------------------------------------------------------------------- the walk


def _route_params(route: str, name: str, planted: Planted) -> dict[str, Any]:
    values = {}
    for param in _PARAM.findall(route):
        if param == "token" and name.startswith("web:survey"):
            values[param] = planted.params["survey_token"]
        elif param == "task_id" and name == "web:console_rework_done":
            values[param] = planted.params["rework_id"]
        elif param == "ticket_id" and name.startswith("web:console_qa_"):
            assert planted.qa_ticket is not None
            values[param] = planted.qa_ticket.pk
        else:
            assert param in planted.params, f"the walk does not know the URL parameter {param!r} of {name}"
            values[param] = planted.params[param]
    return values


def _audience(route: str, name: str) -> str | None:
    """Who opens the route's page: staff, the showcase's customer, or anyone (None: nobody, it is no page)."""
    if name in SKIPPED or name.startswith("inbox:") or route.startswith("hooks/"):
        return None
    if route.startswith(("t/", "s/", "help/", "chat/widget/", "login/", "portal/login-link/", "portal/new/")):
        return "anyone"
    if route.startswith(("portal/", "chat/")) or name == "web:preferences":
        return "customer"
    return "staff"


def pages(planted: Planted) -> tuple[dict[str, list[str]], list[str]]:
    """The pages each audience opens, and the downloads (path by path)."""
    urls: dict[str, list[str]] = {"staff": ["/preferences/"], "customer": [], "anyone": []}
    downloads: list[str] = []
    for route, name in web_routes():
        audience = _audience(route, name)
        if audience is None:
            continue
        values = _route_params(route, name, planted)
        path = "/" + _PARAM.sub(lambda m, v=values: str(v[m.group(1)]), route)  # type: ignore[misc]
        if name in DOWNLOADS:
            downloads.append(path)
        else:
            urls[audience].append(path)
    # Every ticket the corpus reached, in the console and behind its tracking link; the answered survey.
    urls["staff"] += [f"/console/tickets/{t.pk}/" for t in planted.tickets]
    urls["staff"] += ["/console/tickets/?q=xss", "/console/customers/?q=xss", "/help/?q=xss"]
    # Behind tracking links, the tickets with a payload in their own fields (an emailed ticket's page shows the
    # same fields in the same places).
    urls["anyone"] += [f"/t/{t.tracking_token}/" for t in planted.tickets if t.channel != Channel.EMAIL]
    urls["anyone"] += [f"/s/{planted.params['answered_survey_token']}/", "/help/?q=x01f27"]
    urls["customer"] += ["/portal/chat/"]
    return {k: list(dict.fromkeys(v)) for k, v in urls.items()}, downloads


@dataclass
class Findings:
    executed: list[str] = field(default_factory=list)  # "marker on url"
    dialogs: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)  # active markup found in a page
    evaluated: list[str] = field(default_factory=list)  # {{7*7}} that became 49
    documents: list[tuple[str, int, str]] = field(default_factory=list)  # url, status, CSP header
    broken: list[str] = field(default_factory=list)  # pages that answered an error
    seen: Counter[str] = field(default_factory=Counter)  # marker → times shown as text
    opened: int = 0


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        connections.close_all()


def _context(browser: Any, findings: Findings, base: str) -> Any:
    # bypass_csp: the escaping alone must hold; the policy's presence is checked on the responses.
    context = browser.new_context(locale="en-US", bypass_csp=True, viewport={"width": 1280, "height": 900})

    def report(_source: Any, kind: str, detail: str, url: str) -> None:
        if kind == "executed":
            findings.executed.append(f"{detail} on {url.removeprefix(base)}")

    context.expose_binding("__xssReport", report)
    context.add_init_script(INIT_SCRIPT)
    return context


def _open(page: Any, url: str, base: str, findings: Findings) -> bool:
    """Open one page and look at it; False when Chromium showed its own error page instead (the page is then
    spent: its error navigation would interrupt the next one)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        response = page.goto(base + url, wait_until="load")
        status = response.status if response is not None else 0
    except PlaywrightError as exc:
        # Chromium shows no page for an error answered with an empty body (an action's route, POST only).
        status = findings.documents[-1][1] if findings.documents and findings.documents[-1][0] == url else 0
        if status != 405:
            findings.broken.append(f"{url}: {exc.message.splitlines()[0]}")
        return False
    if status == 405:
        return True
    findings.opened += 1
    if status >= 400:
        findings.broken.append(f"{url}: {status}")
    # Handlers that fire after the load event (ontoggle, onfocus) get their moment.
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    page.wait_for_timeout(50)
    findings.injected += [f"{hit} on {url}" for hit in page.evaluate(SCAN_SCRIPT, list(INERT_ATTRIBUTES))]
    text = page.evaluate(SHOWN_TEXT)
    findings.evaluated += [f"{hit} on {url}" for hit in evaluated_templates(text)]
    findings.seen.update(m.group(0) for m in MARKER.finditer(text))
    return True


def _page(context: Any, base: str, findings: Findings) -> Any:
    page = context.new_page()

    def dialog(opened: Any) -> None:  # alert(), confirm(), prompt(): reported, then dismissed
        findings.dialogs.append(f"{opened.message} on {page.url}")
        opened.dismiss()

    def document(response: Any) -> None:
        if response.request.resource_type in {"document", "iframe"}:
            findings.documents.append((response.url.removeprefix(base), response.status,
                                       response.headers.get("content-security-policy", "")))

    page.on("dialog", dialog)
    page.on("response", document)
    return page


def _walk(browser: Any, base: str, urls: list[str], findings: Findings, login: tuple[str, str] | None) -> Any:
    context = _context(browser, findings, base)
    page = _page(context, base, findings)
    if login is not None:
        sign_in(page, base, *login)
        page.wait_for_load_state()
    pending = list(urls)
    followed: Counter[str] = Counter()
    while pending:
        url = pending.pop(0)
        if not _open(page, url, base, findings):
            page.close()
            page = _page(context, base, findings)  # the same session (the context's cookies) in a fresh tab
            continue
        # A list longer than a page: its next pages show the rest of the corpus.
        following = page.locator("a[rel=next]")
        route = url.split("?", 1)[0]
        if following.count() and followed[route] < 4:
            followed[route] += 1
            href = following.first.get_attribute("href") or ""
            pending.insert(0, route + href if href.startswith("?") else href)
    return context


def test_no_stored_payload_runs_on_any_page_and_every_page_sends_a_content_security_policy(
        browser: Any, live_server: Any) -> None:
    started = time.monotonic()
    planted = plant()
    planting = time.monotonic() - started
    urls, downloads = pages(planted)
    base = live_server.url
    findings = Findings()

    contexts = [
        _walk(browser, base, urls["staff"], findings, (planted.admin.username, factories.PASSWORD)),
        _walk(browser, base, urls["customer"], findings, (planted.customer.user.username, factories.PASSWORD)),
        _walk(browser, base, urls["anyone"], findings, None),
    ]
    # Attachments under hostile names, the original email, the chat's file: downloads, never pages.
    staff_request, customer_request = contexts[0].request, contexts[1].request
    not_downloads = []
    for path in downloads:
        request = customer_request if path.startswith("/portal/") else staff_request
        response = request.get(base + path, max_redirects=0)
        disposition = response.headers.get("content-disposition", "")
        csp = response.headers.get("content-security-policy", "")
        if response.status != 200 or not disposition.startswith("attachment") or "sandbox" not in csp:
            not_downloads.append(f"{path}: {response.status} {disposition!r} {csp!r}")
    for context in contexts:
        context.close()

    html_pages = [(url, status) for url, status, _csp in findings.documents]
    without_csp = [f"{url} ({status})" for url, status, csp in findings.documents
                   if "script-src 'self'" not in csp or "object-src 'none'" not in csp]
    fields_seen = {int(m[4:]) for m in findings.seen}
    payloads_seen = {m[:3] for m in findings.seen}
    elapsed = time.monotonic() - started
    figure(f"stored XSS: {len(PAYLOADS)} payloads in {len(planted.fields_planted)} fields; "
          f"{findings.opened} pages opened ({len(html_pages)} documents), {len(downloads)} downloads; "
          f"{sum(findings.seen.values())} payload instances shown as text ({len(findings.seen)} distinct); "
          f"executed {len(findings.executed)}, dialogs {len(findings.dialogs)}, "
          f"active markup {len(findings.injected)}, templates evaluated {len(findings.evaluated)}; "
          f"pages without CSP {len(without_csp)}; {elapsed:.0f} s ({planting:.0f} s planting)")

    assert findings.executed == [], "payloads ran:\n" + "\n".join(findings.executed)
    assert findings.dialogs == [], "dialogs opened:\n" + "\n".join(findings.dialogs)
    assert findings.injected == [], "active markup in pages:\n" + "\n".join(sorted(set(findings.injected)))
    assert findings.evaluated == [], "text went through a template engine:\n" + "\n".join(findings.evaluated)
    assert without_csp == [], "pages without the Content-Security-Policy:\n" + "\n".join(without_csp)
    assert not_downloads == [], "files not served as sandboxed downloads:\n" + "\n".join(not_downloads)
    assert findings.broken == [], "pages that did not open:\n" + "\n".join(findings.broken)
    # The walk really showed the corpus: every field on some page, every payload somewhere as text.
    unseen = sorted(planted.fields_planted - NOT_SHOWN - fields_seen)
    assert unseen == [], [FIELDS[n] for n in unseen]
    assert {p.key for p in PAYLOADS} <= payloads_seen
    assert findings.opened > 100


# Payloads that are harmless as raw HTML: they are dangerous only where text is decoded twice (entities, \u
# escapes), rendered as Markdown, or evaluated as a template.
ONLY_IN_OTHER_CONTEXTS = {"x08", "x13", "x14", "x15", "x16"}


def test_the_walk_would_notice_each_payload_that_got_through_unescaped(browser: Any) -> None:
    """The detector itself: each payload put into a page raw (as HTML, in an attribute, as a link) is reported
    as run or as active markup. Without this, a walk that reports nothing might only be blind."""
    findings = Findings()
    base = "http://canary.kefu.test"
    contexts = "".join(f'<div>{p.text(0)}</div><input value="{p.text(0)}"><a href="{p.text(0)}">link</a>'
                       for p in PAYLOADS)
    context = _context(browser, findings, base)
    context.route(f"{base}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=f"<!doctype html><html><body>{contexts}</body></html>"))
    page = _page(context, base, findings)
    _open(page, "/unescaped/", base, findings)
    context.close()
    caught = {hit[:3] for hit in findings.executed} | {m.group(0)[:3] for hit in findings.injected + findings.dialogs
                                                        for m in MARKER.finditer(hit)}
    assert {p.key for p in PAYLOADS} - ONLY_IN_OTHER_CONTEXTS - caught == set()
    assert len(findings.executed) >= 10 and findings.dialogs  # most of them run outright


CHAT_PASSWORD = "desk-password-2026"


@pytest.fixture
def chat_server(tmp_path: Any) -> Iterator[str]:
    """kefu under uvicorn (the chat's WebSocket needs the ASGI server) with an agent who can sign in."""
    env = embedded_env(tmp_path)
    run_kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Role; from kefu.accounts.services import create_staff_user;"
        "from kefu.testing import factories;"
        "create_staff_user(username='desk', email='desk@staff.example', display_name='Agent Han', role=Role.AGENT,"
        f" password='{CHAT_PASSWORD}', departments=(factories.department('Chat team'),), actor=None)"))
    with running_server(env, tmp_path / "server.log") as base:
        yield base


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="its server runs on SQLite whatever the suite uses")
def test_no_payload_typed_into_a_live_chat_runs_for_the_visitor_or_the_agent(browser: Any, chat_server: str) -> None:
    """Chat messages arrive over the WebSocket and are drawn by chat.js: the visitor types the corpus (and
    sends a file under a hostile name), the agent reads it live and answers with the corpus."""
    from playwright.sync_api import expect

    base, findings = chat_server, Findings()
    visitor = _context(browser, findings, base).new_page()
    visitor.goto(f"{base}/chat/widget/")
    visitor.fill("input[name=name]", PAYLOADS[3].text(31))
    visitor.fill("input[name=order]", PAYLOADS[1].text(31)[:64])
    visitor.click("button:has-text('Start chat')")
    expect(visitor.locator(".chat-msg.from-system").first).to_contain_text(marker(PAYLOADS[3].key, 31))
    for payload in PAYLOADS:
        visitor.fill("textarea[name=body]", payload.text(32))
        visitor.press("textarea[name=body]", "Enter")
    expect(visitor.locator(".chat-msg.mine")).to_have_count(len(PAYLOADS))
    visitor.set_input_files("input[type=file]", files=[
        {"name": f"{PAYLOADS[1].text(33)}.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}])
    expect(visitor.locator(".chat-msg.mine a")).to_have_count(1)

    desk = _context(browser, findings, base).new_page()
    sign_in(desk, base, "desk", CHAT_PASSWORD)
    desk.wait_for_load_state()
    desk.goto(f"{base}/console/chats/")
    pane = desk.locator(".chat-pane").first
    expect(pane.locator(".chat-msg.from-customer")).to_have_count(len(PAYLOADS) + 1)
    pane.locator("button:has-text('Take this chat')").click()
    pane.locator("textarea[name=body]").fill(all_payloads(8))
    pane.locator("button:has-text('Send')").click()
    expect(visitor.locator(".chat-msg.from-agent")).to_contain_text(PAYLOADS[-1].text(8))

    seen: Counter[str] = Counter()
    for page in (visitor, desk):
        page.wait_for_timeout(200)
        findings.injected += page.evaluate(SCAN_SCRIPT, list(INERT_ATTRIBUTES))
        seen.update(m.group(0) for m in MARKER.finditer(page.evaluate(SHOWN_TEXT)))
    figure(f"XSS in live chat: {len(PAYLOADS)} payloads typed, {sum(seen.values())} shown as text; "
          f"executed {len(findings.executed)}, active markup {len(findings.injected)}")
    assert findings.executed == [], "payloads ran:\n" + "\n".join(findings.executed)
    assert findings.injected == [], "active markup in the chat:\n" + "\n".join(findings.injected)
    assert {p.key for p in PAYLOADS} <= {m[:3] for m in seen}
    assert any(m.endswith("f33") for m in seen)  # the file's hostile name is shown, as text
