"""Audit battery: every action that changes something leaves an audit row naming whoever did it.

Every page of the permission matrix's world is opened by every role that may read it, and every post form on it is
submitted as a real browser would: the form's own values (hidden inputs, the selected option, the checked boxes,
the text of each textarea, the button that was pressed), plus a sensible value in each required field the form
leaves empty. A route that takes a POST but shows no form anywhere is sent the matrix's payload. Every unsafe
operation of the API is called once with a bearer token. Each request runs in a savepoint that is rolled back
afterwards, so each one meets the same world, and the battery's ``Watch`` tells what the request changed.

A request that changed anything (beyond the writes listed in ``UNAUDITED_WRITES``) must have written an audit row:
an ``AuditEntry``, a ``TicketEvent`` (the ticket's timeline is its audit trail, see kefu.core.models.AuditEntry),
or for Django's admin its own ``LogEntry``; the row names the signed-in user, or for an anonymous visitor the
customer on whose behalf it acted (or nobody). Every route and operation must be exercised, that is changed
something at least once, unless ``NOT_EXERCISED`` says why not: a new route cannot slip past by failing quietly.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from kefu.accounts.models import User
from kefu.collaboration import services as collaboration
from kefu.core.clock import now
from kefu.core.models import AuditEntry
from kefu.core.shortcache import forget_all
from kefu.customers.models import Customer
from kefu.feedback import services as feedback
from kefu.inbox import connectors
from kefu.inbox.models import ChannelEndpoint
from kefu.routing.services import configure_agent, profile_of
from kefu.testing import factories
from kefu.testing.factories import PASSWORD
from kefu.testing.proof import figure
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket, TicketEvent
from kefu.web.tests.test_permission_matrix import (
    API_GROUPS,
    ROLES,
    WEB_GROUPS,
    World,
    _api_path,
    _api_request,
    _closed_ticket,
    _read,
    _survey_token,
    api_operations,
    api_payload,
    build_world,
    expected,
    param_value,
    web_payload,
)
from kefu.web.tests.test_security_battery import Route, Watch, _admin_only, path_for, routes_to_crawl

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The world gives a dozen people a password; the slow production hasher would take most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ---------------------------------------------------------------------------------------------- what counts

# The audit rows themselves, and the column naming who acted.
AUDIT_ROWS: dict[str, tuple[type[models.Model], str]] = {
    AuditEntry._meta.db_table: (AuditEntry, "actor_id"),
    TicketEvent._meta.db_table: (TicketEvent, "actor_id"),
    LogEntry._meta.db_table: (LogEntry, "user_id"),  # Django's admin records each of its saves and deletions
}

# Writes that need no audit row of their own, each for a reason a reviewer can check: {table: {column: why}}. The
# column "*" covers any change of the table, new rows included. A request that changed only these is not audited.
UNAUDITED_WRITES: dict[str, dict[str, str]] = {
    "django_session": {"*": "the browser's session: signing in and out, flash messages, the activity time"},
    "accounts_agentprofile": {"last_seen_at": "routing presence: when an agent was last seen in the console"},
    "accounts_apitoken": {"last_used_at": "an API token's last use, written at most every five minutes"},
    "core_ratecounter": {"*": "rate-limit counters of public forms"},
    "accounts_user": {"last_login": "signing in stamps the user's last sign-in (as the session records it)"},
    "notifications_staffalert": {"read_at": "marking one's own alerts read, like a message's unread mark"},
    "knowledge_articlefeedback": {"*": "an anonymous \"was this helpful?\" vote: the row is the record and names "
                                       "nobody; rate-limited per network"},
}

# Routes and operations that take a POST but change nothing when used as intended here, each with its reason.
NOT_EXERCISED: dict[str, str] = {
    "web:home": "answers any method with a redirect to the reader's start page; it takes no data",
    # Not yet: the waiting ticket of the audit world is not offered to the agent; when it is, "get next" assigns
    # it through assign_ticket, whose ticket event is the audit row.
    "web:console_get_next": "the audit world has no ticket that routing offers to the agent",
}

# Routes that change something without an audit row, known and not yet fixed, each with its reason.
KNOWN_GAPS: dict[str, str] = {}


def _unaudited(table: str, label: str) -> bool:
    rules = UNAUDITED_WRITES.get(table, {})
    return "*" in rules or label.removeprefix("set ").removeprefix("max ") in rules


# ---------------------------------------------------------------------------------------------- forms


@dataclass
class Control:
    tag: str  # input, select, textarea, button
    kind: str  # the input's or button's type; "select" / "textarea"
    name: str
    value: str = ""
    checked: bool = False
    required: bool = False
    disabled: bool = False
    multiple: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)


@dataclass
class Form:
    action: str
    controls: list[Control] = field(default_factory=list)


class _FormReader(HTMLParser):
    """Each <form method="post"> of a page with its controls, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: list[str] | None = None  # the text of the open <textarea> or <option>
        self._option: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            post = (values.get("method") or "get").lower() == "post"
            self._form = Form(values.get("action") or "") if post else None
            return
        if self._form is None or tag not in {"input", "select", "option", "textarea", "button"}:
            return
        if tag == "option":
            self._option, self._text = values, []
            return
        kind = {"select": "select", "textarea": "textarea"}.get(tag) or (values.get("type") or (
            "submit" if tag == "button" else "text")).lower()
        self._form.controls.append(Control(
            tag=tag, kind=kind, name=values.get("name") or "", value=values.get("value") or "",
            checked="checked" in values, required="required" in values, disabled="disabled" in values,
            multiple="multiple" in values))
        if tag == "textarea":
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            if self._form is not None:
                self.forms.append(self._form)
            self._form = None
        elif tag == "textarea" and self._text is not None and self._form is not None:
            self._form.controls[-1].value = "".join(self._text).removeprefix("\n")
            self._text = None
        elif tag == "option" and self._option is not None:
            self._close_option()

    def _close_option(self) -> None:
        assert self._option is not None and self._text is not None
        value = self._option.get("value")
        select = self._form.controls[-1] if self._form and self._form.controls else None
        if select is not None and select.tag == "select":
            select.options.append((("".join(self._text).strip() if value is None else value),
                                   "selected" in self._option))
        self._option, self._text = None, None

    def close(self) -> None:
        super().close()
        if self._form is not None:  # an unclosed form ends with the page
            self.forms.append(self._form)


