"""The permission matrix: every route (web and API) × every role × own and foreign objects.

The expectation comes from the product's rules (``expected`` below), not from what the code does.
A route that is not classified in ``WEB_GROUPS`` / ``API_GROUPS`` fails the test, so a new route cannot
slip past it. Denials must look exactly like "not found": a foreign object's answer equals the answer
for an object that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from kefu.accounts.models import Role, User
from kefu.accounts.services import issue_api_token
from kefu.analytics.models import Report
from kefu.api.urls import api
from kefu.approvals import services as approvals
from kefu.approvals.models import DecisionKind
from kefu.assist.models import ReplyTemplate
from kefu.chat import services as chat_services
from kefu.chat.selectors import file_url
from kefu.collaboration import services as collaboration
from kefu.core.clock import now
from kefu.customers.models import Customer
from kefu.feedback import services as feedback
from kefu.feedback.models import FollowUpTask
from kefu.inbox.models import ChannelEndpoint, InboundEmail
from kefu.notifications.models import Notification
from kefu.quality import services as quality
from kefu.quality.models import ReworkTask
from kefu.testing import factories
from kefu.testing.proof import figure
from kefu.tickets import services
from kefu.tickets.models import Attachment, SolutionOption, Ticket

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer", "agent", "supervisor", "admin", "qa", "department")
STAFF = {"agent", "supervisor", "admin", "qa"}
WRITERS = {"agent", "supervisor", "admin"}
ALL_SEEING = {"supervisor", "admin", "qa"}
MISSING_ID = 987654
MISSING_TOKEN = "no-such-tracking-token-0000000000"


def expected(group: str, role: str, variant: str) -> bool:
    """May ``role`` reach ``variant`` (own / foreign object) through a route of ``group``?"""
    sees_ticket = role in ALL_SEEING or (role == "agent" and variant == "own")
    writes_ticket = role in WRITERS and sees_ticket
    customer_own = role == "customer" and variant == "own"
    rules = {
        "public": True,
        "visitor": role in {"anonymous", "customer"},  # staff are sent to the console instead
        "track": True,  # the tracking token is the credential, whoever holds it
        "authenticated": role != "anonymous",
        "own_token": role != "anonymous" and variant == "own",
        "staff": role in STAFF,
        "staff_write": role in WRITERS,
        "staff_own_token": role in STAFF and variant == "own",
        "staff_customer": role in STAFF,
        "staff_ticket": sees_ticket,
        "staff_ticket_write": writes_ticket,
        "customer_portal": role == "customer",
        "customer_ticket": customer_own,
        "ticket_read": customer_own or sees_ticket,
        "ticket_write": customer_own or writes_ticket,
        "customer_or_staff": role == "customer" or role in STAFF,
        "admin_site": role == "admin",
        "supervisor": role in {"supervisor", "admin"},
        "admin": role == "admin",
        "help_article": variant == "own" or role in STAFF,  # own: a public article, foreign: an internal one
        "staff_write_get_staff": role in STAFF,  # QA may read the editor; its POST is refused (tested apart)
        "signed": False,  # a channel's own signature is the credential: no session opens it
        # Collaboration: department members work their own department's requests; staff read the requests on
        # tickets they see; the owner's side raises requests and meetings ("staff_ticket_write": by then the
        # matrix's agent has made itself the owner of its own ticket through console_assign).
        "collaborator": role in STAFF or role == "department",
        "collab_request": (role == "department" and variant == "own") or sees_ticket,
        "department_step": role == "department" and variant == "own",
        "collab_ledger": role in {"supervisor", "admin", "department"},
        "reviewer": role in {"qa", "supervisor", "admin"},
        "survey_results": role in {"qa", "supervisor", "admin"},
        "rework": role in {"supervisor", "admin"} or (role == "agent" and variant == "own"),
        "requester": False,  # only whoever asked may withdraw a request: nobody of the matrix's roles did
    }
    return rules[group]


WEB_GROUPS = {
    "web:home": "authenticated",
    "web:login": "public",
    "web:logout": "authenticated",
    "web:set_language": "public",
    "web:preferences": "authenticated",
    "web:create_token": "staff",
    "web:revoke_token": "own_token",
    "web:console_tickets": "staff",
    "web:console_bulk": "staff_write",
    "web:console_ticket": "staff_ticket",
    "web:console_ticket_assist": "staff_ticket",
    "web:console_reply": "staff_ticket_write",
    "web:console_note": "staff_ticket_write",
    "web:console_progress": "staff_ticket_write",
    "web:console_status": "staff_ticket_write",
    "web:console_assign": "staff_ticket_write",
    "web:console_solutions": "staff_ticket_write",
    "web:console_verify_fix": "staff_ticket_write",
    "web:console_verify_identity": "staff_ticket_write",
    "web:console_update": "staff_ticket_write",
    "web:console_merge": "staff_ticket_write",
    "web:console_attachment": "staff_ticket",
    "web:console_at_risk": "staff",  # lists only the tickets the reader may see (tested in kefu/web/tests)
    "web:console_alerts": "collaborator",  # one's own alerts only
    "web:console_alerts_read": "collaborator",
    "web:console_customers": "staff",
    "web:console_customer": "staff_customer",
    "web:console_customer_merge": "staff_customer",
    "web:console_phone": "staff",
    "web:console_review_email": "staff_ticket_write",
    "web:console_email_original": "staff_ticket",
    "web:portal_home": "customer_portal",
    "web:portal_password": "customer_portal",
    "web:portal_submit": "visitor",
    "web:portal_submitted": "public",
    "inbox:channel_hook": "signed",
    "chat:widget": "public",
    "chat:resume": "track",  # the chat's token is the visitor's credential, whoever holds it
    "chat:file": "track",  # a signed link given only to the chat's two sides
    "chat:portal_chat": "customer_portal",
    "web:console_chats": "staff",
    "web:console_work": "staff",  # one's own tickets only
    "web:console_presence": "staff",  # one's own presence (a QA reviewer is told they have none)
    "web:console_get_next": "staff_write",
    "web:console_wallboard": "supervisor",
    "web:console_routing_rules": "supervisor",
    "web:console_transfer": "staff_ticket_write",
    "web:portal_login_link": "public",
    "web:help_center": "public",
    "web:help_article": "help_article",  # public articles for everyone, internal ones for staff
    "web:help_feedback": "help_article",
    "web:console_experiments": "supervisor",
    "web:console_templates": "staff",
    "web:console_template_new": "supervisor",
    "web:console_template_edit": "supervisor",
    "web:console_knowledge": "staff",
    "web:console_knowledge_new": "staff_write",
    "web:console_knowledge_gaps": "staff",
    "web:console_knowledge_edit": "staff_write_get_staff",
    "web:console_knowledge_publish": "supervisor",
    "web:portal_login_link_confirm": "public",
    "web:portal_ticket": "customer_ticket",
    "web:portal_reply": "customer_ticket",
    "web:portal_choose": "customer_ticket",
    "web:portal_confirm": "customer_ticket",
    "web:portal_object": "customer_ticket",
    "web:portal_attachment": "customer_ticket",
    "web:track": "track",
    "web:track_reply": "track",
    "web:track_choose": "track",
    "web:track_confirm": "track",
    "web:track_object": "track",
    "web:track_attachment": "track",
    "web:console_requests": "collaborator",
    "web:console_request": "collab_request",
    "web:console_request_step": "department_step",  # accepting is the department's step (the owner's are tested apart)
    "web:console_raise_request": "staff_ticket_write",
    "web:console_meeting": "staff_ticket_write",
    "web:console_meeting_plan": "staff_ticket_write",
    "web:console_share_plan": "staff_ticket_write",
    "web:console_collaboration_ledger": "collab_ledger",
    "web:console_approvals": "supervisor",
    "web:console_approval_decide": "supervisor",  # an agent's request within the supervisors' limit
    "web:console_authority": "admin",
    "web:console_record_decision": "staff_ticket_write",
    "web:console_withdraw_decision": "requester",
    "web:console_followups": "supervisor",
    "web:console_followup": "supervisor",
    "web:console_survey_results": "survey_results",
    "web:console_survey_questions": "admin",
    "web:survey": "track",  # the survey's single-use link is the credential, whoever holds it
    "web:survey_panel": "track",
    "web:console_qa": "reviewer",
    "web:console_qa_review": "reviewer",
    "web:console_qa_calibration": "reviewer",
    "web:console_qa_scorecards": "reviewer",
    "web:console_qa_rates": "reviewer",
    "web:console_rework": "staff",  # one's own tasks; reviewers see all
    "web:console_rework_done": "rework",
    "web:console_dashboard": "staff",  # the reader's teams' figures for agents, everything for the others
    "web:console_my_numbers": "staff",
    "web:console_staffing": "supervisor",
    "web:console_top_issues": "reviewer",
    "web:console_reports": "reviewer",  # reading and subscribing; generating now is for supervisors (tested apart)
    "web:console_report_subscribe": "reviewer",
    "web:console_report": "reviewer",
    "web:console_report_download": "reviewer",
    "admin:index": "admin_site",
    "admin:login": "public",
    "admin:password_change": "admin_site",
    "admin:password_change_done": "admin_site",
    "admin:jsi18n": "admin_site",
}
# Django's admin model pages (changelists, add forms, per-object pages) are all behind the same
# ``admin_site`` check; the matrix covers each model's changelist and add form.
# Skipped: per-object admin pages (they need an object of each model), add forms (several models are
# read-only on purpose), autocomplete (needs query parameters) and logout (harmless for anyone).
ADMIN_MODEL_ROUTE = re.compile(r"^admin:\w+_changelist$")
ADMIN_SKIPPED = re.compile(
    r"^admin:(\w+_(change|delete|history|add)|auth_user_password_change|view_on_site|app_list|autocomplete|logout)$|^$"
)

API_GROUPS = {
    "me_me": "customer_or_staff",  # department members get the API with collaboration requests
    "me_list_tokens": "staff",
    "me_create_token": "staff",
    "me_revoke_token": "staff_own_token",
    "create_ticket": "staff_write",
    "list_tickets": "customer_or_staff",
    "get_ticket": "ticket_read",
    "update_ticket": "staff_ticket_write",
    "reply": "ticket_write",
    "add_note": "staff_ticket_write",
    "upload_attachments": "ticket_write",
    "transition": "ticket_write",
    "assign": "staff_ticket_write",
    "list_solutions": "ticket_read",
    "propose_solutions": "staff_ticket_write",
    "choose_solution": "customer_ticket",
    "verify_fix": "staff_ticket_write",
    "verify_identity": "staff_ticket_write",
    "list_messages": "ticket_read",
    "list_events": "ticket_read",
    "download_attachment": "ticket_read",
    "list_customers": "staff",
    "create_customer": "staff",
    "get_customer": "staff_customer",
    "update_customer": "staff_customer",
    "list_customer_tickets": "staff_customer",
    "receive_raw_email": "admin",  # a mail server's pipe: an administrator's token only
}


@dataclass
class World:
    users: dict[str, User | None] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    options: dict[str, SolutionOption] = field(default_factory=dict)
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    channel_slug: str = ""
    chat: Any = None
    held: dict[str, InboundEmail] = field(default_factory=dict)
    chat_file: Any = None
    articles: dict[str, Any] = field(default_factory=dict)
    reply_templates: dict[str, Any] = field(default_factory=dict)
    requests: dict[str, Any] = field(default_factory=dict)
    meetings: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    followups: dict[str, Any] = field(default_factory=dict)
    survey_tokens: dict[str, str] = field(default_factory=dict)
    rework: dict[str, Any] = field(default_factory=dict)
    report: Any = None


def build_world() -> World:
    world = World()
    team_a, team_b = factories.department("Team A"), factories.department("Team B")
    finance = factories.department("Finance", kind="other")
    writer_a = factories.staff(Role.AGENT, teams=(team_a,))
    writer_b = factories.staff(Role.AGENT, teams=(team_b,))
    world.users = {
        "anonymous": None,
        "customer": None,
        "agent": factories.staff(Role.AGENT, teams=(team_a,)),
        "supervisor": factories.staff(Role.SUPERVISOR),
        "admin": factories.staff(Role.ADMIN),
        "qa": factories.staff(Role.QA),
        "department": factories.staff(Role.DEPARTMENT, teams=(finance,)),
    }
    for variant, team, writer in (("own", team_a, writer_a), ("foreign", team_b, writer_b)):
        customer = factories.customer()
        ticket = factories.ticket(customer, team=team)
        services.accept_ticket(ticket, actor=writer)
        reply = services.reply_to_customer(ticket, "see attached", actor=writer, uploads=[
            services.Upload("report.txt", b"hello", "text/plain")])
        [option] = services.propose_solutions(ticket, [{"title": "Fix"}], actor=writer)
        world.tickets[variant] = ticket
        world.customers[variant] = customer
        world.attachments[variant] = reply.attachments.get()
        world.options[variant] = option
    world.users["customer"] = world.customers["own"].user
    for role, user in world.users.items():
        if user is None:
            continue
        world.tokens[role] = {"own": issue_api_token(user, "mine", actor=user)[0].pk}
        _token, world.secrets[role] = issue_api_token(user, "for the matrix", actor=user)
    stranger = factories.staff(Role.AGENT)
    foreign_token = issue_api_token(stranger, "not yours", actor=stranger)[0].pk
    for tokens in world.tokens.values():
        tokens["foreign"] = foreign_token
    world.held = {variant: InboundEmail.objects.create(
        dedupe_key=f"mid:<held-{variant}@example.com>", source=InboundEmail.Source.HTTP, raw=b"From: x@y.z\n\nhi",
        size=16, state=InboundEmail.State.HELD, ticket_id=ticket.pk,
        ticket_message_id=ticket.messages.values_list("pk", flat=True).first())
        for variant, ticket in world.tickets.items()}
    world.chat = chat_services.start_chat(chat_services.PreChat(name="Visitor", phone="+8613000000000"))
    world.chat_file = chat_services.post_message(world.chat, "", side="customer", upload=services.Upload(
        "photo.png", b"\x89PNG\r\n\x1a\n", "image/png"))[0]
    world.articles = {"own": factories.article("public-article"),
                      "foreign": factories.article("internal-article", visibility="internal")}
    world.reply_templates = {variant: ReplyTemplate.objects.create(name=f"Greeting {variant}", body="Hello")
                             for variant in ("own", "foreign")}
    logistics = factories.department("Logistics", kind="other")
    _closing_stages(world, {"own": (team_a, writer_a, finance), "foreign": (team_b, writer_b, logistics)})
    world.report = Report.objects.create(kind="weekly", start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 8))
    world.channel_slug = ChannelEndpoint.objects.create(name="WeChat", kind=ChannelEndpoint.Kind.WECHAT,
                                                       slug="wechat").slug
    return world


def _closing_stages(world: World, sides: dict[str, tuple[Any, User, Any]]) -> None:
    """A collaboration request, a meeting, an approval request, a bad survey's follow-up and a QA rework task
    on each side (own: the matrix's agent's where it matters)."""
    due = now() + dt.timedelta(days=2)
    reviewer = factories.staff(Role.QA)
    for variant, (team, writer, department) in sides.items():
        ticket = world.tickets[variant]
        world.requests[variant] = collaboration.raise_request(
            ticket, department=department, need="Check the refund", deliverable="A yes or no",
            acceptance_standard="Signed off", due_at=due, actor=writer)
        world.meetings[variant] = collaboration.record_meeting(
            ticket, held_at=now(), decisions="Refund it", other_participants="Finance", actor=writer)
        world.decisions[variant] = approvals.record_decision(
            ticket, kind=DecisionKind.objects.get(key="refund"), amount=Decimal("500"), reason="Broken twice",
            actor=writer)
        closed = _closed_ticket(writer if variant == "foreign" else world.users["agent"], team)
        survey = feedback.survey_ticket(closed.pk)
        assert survey is not None
        token = _survey_token(closed)
        feedback.submit_survey(token, {"attitude": "2", "speed": "2", "solution": "2", "overall": "2", "nps": "3",
                                       "comment": ""})
        world.survey_tokens[variant] = token
        world.followups[variant] = FollowUpTask.objects.get(ticket=closed)
        review = quality.start_review(closed, actor=reviewer)
        quality.save_review(review, scores=dict.fromkeys(review.scorecard.criteria.values_list("pk", flat=True), 0),
                            submit=True, actor=reviewer)
        world.rework[variant] = ReworkTask.objects.get(ticket=closed)


def _closed_ticket(owner: User | None, team: Any) -> Ticket:
    assert owner is not None
    ticket = factories.ticket(team=team, customer_=factories.customer(language="en"))
    services.accept_ticket(ticket, actor=owner)
    services.verify_fix(ticket, actor=owner)
    services.resolve_ticket(ticket, actor=owner)
    return services.confirm_resolution(ticket, actor=ticket.customer.user)


def _survey_token(ticket: Ticket) -> str:
    url = str(Notification.objects.get(ticket_id=ticket.pk, template="survey").context["survey_url"])
    return url.rstrip("/").rsplit("/", 1)[1]


def param_value(name: str, variant: str, world: World, role: str, route_name: str = "") -> Any:
    if name == "token" and route_name.startswith("web:survey"):
        return world.survey_tokens[variant]
    if name == "task_id":
        return (world.rework if route_name == "web:console_rework_done" else world.followups)[variant].pk
    if name == "report_id":
        return world.report.pk
    if name == "fmt":
        return "csv"
    if name == "request_id":
        return world.requests[variant].pk
    if name == "meeting_id":
        return world.meetings[variant].pk
    if name == "decision_id":
        return world.decisions[variant].pk
    if name == "ticket_id":
        return world.tickets[variant].pk
    if name == "attachment_id":
        return world.attachments[variant].pk
    if name == "customer_id":
        return world.customers[variant].pk
    if name == "option_id":
        return world.options[variant].pk
    if name == "token":
        return world.tickets[variant].tracking_token
    if name == "token_id":
        return world.tokens.get(role, world.tokens["agent"])[variant]
    if name == "secret":
        return "not-a-real-sign-in-secret"
    if name == "slug":
        return world.channel_slug
    if name == "key":
        return world.articles[variant].key
    if name == "template_id":
        return world.reply_templates[variant].pk
    if name == "inbound_id":
        return world.held[variant].pk
    if name == "message_id":
        return world.held[variant].ticket_message_id
    if name == "chat_token":
        return world.chat.token
    if name == "signed":
        return file_url(world.chat_file).rstrip("/").rsplit("/", 1)[1]
    raise AssertionError(f"the matrix does not know the URL parameter {name!r}")


def missing_value(name: str) -> Any:
    return MISSING_TOKEN if name in {"token", "secret", "chat_token", "signed", "slug", "key"} else MISSING_ID


# ---------------------------------------------------------------------------------------------- web


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def web_routes() -> list[tuple[str, str]]:
    def walk(patterns: Any, prefix: str = "", namespace: str = "") -> Any:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), f"{namespace}:{entry.name}" if entry.name else ""

    routes = []
    for route, name in walk(get_resolver().url_patterns):
        if route.startswith("api/") or ADMIN_SKIPPED.match(name):
            continue
        routes.append((route, name))
    return routes


def web_payload(name: str, world: World) -> dict[str, Any]:
    agent = world.users["agent"]
    payloads: dict[str, dict[str, Any]] = {
        "web:console_bulk": {"ticket_ids": [world.tickets["own"].pk], "operation": "priority", "value": "high"},
        "web:console_reply": {"body": "hello"},
        "web:console_note": {"body": "note"},
        "web:console_progress": {"progress": "Checked the logs", "next_step": "Fix tomorrow"},
        "web:console_status": {"action": "wait_internal"},
        "web:console_assign": {"owner": agent.pk if agent else ""},
        "web:console_solutions": {"title_1": "Another fix"},
        "web:console_verify_fix": {"note": "checked"},
        "web:console_verify_identity": {"method": "phone", "value": "000"},
        "web:console_update": {"subject": "Changed", "priority": "high", "complexity": "simple"},
        "web:console_merge": {"target": str(MISSING_ID)},
        "web:portal_reply": {"body": "more"},
        "web:track_reply": {"body": "more"},
        "web:portal_object": {"reason": "no"},
        "web:track_object": {"reason": "no"},
        "web:create_token": {"name": "x"},
        "web:set_language": {"language": "en", "next": "/"},
        "web:console_report_subscribe": {"kind": "weekly", "subscribed": "1"},
        "web:console_request_step": {"step": "accept", "text": "On it"},
        "web:console_raise_request": {"department": "", "need": "x"},
        "web:console_approval_decide": {"action": "approve", "reason": "Fine"},
        "web:console_record_decision": {"kind": "refund", "amount": "10", "reason": "Late parcel"},
        "web:console_rework_done": {"note": "Called the customer"},
        "web:console_template_new": {"name": "From the matrix", "locale": "en", "body": "Hi {customer_name}"},
        "web:console_knowledge_new": {"key": "from-the-matrix", "title": "T", "body": "B", "locale": "en"},
        "web:help_feedback": {"helpful": "yes"},
        "web:preferences": {"language": "en", "time_zone": "Asia/Shanghai"},
    }
    return payloads.get(name, {})


def web_outcome(response: Any, path: str) -> str:
    if response.status_code in {401, 403, 404}:
        return "deny"
    if response.status_code in {301, 302}:
        location = response["Location"]
        if location.startswith(("/login/?next=", "/admin/login/?next=")):
            return "deny"
        if path.startswith("/portal/") and location == "/console/tickets/":
            return "deny"  # staff are sent away from the customer portal
    assert response.status_code < 500, f"{path} answered {response.status_code}"
    return "allow"


def _client(world: World, role: str) -> Client:
    client = Client()
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


def _read(response: Any) -> Any:
    """Read and close a file download, as a browser would; other responses pass through."""
    if getattr(response, "streaming", False):
        # Exhausting the test client's wrapper closes the file; closing the response again would fire
        # request_finished and drop the test's database connection.
        response.content_bytes = b"".join(response.streaming_content)
    return response


def _web_request(client: Client, route: str, name: str, values: dict[str, Any], world: World) -> Any:
    path = "/" + _PARAM.sub(lambda m: str(values[m.group(1)]), route)
    response = _read(client.get(path))
    if response.status_code == 405:
        data = web_payload(name, world)
        if name.endswith("_choose"):
            data = {"option": world.options["own"].pk}
        response = _read(client.post(path, data))
    return path, response


def test_every_route_is_classified():
    unclassified = [name or route for route, name in web_routes()
                    if name not in WEB_GROUPS and not ADMIN_MODEL_ROUTE.match(name)]
    assert unclassified == []
    operations = {operation for _method, _path, operation in api_operations()}
    assert operations - set(API_GROUPS) == set()
    assert set(API_GROUPS) - operations == set()


def test_web_permission_matrix():
    world = build_world()
    wrong = []
    checked = 0
    for role in ROLES:
        client = _client(world, role)
        for route, name in web_routes():
            group = WEB_GROUPS.get(name) or "admin_site"
            params = _PARAM.findall(route)
            for variant in ("own", "foreign") if params else ("own",):
                values = {p: param_value(p, variant, world, role, name) for p in params}
                path, response = _web_request(client, route, name, values, world)
                if name.endswith(":logout"):
                    client = _client(world, role)  # sign in again for the next route
                outcome = web_outcome(response, path)
                checked += 1
                want = "allow" if expected(group, role, variant) else "deny"
                if outcome != want:
                    wrong.append(f"{role:10} {variant:7} {name:32} {path} → {response.status_code} "
                                 f"({outcome}, want {want})")
                if response.status_code == 404 and variant == "foreign":
                    missing = {p: missing_value(p) for p in params}
                    absent_path, absent = _web_request(client, route, name, missing, world)
                    # Asked again so that neither answer carries the flash message of an earlier action.
                    path, response = _web_request(client, route, name, values, world)
                    if (absent.status_code, _strip(absent, absent_path)) != (response.status_code,
                                                                              _strip(response, path)):
                        wrong.append(f"{role:10} {name:32} forbidden differs from not found")
    figure(f"web permission matrix: {checked} requests (route × role × own/foreign object), "
           f"{len(wrong)} not as expected")
    assert checked > 300
    assert wrong == [], "\n".join(wrong)


def _strip(response: Any, path: str) -> bytes:
    body = getattr(response, "content_bytes", None) or response.content
    body = body.replace(path.encode(), b"PATH")
    return re.sub(rb"[A-Za-z0-9]{64}", b"CSRF", body)  # masked CSRF tokens differ on every render


# ---------------------------------------------------------------------------------------------- api


def api_operations() -> list[tuple[str, str, str]]:
    schema = api.get_openapi_schema()
    # Ninja names operations "<module path>_<function>", e.g. kefu_tickets_api_get_ticket.
    return [(method.upper(), path, op["operationId"].split("_api_", 1)[1])
            for path, methods in schema["paths"].items() for method, op in methods.items()]


def api_payload(operation: str, role: str, world: World) -> dict[str, Any]:
    agent = world.users["agent"]
    payloads: dict[str, dict[str, Any]] = {
        "me_create_token": {"name": "x"},
        "create_ticket": {"customer_id": world.customers["own"].pk, "subject": "New"},
        "update_ticket": {"priority": "high"},
        "reply": {"body": "hello"},
        "add_note": {"body": "note"},
        "transition": {"action": "confirm" if role == "customer" else "wait_internal"},
        "assign": {"owner_id": agent.pk if agent else 0},
        "propose_solutions": {"options": [{"title": "Another"}]},
        "verify_fix": {"note": ""},
        "verify_identity": {"method": "phone", "value": "000"},
        "create_customer": {"name": "New person", "email": f"new-{role}@example.com"},
        "update_customer": {"notes": "updated"},
    }
    return payloads.get(operation, {})


def _api_request(client: Client, method: str, path: str, operation: str, role: str, world: World,
                 headers: dict[str, str]) -> Any:
    if operation == "upload_attachments":
        upload = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
        return client.post(path, {"kind": "reply", "body": "file", "files": [upload]}, headers=headers)
    if method == "GET":
        return client.get(path, headers=headers)
    if method == "DELETE":
        return client.delete(path, headers=headers)
    return client.generic(method, path, data=json.dumps(api_payload(operation, role, world)),
                          content_type="application/json", headers=headers)


def _api_path(template: str, values: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), template)


def test_api_permission_matrix():
    world = build_world()
    client = Client()
    wrong = []
    checked = 0
    for role in ROLES:
        headers = {"Authorization": f"Bearer {world.secrets[role]}"} if role in world.secrets else {}
        for method, template, operation in api_operations():
            params = re.findall(r"{(\w+)}", template)
            for variant in ("own", "foreign") if params else ("own",):
                values = {p: param_value(p, variant, world, role) for p in params}
                path = _api_path(template, values)
                response = _read(_api_request(client, method, path, operation, role, world, headers))
                assert response.status_code < 500, f"{role} {method} {path} → {response.status_code}"
                outcome = "deny" if response.status_code in {401, 403, 404} else "allow"
                checked += 1
                want = "allow" if expected(API_GROUPS[operation], role, variant) else "deny"
                if outcome != want:
                    wrong.append(f"{role:10} {variant:7} {method:6} {path} → {response.status_code} "
                                 f"({outcome}, want {want}) {response.content[:120]!r}")
                if want == "deny" and params and role != "anonymous" and variant == "foreign" \
                        and response.status_code == 404:
                    missing = {p: missing_value(p) for p in params}
                    absent_path = _api_path(template, missing)
                    absent = _api_request(client, method, absent_path, operation, role, world, headers)
                    if (absent.status_code, absent.content) != (response.status_code, response.content):
                        wrong.append(f"{role:10} {method} {template} forbidden differs from not found")
    figure(f"API permission matrix: {checked} requests (operation × role × own/foreign object), "
           f"{len(wrong)} not as expected")
    assert checked > 150
    assert wrong == [], "\n".join(wrong)