def post_forms(html: str) -> list[Form]:
    reader = _FormReader()
    reader.feed(html)
    reader.close()
    return reader.forms


_FILLERS = {
    "email": "audit@example.com",
    "number": "1",
    "url": "https://example.com/",
    "tel": "+8613000000000",
    "password": PASSWORD + "-new",
    "date": (dt.date.today() + dt.timedelta(days=1)).isoformat(),  # noqa: DTZ011 (a form's calendar day)
    "datetime-local": (dt.date.today() + dt.timedelta(days=1)).isoformat() + "T10:00",  # noqa: DTZ011
    "time": "10:00",
}


def _filler(control: Control) -> str:
    """A value a person would type into a required field the form leaves empty."""
    if control.kind in _FILLERS and control.kind != "password":
        return _FILLERS[control.kind]
    if control.kind == "password" and control.name in {"password", "old_password"}:
        return PASSWORD  # the one the world's people have; the others are a new one
    if re.search(r"key|slug", control.name):
        return "audit-battery"
    return "Written by the audit battery"


@dataclass(frozen=True)
class Submission:
    """One way to send a form: its fields, and the button pressed."""

    key: tuple[Any, ...]
    data: dict[str, Any]


def submissions(form: Form) -> list[Submission]:
    data: dict[str, list[Any]] = {}
    radios: dict[str, list[Control]] = {}
    buttons: list[Control] = []
    for control in form.controls:
        if control.disabled or not control.name:
            if control.kind in {"submit", "image"} and not control.disabled:
                buttons.append(control)
            continue
        if control.kind in {"submit", "image"}:
            buttons.append(control)
        elif control.kind in {"button", "reset"}:
            continue
        elif control.kind == "radio":
            radios.setdefault(control.name, []).append(control)
        elif control.kind == "checkbox":
            if control.checked or control.required:
                data.setdefault(control.name, []).append(control.value or "on")
        elif control.kind == "file":
            if control.required:
                data.setdefault(control.name, []).append(
                    SimpleUploadedFile("note.txt", b"written by the audit battery", "text/plain"))
        elif control.kind == "select":
            chosen = [value for value, selected in control.options if selected]
            if not chosen and not control.multiple and control.options:
                chosen = [control.options[0][0]]
            if control.required and not any(chosen):
                chosen = [value for value, _selected in control.options if value][:1]
            data.setdefault(control.name, []).extend(chosen)
        else:
            value = control.value
            if not value and control.required:
                value = _filler(control)
            data.setdefault(control.name, []).append(value)
    for name, group in radios.items():
        checked = [c for c in group if c.checked] or group[:1]
        data.setdefault(name, []).append(checked[0].value or "on")
    # What tells one form of a route from another: its hidden fields (an action, a step) and the field names.
    shape = tuple(sorted((c.name, c.value if c.kind == "hidden" and c.name not in _VOLATILE else "")
                         for c in form.controls if c.name and c.kind not in {"submit", "image"}))
    named = [b for b in buttons if b.name]
    if not named:
        return [Submission(shape, _flat(data))]
    return [Submission((*shape, ("button", b.name, b.value)), _flat({**data, b.name: [b.value]})) for b in named]


_VOLATILE = {"csrfmiddlewaretoken", "next"}


def _flat(data: dict[str, list[Any]]) -> dict[str, Any]:
    return {name: values[0] if len(values) == 1 else values for name, values in data.items() if name not in
            {"csrfmiddlewaretoken"}}


def test_the_form_reader_submits_what_a_browser_would():
    html = """
    <form method="post" action="/a/"><input type="hidden" name="csrfmiddlewaretoken" value="t">
      <input name="subject" value="Hello &amp; bye"><input name="empty"><input name="needed" required>
      <input type="email" name="mail" required><input type="checkbox" name="on" value="1" checked>
      <input type="checkbox" name="off" value="1"><input type="radio" name="r" value="a">
      <input type="radio" name="r" value="b" checked><input name="gone" value="x" disabled>
      <select name="s"><option value="1">One</option><option value="2" selected>Two</option></select>
      <select name="first"><option>Plain</option><option value="x">X</option></select>
      <select name="pick" required><option value="">---</option><option value="7">Seven</option></select>
      <textarea name="body">
Line</textarea>
      <button name="step" value="accept">Accept</button><button name="step" value="reject">Reject</button>
    </form>
    <form action="/search/"><input name="q"></form><form method="POST"><input name="x" value="1"></form>"""
    first, second = post_forms(html)
    assert (first.action, second.action) == ("/a/", "")
    accept, reject = submissions(first)
    assert accept.data == {
        "subject": "Hello & bye", "empty": "", "needed": "Written by the audit battery", "mail": "audit@example.com",
        "on": "1", "r": "b", "s": "2", "first": "Plain", "pick": "7", "body": "Line", "step": "accept"}
    assert reject.data["step"] == "reject" and accept.key != reject.key
    assert submissions(second) == [Submission((("x", ""),), {"x": "1"})]


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class AuditWorld(World):
    """The permission matrix's world, plus what some actions need to have something to act on."""

    resolved: Ticket | None = None  # the own customer's, resolved and waiting for them to confirm
    duplicate: Ticket | None = None  # a second ticket of the own customer, to merge into
    other_customer: Customer | None = None  # to merge the own customer into
    caller_phone: str = "+8613800000001"  # the own customer's, for verifying their identity
    hook_secret: str = ""  # the signing secret of an SMS gateway's endpoint
    fresh_survey: str = ""  # the token of a survey nobody answered yet


def build_audit_world() -> AuditWorld:
    world = AuditWorld(**vars(build_world()))
    agent, supervisor = world.users["agent"], world.users["supervisor"]
    assert agent is not None and supervisor is not None
    own = world.tickets["own"]
    # The owner's side of a ticket (meetings, plans) is its owner's: the matrix's agent takes over its own ticket.
    ticket_services.assign_ticket(own, agent, actor=supervisor)
    for person in (agent, supervisor, world.users["admin"]):
        assert person is not None
        profile_of(person)  # made on first use otherwise, by whichever request comes first
    configure_agent(agent, actor=supervisor, max_tickets=50)  # room for "get next" beside the world's tickets
    factories.ticket(team=own.team, auto_assign=True)  # waiting in the agent's team's queue, for "get next"
    world.duplicate = factories.worked_ticket(agent, customer_=world.customers["own"], team=own.team)
    world.resolved = factories.worked_ticket(agent, customer_=world.customers["own"], team=own.team)
    ticket_services.verify_fix(world.resolved, actor=agent)
    ticket_services.resolve_ticket(world.resolved, actor=agent)
    world.other_customer = factories.customer()
    Customer.objects.filter(pk=world.customers["own"].pk).update(phone=world.caller_phone)
    collaboration.add_plan(world.meetings["own"], [collaboration.PlanLine("Refund", "Finance", now() + DAY)],
                           actor=agent)
    sms = ChannelEndpoint.objects.create(name="SMS", kind=ChannelEndpoint.Kind.SMS, slug="sms", team=own.team)
    world.channel_slug, world.hook_secret = sms.slug, sms.secret
    closed = _closed_ticket(agent, own.team)  # its survey is still unanswered (the matrix's world answered its own)
    feedback.survey_ticket(closed.pk)
    world.fresh_survey = _survey_token(closed)
    return world


def route_values(world: AuditWorld) -> dict[str, dict[str, Any]]:
    """What a person types that no form can suggest: a password, the number of another ticket or customer."""
    customer, admin = world.users["customer"], world.users["admin"]
    assert customer is not None and admin is not None and world.duplicate and world.other_customer
    supervisor, later = world.users["supervisor"], timezone.localtime(now() + DAY).strftime("%Y-%m-%dT%H:%M")
    earlier = timezone.localtime(now() - DAY).strftime("%Y-%m-%dT%H:%M")
    plan = {"plan_what_0": "Call the customer", "plan_who_0": "Finance", "plan_when_0": later}
    foreign_team = world.tickets["foreign"].team
    assert supervisor is not None and foreign_team is not None
    return {
        "web:login": {"username": customer.username, "password": PASSWORD},
        "admin:login": {"username": admin.username, "password": PASSWORD},
        "web:console_merge": {"target": str(world.duplicate.pk)},
        "web:console_customer_merge": {"target": str(world.other_customer.pk)},
        "web:console_verify_identity": {"method": "phone", "value": world.caller_phone},
        "web:console_phone": {"caller": "+8613900000002", "name": "A caller", "subject": "Phoned in"},
        "web:console_assign": {"owner": str(supervisor.pk)},
        "web:console_transfer": {"team": str(foreign_team.pk), "owner": ""},
        "web:console_meeting": {"held_at": earlier, "decisions": "Refund it", "other_participants": "Finance",
                                **plan},
        "web:console_meeting_plan": plan,
        "web:console_template_edit": {"name": "Renamed by the audit battery"},
        "web:portal_login_link": {"email": world.customers["own"].email},
    }


DAY = dt.timedelta(days=1)

# Routes acted on with the resolved ticket: confirming and objecting wait for the agent to resolve it first.
ON_RESOLVED = {"web:portal_confirm", "web:portal_object", "web:track_confirm", "web:track_object"}


def _world_for(route_name: str, world: AuditWorld) -> AuditWorld:
    if route_name in ON_RESOLVED and world.resolved is not None:
        return replace(world, tickets={**world.tickets, "own": world.resolved})
    if route_name == "web:survey":
        return replace(world, survey_tokens={**world.survey_tokens, "own": world.fresh_survey})
    return world


def extra_actors(world: World) -> dict[str, Any]:
    """People a route is for who hold none of the matrix's roles: whoever asked for an approval withdraws it."""
    return {"requester": world.decisions["own"].requested_by}


ROUTE_ACTORS = {"web:console_withdraw_decision": "requester"}


# ---------------------------------------------------------------------------------------------- who submits

# The order in which roles are tried: whoever the route is for first, so that the action is attributed to them.
_PUBLIC_GROUPS = {"track", "public", "visitor", "signed", "help_article"}
_STAFF_FIRST = ("agent", "customer", "department", "supervisor", "admin", "qa", "anonymous")
_VISITOR_FIRST = ("anonymous", "customer", "agent", "department", "supervisor", "admin", "qa")


def _group(route_name: str) -> str:
    return WEB_GROUPS.get(route_name) or "admin_site"


def _role_order(route_name: str) -> tuple[str, ...]:
    group = _group(route_name)
    order = _VISITOR_FIRST if group in _PUBLIC_GROUPS else _STAFF_FIRST
    return tuple(sorted(order, key=lambda role: not expected(group, role, "own")))


@dataclass
class Candidate:
    route: str
    path: str
    role: str
    data: dict[str, Any]
    source: str  # the page the form was found on, or "payload"


def _route_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name if match.url_name or match.namespace else match.route


# The admin's changelist form runs an action on the rows ticked in it; a browser ticks none, so Django asks for a
# selection and changes nothing (its actions are the delete pages, sent through their own forms).
ADMIN_CHANGELIST = re.compile(r"^admin:\w+_changelist$")


@dataclass
class FoundForm:
    route: str
    candidates: list[Candidate]  # the roles that were shown the form, in the route's role order


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl_forms(world: World, clients: dict[str, Client]) -> tuple[list[FoundForm], int]:
    """Every post form on every page, each way to send it once, with the roles that were shown it."""
    found: dict[tuple[str, tuple[Any, ...]], dict[str, Candidate]] = {}
    pages = 0
    for route in routes_to_crawl():
        if route.api:
            continue
        for role in ROLES:
            if (_admin_only(route) and role != "admin") or not expected(_group(route.name), role, "own"):
                continue
            page = path_for(route, world, role)
            if page is None:
                continue
            response = _read(clients[role].get(page))
            pages += 1
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for form in post_forms(response.content.decode()):
                action = urljoin(page, form.action) if form.action else page
                target = _route_of(action)
                if target is None or target.startswith("api:") or ADMIN_CHANGELIST.match(target):
                    continue
                for submission in submissions(form):
                    found.setdefault((target, submission.key), {}).setdefault(
                        role, Candidate(target, _local(action), role, submission.data, page))
    forms = [FoundForm(target, [per_role[r] for r in _role_order(target) if r in per_role])
             for (target, _key), per_role in found.items()]
    return forms, pages


# ---------------------------------------------------------------------------------------------- one request


@dataclass
class Attempt:
    status: int
    changed: list[str]  # table.probe that moved and needs an audit row
    named: bool  # a new audit row names whoever acted
    unaudited: set[str]  # tables of UNAUDITED_WRITES that moved


class Lab:
    """Sends requests against the world, each in a savepoint rolled back afterwards, and tells what changed."""

    def __init__(self, world: AuditWorld, watch: Watch) -> None:
        self.world = world
        self.watch = watch
        self.clients: dict[str, Client] = {}
        self.cookies: dict[str, SimpleCookie] = {}
        self.users: dict[str, Any] = {**world.users, **extra_actors(world)}
        for role, user in self.users.items():
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            self.clients[role] = client
            self.cookies[role] = copy.deepcopy(client.cookies)
        self.bases = {table: model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
                      for table, (model, _column) in AUDIT_ROWS.items()}
        self.requests = 0
        watch.read()  # after the sign-ins

    def attempt(self, role: str, send: Any) -> Attempt:
        before = dict(self.watch.last)
        passwords = self._passwords()
        client = self.clients[role]
        savepoint = transaction.savepoint()
        try:
            response = _read(send(client))
            self.requests += 1
            self.keep_prepared()
            moved = self.watch.changes()
            changed = [f"{table}.{label}" for table, label, _old, _new in moved
                       if table not in AUDIT_ROWS and not _unaudited(table, label)]
            actors: list[int | None] = []
            for table in sorted({table for table, *_rest in moved} & set(AUDIT_ROWS)):
                model, column = AUDIT_ROWS[table]
                actors += model._default_manager.filter(pk__gt=self.bases[table]).values_list(column, flat=True)
            if self._passwords() != passwords:  # a new hash has the old one's length: the watch cannot see it
                changed.append(f"{User._meta.db_table}.password")
            unaudited = {table for table, label, _old, _new in moved if _unaudited(table, label)}
            named = bool(actors) and self._names_the_actor(role, actors)
        finally:
            transaction.savepoint_rollback(savepoint)
            self.watch.last = before
            client.cookies = copy.deepcopy(self.cookies[role])
            cache.clear()  # rate limits and configuration cached by the rolled-back request
            forget_all()
        return Attempt(response.status_code, changed, named, unaudited)

    def keep_prepared(self) -> None:
        """Some requests make psycopg deallocate the connection's prepared statements (e.g. one that fails inside its
        savepoint): the watch's is prepared again."""
        if not self.watch.statement:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [self.watch.statement])
            if cursor.fetchone() is None:
                cursor.execute(f"PREPARE {self.watch.statement} AS {self.watch.sql}")

    @staticmethod
    def _passwords() -> dict[int, str]:
        return dict(User.objects.values_list("pk", "password"))

    def _names_the_actor(self, role: str, actors: list[int | None]) -> bool:
        user = self.users[role]
        if user is not None:
            return user.pk in actors
        # An anonymous visitor acts for a customer (the tracking link's, the survey's) or as nobody in particular.
        return None in actors or Customer.objects.filter(user_id__in=[a for a in actors if a is not None]).exists()


# ---------------------------------------------------------------------------------------------- the battery


@dataclass
class Tally:
    exercised: dict[str, str] = field(default_factory=dict)  # route or operation → the request that changed data
    audited: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    unaudited_only: dict[str, set[str]] = field(default_factory=dict)  # changed only UNAUDITED_WRITES' tables
    not_exercised: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    forms: int = 0

    def record(self, name: str, who: str, attempt: Attempt) -> bool:
        """Whether the request changed anything; a change without its audit row is a defect."""
        if attempt.status >= 500:
            self.errors.append(f"{who} answered {attempt.status}")
        if attempt.changed:
            self.exercised.setdefault(name, who)
            if attempt.named:
                self.audited.add(name)
            elif name not in KNOWN_GAPS:
                self.missing.append(f"MISSING AUDIT: {who} → {attempt.status} changed "
                                    f"{', '.join(sorted(set(attempt.changed)))} without an audit row naming its actor")
            return True
        if attempt.unaudited:
            self.unaudited_only.setdefault(name, set()).update(attempt.unaudited)
            return True
        return False


def _post(path: str, data: dict[str, Any]) -> Any:
    return lambda client: client.post(path, data)


def exercise_forms(lab: Lab, forms: list[FoundForm], tally: Tally) -> None:
    values = route_values(lab.world)
    for form in forms:
        tally.forms += 1
        for candidate in form.candidates[:3]:
            data = {**candidate.data, **values.get(form.route, {})}
            who = f"POST {form.route} {candidate.path} as {candidate.role} (form on {candidate.source})"
            if tally.record(form.route, who, lab.attempt(candidate.role, _post(candidate.path, data))):
                break


def _payload_roles(route_name: str) -> list[str]:
    if route_name in ROUTE_ACTORS:
        return [ROUTE_ACTORS[route_name]]
    return [r for r in _role_order(route_name) if expected(_group(route_name), r, "own")][:3]


SIGNED_HOOK = "inbox:channel_hook"


def _signed(world: AuditWorld) -> Any:
    """An SMS gateway's message, signed with the endpoint's secret as the gateway signs it."""
    body = json.dumps({"id": "sms-audit-1", "from": "+8613700000003", "text": "My parcel is late"}).encode()
    stamp = str(int(time.time()))
    headers = {"X-Kefu-Timestamp": stamp, "X-Kefu-Signature": connectors.signature(world.hook_secret, stamp, body)}
    return lambda client: client.post(f"/hooks/{world.channel_slug}/", body, content_type="application/json",
                                      headers=headers)


def exercise_payloads(lab: Lab, routes: list[Route], tally: Tally) -> set[str]:
    """Routes no form changed anything through (or that show no form): the matrix's payload, as the roles the
    route is for. Returns the routes that take no POST at all."""
    get_only = set()
    values = route_values(lab.world)
    for route in routes:
        if route.name in tally.exercised or route.name in tally.unaudited_only:
            continue
        world = _world_for(route.name, lab.world)
        tried = []
        if route.name == SIGNED_HOOK:
            tally.record(route.name, f"POST {route.name} signed by its channel", lab.attempt("anonymous", _signed(
                world)))
            continue
        for role in _payload_roles(route.name):
            path = path_for(route, world, role)
            if path is None:
                break
            data = {**web_payload(route.name, world), **values.get(route.name, {})}
            if route.name.endswith("_choose"):
                data = {"option": world.options["own"].pk}
            who = f"POST {route.name} {path} as {role} (the matrix's payload)"
            attempt = lab.attempt(role, _post(path, data))
            if attempt.status == 405:
                get_only.add(route.name)
                break
            if tally.record(route.name, who, attempt):
                break
            tried.append(f"{role} → {attempt.status}")
        else:
            tally.not_exercised.setdefault(route.name, f"no form or payload changed anything ({', '.join(tried)})")
    return get_only


def api_values(world: AuditWorld) -> dict[str, dict[str, Any]]:
    """Bodies that do the operation's work in the audit world (the matrix's agent already owns its ticket)."""
    supervisor = world.users["supervisor"]
    assert supervisor is not None
    return {"assign": {"owner_id": supervisor.pk}, "verify_identity": {"method": "phone", "value": world.caller_phone}}


def _api_send(method: str, path: str, operation: str, role: str, world: AuditWorld, headers: dict[str, str]) -> Any:
    values = api_values(world)
    if operation not in values:
        return lambda client: _api_request(client, method, path, operation, role, world, headers)
    body = json.dumps({**api_payload(operation, role, world), **values[operation]})
    return lambda client: client.generic(method, path, data=body, content_type="application/json", headers=headers)


def exercise_api(lab: Lab, tally: Tally) -> int:
    operations = 0
    for method, template, operation in api_operations():
        if method == "GET":
            continue
        operations += 1
        role = next(r for r in _STAFF_FIRST if expected(API_GROUPS[operation], r, "own"))
        path = _api_path(template, {arg: param_value(arg, "own", lab.world, role)
                                    for arg in re.findall(r"{(\w+)}", template)})
        headers = {"Authorization": f"Bearer {lab.world.secrets[role]}"}
        who = f"{method} {path} ({operation}) as {role}"
        attempt = lab.attempt(role, _api_send(method, path, operation, role, lab.world, headers))
        if not tally.record(f"api:{operation}", who, attempt):
            tally.not_exercised.setdefault(f"api:{operation}", f"{who} answered {attempt.status}, changed nothing")
    return operations


def test_every_mutating_route_and_operation_leaves_an_audit_row_naming_its_actor():
    world = build_audit_world()
    tally = Tally()
    with Watch() as watch:
        lab = Lab(world, watch)
        forms, pages = crawl_forms(world, lab.clients)
        watch.read()  # opening pages writes what the security battery allows (sessions, presence)
        exercise_forms(lab, forms, tally)
        web = [r for r in routes_to_crawl() if not r.api and not r.pattern.startswith("admin/")]
        get_only = exercise_payloads(lab, web, tally)
        operations = exercise_api(lab, tally)
        lab.keep_prepared()  # for the watch to deallocate it
    mutating = set(tally.exercised)
    gaps = sorted((mutating - tally.audited) & set(KNOWN_GAPS))
    figure(f"audit: {len(mutating)} mutating routes and operations exercised, {len(tally.audited)} wrote an audit "
          f"row, {len(mutating - tally.audited) - len(gaps)} missing (allowed without: {len(tally.unaudited_only)}, "
          f"{sorted(tally.unaudited_only)}; known gaps: {gaps}); {pages} pages crawled, {tally.forms} ways to send "
          f"their forms, {lab.requests} requests, {operations} unsafe API operations; web routes taking no POST: "
          f"{len(get_only)}; not exercised: {sorted(tally.not_exercised)}")
    assert tally.errors == [], "\n".join(tally.errors)
    assert tally.missing == [], "\n".join(tally.missing)
    unexplained = {name: why for name, why in tally.not_exercised.items() if name not in NOT_EXERCISED}
    assert unexplained == {}, "routes that take a POST but changed nothing: give them a value or list them"
    assert set(NOT_EXERCISED) <= set(tally.not_exercised), "NOT_EXERCISED lists a route that is exercised now"
