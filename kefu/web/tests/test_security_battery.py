"""Security battery: opening a page never writes, and nothing is changed without the CSRF token.

Every URL pattern (web pages, the admin, the API) is opened with GET by every role, its parameters filled with
the role's own objects from the permission matrix's world so that the pages really render, while every table of
the database is watched; each post form on the pages must carry its CSRF token. Then every route that takes a
POST is sent one without the token, as a role that may use it, and must be refused by the CSRF check itself
(a 404 or a redirect to sign in would hide a missing check); the API refuses a signed-in browser's unsafe
request without the token, and needs none with a bearer token.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection, models
from django.test import Client
from django.utils.crypto import get_random_string

from kefu.accounts.models import Role
from kefu.accounts.services import create_login_link
from kefu.testing import factories
from kefu.testing.proof import figure
from kefu.tickets.models import Priority, Ticket
from kefu.web.tests.test_permission_matrix import (
    ADMIN_MODEL_ROUTE,
    API_GROUPS,
    ROLES,
    WEB_GROUPS,
    World,
    _api_path,
    _api_request,
    _read,
    api_operations,
    build_world,
    expected,
    param_value,
    web_payload,
)
from kefu.web.tests.test_route_inventory import all_routes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The world gives a dozen people a password; the slow production hasher would take most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ---------------------------------------------------------------------------------------------- the database

# What a GET may change, each for a reason a reviewer can check: {table: {column: (why, routes)}}. The column
# "*" allows any column of the table, and new rows; otherwise the table's row count must not move. Routes None:
# any route. Everything else in the database must stay exactly as it was.
ALLOWED_WRITES: dict[str, dict[str, tuple[str, frozenset[str] | None]]] = {
    "django_session": {
        # kefu.web.middleware.AgentActivityMiddleware keeps the time of the last activity note in the session,
        # so the signed-in session's row is saved again. A new session row (e.g. for an anonymous visitor) is
        # not allowed: the row count is checked.
        "session_data": ("the console's activity time is kept in the signed-in session", None),
        "expire_date": ("a saved session's expiry moves forward", None),
    },
    "routing_agentprofile": {
        # Same middleware: working in the console keeps an agent "online" for routing (one write a minute).
        "last_seen_at": ("routing presence: the console records when an agent was last seen", None),
    },
    "accounts_apitoken": {
        # kefu.accounts.services.user_for_api_token: the preferences page shows a token's last use.
        "last_used_at": ("an API token's last use, written at most every five minutes", None),
    },
    "core_ratecounter": {
        # The survey link is opened by mail scanners and guessers: every opening counts towards the network's
        # limit (kefu.web.portal.survey, one upsert per hit). The tracking links count only the openings that
        # led nowhere, which the crawl (own links only) does not make.
        "*": ("the survey link's rate limit, counted on GET by design", frozenset({"web:survey"})),
    },
}

_NUMBER = (models.AutoField, models.BigAutoField, models.IntegerField, models.BigIntegerField,
           models.SmallIntegerField, models.PositiveIntegerField, models.PositiveBigIntegerField,
           models.PositiveSmallIntegerField, models.DecimalField, models.FloatField)
_MOMENT = (models.DateTimeField, models.DateField, models.TimeField, models.DurationField)


def _choice_values(f: models.Field[Any, Any]) -> list[str]:
    values = [str(value) for value, _label in f.flatchoices]
    assert all(re.fullmatch(r"[\w.:-]*", value) for value in values), f"{f} has a choice unfit for SQL"
    return values


def _probes(model: type[models.Model] | None) -> list[tuple[str, str]]:
    """(label, SQL aggregate) that move when a row is added, removed or changed in most ways: the row count, the
    highest id, sums of numbers, references and flags, the latest moment, the total length of texts, and how
    many values of each column are set. (A full checksum of every row would cost too much per request.)"""
    probes = [("rows", "COUNT(*)")]
    if model is None:  # a table without a model, e.g. SQLite's full-text index: its rows
        return probes
    q = connection.ops.quote_name
    for f in model._meta.local_concrete_fields:
        name = f.column or f.name
        column = q(name)
        target = f.target_field if isinstance(f, models.ForeignKey) else f
        if isinstance(f, models.BooleanField):
            probes.append((name, f"SUM(CASE WHEN {column} THEN 1 ELSE 0 END)"))
        elif isinstance(target, _NUMBER):
            probes.append((name, f"SUM({column})"))
            if f.primary_key:
                probes.append((f"max {name}", f"MAX({column})"))
        elif isinstance(f, _MOMENT):
            probes.append((name, f"MAX({column})"))
        elif f.choices:  # a state, a priority: each choice weighs differently, whatever its length
            weights = " ".join(f"WHEN '{value}' THEN {i}" for i, value in enumerate(_choice_values(f), start=1))
            probes.append((name, f"SUM(CASE {column} {weights} ELSE 0 END)"))
        else:  # text, JSON, binary, UUIDs
            probes.append((name, f"SUM(LENGTH(CAST({column} AS TEXT)))"))
        if f.null:
            probes.append((f"set {name}", f"COUNT({column})"))
    return probes


class Watch:
    """Reads a fingerprint of every table of the database in one query; ``changes`` names what moved."""

    _names = itertools.count()

    def __init__(self) -> None:
        q = connection.ops.quote_name
        by_table = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        self.labels: dict[str, list[str]] = {}
        parts = []
        for table in sorted(tables):
            probes = _probes(by_table.get(table))
            self.labels[table] = [label for label, _sql in probes]
            joined = " || '|' || ".join(f"COALESCE(CAST({sql} AS TEXT), '-')" for _label, sql in probes)
            parts.append(f"SELECT '{table}', {joined} FROM {q(table)}")  # noqa: S608 (the database's own tables)
        self.sql = " UNION ALL ".join(parts)
        self.statement = ""
        if connection.vendor == "postgresql":
            # Planned once: the query names every table and takes longer to plan than to run.
            self.statement = f"kefu_watch_{os.getpid()}_{next(self._names)}"
            with connection.cursor() as cursor:
                cursor.execute(f"PREPARE {self.statement} AS {self.sql}")
        self.last: dict[str, str] = {}
        self.read()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.statement:
            with connection.cursor() as cursor:
                cursor.execute(f"DEALLOCATE {self.statement}")

    def read(self) -> None:
        with connection.cursor() as cursor:
            if self.statement:
                # Never in parallel: starting workers for a few rows costs far more than reading them.
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cursor.execute(f"EXECUTE {self.statement}")
                rows = cursor.fetchall()
                cursor.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
            else:
                cursor.execute(self.sql)
                rows = cursor.fetchall()
        self.last = dict(rows)

    def changes(self) -> list[tuple[str, str, str, str]]:
        """(table, probe, before, after) for every probe that moved since the previous reading."""
        before = self.last
        self.read()
        moved = []
        for table, value in self.last.items():
            if value != before[table]:
                moved += [(table, label, old, new) for label, old, new in zip(
                    self.labels[table], before[table].split("|"), value.split("|"), strict=True) if old != new]
        return moved


def _allowed(table: str, label: str, route: str) -> bool:
    rules = ALLOWED_WRITES.get(table, {})
    rule = rules.get("*") or rules.get(label.removeprefix("set ").removeprefix("max "))
    return rule is not None and (rule[1] is None or route in rule[1])


def test_the_watch_sees_changes_that_keep_the_row_count_and_the_ids():
    ticket = factories.ticket()
    with Watch() as watch:
        # No updated_at, no new row, no new id: "normal" → "urgent" even keeps the text's length.
        Ticket.objects.filter(pk=ticket.pk).update(priority=Priority.URGENT)
        assert [(table, label) for table, label, _old, _new in watch.changes()] == [("tickets_ticket", "priority")]
        Ticket.objects.filter(pk=ticket.pk).update(subject="A question about my accounts")
        assert [(table, label) for table, label, _old, _new in watch.changes()] == [("tickets_ticket", "subject")]
        ticket.customer.user.is_active = False
        ticket.customer.user.save(update_fields=["is_active"])
        assert [(table, label) for table, label, _old, _new in watch.changes()] == [("accounts_user", "is_active")]
        assert watch.changes() == []


# ---------------------------------------------------------------------------------------------- forms


class _PostForms(HTMLParser):
    """Each <form method="post"> of a page: its action, and whether it holds a filled csrfmiddlewaretoken."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, bool]] = []
        self._open: list[tuple[str, bool, list[bool]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open.append((values.get("action", ""), values.get("method", "get").lower() == "post", []))
        elif tag == "input" and values.get("name") == "csrfmiddlewaretoken" and values.get("value") and self._open:
            self._open[-1][2].append(True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open:
            action, post, token = self._open.pop()
            if post:
                self.forms.append((action, bool(token)))


def post_forms(html: str) -> list[tuple[str, bool]]:
    parser = _PostForms()
    parser.feed(html)
    parser.close()
    return parser.forms


def test_the_form_reader_tells_a_form_without_its_token():
    html = ('<form method="POST" action="/a/"><input type="hidden" name="csrfmiddlewaretoken" value="x"></form>'
            '<form method="post" action="/b/"><input name="body"></form><form action="/search/"></form>')
    assert post_forms(html) == [("/a/", True), ("/b/", False)]


# ---------------------------------------------------------------------------------------------- routes

_ARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
_API_DOCUMENTS = {"api-root", "openapi-json", "openapi-view"}
_ADMIN_OBJECT_PAGE = re.compile(r"^admin/(\w+)/(\w+)/<path:object_id>/")


@dataclass(frozen=True)
class Route:
    name: str  # the pattern itself for the admin's few unnamed ones
    pattern: str

    @property
    def api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def args(self) -> list[str]:
        return [a or b for a, b in _ARG.findall(self.pattern)]


def routes_to_crawl() -> list[Route]:
    """Every URL pattern once (the API's routes carry one name per path; its GET is what is crawled)."""
    seen: set[str] = set()
    routes = []
    for pattern, name in all_routes():
        if pattern not in seen:
            seen.add(pattern)
            routes.append(Route(name or pattern, pattern))
    return routes


def _admin_only(route: Route) -> bool:
    """Admin pages the permission matrix leaves out (per-object pages, add forms, app indexes, autocomplete):
    they sit behind the same admin check as its changelists, so only the administrator opens them here."""
    return route.pattern.startswith("admin/") and not (
        route.name in WEB_GROUPS or ADMIN_MODEL_ROUTE.match(route.name))


def _admin_object(route: Route) -> models.Model | None:
    match = _ADMIN_OBJECT_PAGE.match(route.pattern)
    if match is None:
        return None
    return apps.get_model(match.group(1), match.group(2))._default_manager.order_by("pk").first()


def _value(arg: str, route: Route, world: World, role: str) -> Any:
    """The role's own object for a URL argument; None for an admin object page of a model without rows."""
    if arg == "secret":
        # A real, unused sign-in link: opening it must show a button and leave the link unused.
        return create_login_link(world.users["customer"])  # type: ignore[arg-type]
    if arg == "app_label":
        return "tickets"
    if arg == "url":  # the admin's catch-all
        return "no-such-page/"
    if arg == "id":  # the admin's password form for a user
        return world.users["customer"].pk  # type: ignore[union-attr]
    if arg == "content_type_id":
        return ContentType.objects.get_for_model(Ticket).pk
    if arg == "object_id" and route.name == "admin:view_on_site":
        return world.tickets["own"].pk
    if arg == "object_id":
        found = _admin_object(route)
        return found.pk if found is not None else None
    return param_value(arg, "own", world, role, route.name)


def path_for(route: Route, world: World, role: str) -> str | None:
    """The route filled with the role's own objects; None for an admin object page of a model without rows."""
    values = {arg: _value(arg, route, world, role) for arg in route.args}
    if None in values.values():
        return None
    path = _ARG.sub(lambda m: str(values[m.group(1) or m.group(2)]), route.pattern)
    return "/" + path.replace("^", "").replace("$", "")


# ---------------------------------------------------------------------------------------------- no writes on GET


def _credentials(world: World, role: str) -> Iterator[tuple[str, Client, dict[str, str]]]:
    """The role's browser session, and for the API also its bearer token."""
    client = Client()
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    yield "session", client, {}
    if role in world.secrets:
        yield "token", Client(), {"Authorization": f"Bearer {world.secrets[role]}"}


@dataclass
class Crawl:
    requests: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    answers: dict[int, int] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    forms: int = 0
    forms_without_token: list[str] = field(default_factory=list)
    allowed_seen: set[str] = field(default_factory=set)
    unfilled: set[str] = field(default_factory=set)


def crawl(world: World) -> Crawl:
    result = Crawl()
    routes = routes_to_crawl()
    # A bearer token opens the API's operations; the API's documents and root need none.
    operations = {r for r in routes if r.api and r.name.removeprefix("api:") not in _API_DOCUMENTS}
    with Watch() as watch:
        for role in ROLES:
            for credential, client, headers in _credentials(world, role):
                watch.read()  # after the sign-in, which writes its session
                for route in routes:
                    if (credential == "token" and route not in operations) or (
                            _admin_only(route) and role != "admin"):
                        continue
                    _open(result, watch, route, world, role, (credential, client, headers))
    return result


def _open(result: Crawl, watch: Watch, route: Route, world: World, role: str,
          credentials: tuple[str, Client, dict[str, str]]) -> None:
    credential, client, headers = credentials
    path = path_for(route, world, role)
    if path is None:
        result.unfilled.add(route.name)
        return
    if "secret" in route.args:
        watch.read()  # the sign-in link was written before the request, not by it
    outbox, queued = len(mail.outbox), len(connection.run_on_commit)
    response = _read(client.get(path, headers=headers))
    who = f"GET {route.name} {path} as {role} ({credential})"
    result.requests += 1
    kind = f"api ({credential})" if route.api else "admin" if route.pattern.startswith("admin/") else "web"
    result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
    result.answers[response.status_code] = result.answers.get(response.status_code, 0) + 1
    assert response.status_code < 500, f"{who} answered {response.status_code}"
    for table, label, old, new in watch.changes():
        if _allowed(table, label, route.name):
            result.allowed_seen.add(table)
        else:
            result.writes.append(f"{who} changed table {table}: {label} {old} → {new}")
    if len(mail.outbox) != outbox:
        result.writes.append(f"{who} sent mail")
    if len(connection.run_on_commit) != queued:
        result.writes.append(f"{who} queued work to run after the commit")
    if response.status_code == 200 and "html" in response.get("Content-Type", ""):
        for action, token in post_forms(response.content.decode()):
            result.forms += 1
            if not token:
                result.forms_without_token.append(f"{who}: <form method=post action={action!r}>")


def test_opening_any_page_as_any_role_writes_nothing_and_every_post_form_on_it_carries_its_csrf_token():
    world = build_world()
    result = crawl(world)
    figure(f"GET requests crawled (route × role × credential): {result.requests} {result.by_kind}, answered "
          f"{dict(sorted(result.answers.items()))}; post forms checked: {result.forms}; admin object pages "
          f"without an object to open: {len(result.unfilled)}; allowed writes seen: {sorted(result.allowed_seen)}; "
          f"writes found: {len(result.writes)}; forms without a CSRF token: {len(result.forms_without_token)}")
    assert result.writes == [], "\n".join(result.writes)
    # The allowed writes happen through the same requests: the watch sees what GETs write.
    assert result.allowed_seen >= {"django_session", "accounts_apitoken", "core_ratecounter"}
    assert result.forms_without_token == [], "\n".join(result.forms_without_token)
    assert result.requests > 1200
    assert result.answers[200] > 450  # own objects: the pages render rather than answer 404
    assert result.forms > 600


# ---------------------------------------------------------------------------------------------- CSRF

# Routes that take a POST without a CSRF token on purpose: no session stands behind them.
CSRF_EXEMPT = {
    "inbox:channel_hook": "SMS, WeChat, apps and the phone system sign each request; no session is read",
    "chat:widget": "a frame on a customer's own site gets no CSRF cookie; starting a chat needs no account",
}


def _user_for(group: str, world: World) -> tuple[str, Any]:
    """A role that may use a route of ``group`` on its own objects (anonymous when only a credential in the URL
    or a signature is needed)."""
    for role in ("agent", "customer", "supervisor", "admin", "qa", "department", "anonymous"):
        if expected(group, role, "own"):
            return role, world.users[role]
    return "supervisor", world.users["supervisor"]  # withdrawing is for whoever asked; the check comes first


def _browser(user: Any) -> tuple[Client, str]:
    """A browser signed in as ``user`` that holds a CSRF cookie, as after opening any page with a form."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    return client, secret


class _CsrfRejections(logging.Handler):
    """Django's CSRF middleware logs each request it rejects ("Forbidden (CSRF token missing.): /path")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        path = record.args[1] if isinstance(record.args, tuple) and len(record.args) > 1 else ""
        self.paths.append(str(path))


@pytest.fixture
def csrf_rejections() -> Iterator[_CsrfRejections]:
    handler = _CsrfRejections()
    logger = logging.getLogger("django.security.csrf")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _csrf_refused(response: Any, path: str, rejections: _CsrfRejections) -> bool:
    """Refused by the CSRF check itself: every page, a 403 included, mentions "CSRF" (its htmx header), so the
    middleware's own record of the rejection is what counts."""
    refused = response.status_code == 403 and path in rejections.paths
    rejections.paths.clear()
    return refused


def test_every_form_refuses_a_post_without_its_csrf_token(csrf_rejections: _CsrfRejections):
    world = build_world()
    checked, get_only, reached, defects = [], [], [], []
    for route in routes_to_crawl():
        if route.api:
            continue  # the API checks the token itself (next test)
        group = WEB_GROUPS.get(route.name) or "admin_site"
        role, user = _user_for(group, world)
        client, secret = _browser(user)
        path = path_for(route, world, role)
        if path is None:
            continue  # an admin object page of a model without rows: covered by its sibling routes' check
        data = web_payload(route.name, world)
        if route.name.endswith("_choose"):
            data = {"option": world.options["own"].pk}
        without = _read(client.post(path, data))
        refused = _csrf_refused(without, path, csrf_rejections)
        # The same request with the token: a route that answers 405 takes no POST at all.
        with_token = _read(client.post(path, data, headers={"X-CSRFToken": secret}))
        if with_token.status_code == 405:
            get_only.append(route.name)
            continue
        assert not _csrf_refused(with_token, path, csrf_rejections), f"POST {route.name} {path} with its token"
        if route.name in CSRF_EXEMPT:
            assert not refused, f"{route.name} is listed as exempt but checks the token"
            continue
        checked.append(route.name)
        if with_token.status_code < 400:
            reached.append(route.name)  # the role really uses the route: the refusal is not a 404 in disguise
        if not refused:
            defects.append(f"DEFECT: POST {route.name} {path} as {role} without a CSRF token answered "
                           f"{without.status_code} (with the token: {with_token.status_code})")
    figure(f"unsafe web routes posted without a CSRF token: {len(checked)}, accepted {len(defects)} (answered below "
           f"400 with the token: {len(reached)}); routes that take no POST: {len(get_only)}; exempt on purpose: "
           f"{sorted(CSRF_EXEMPT)}")
    assert defects == [], "\n".join(defects)
    assert len(checked) > 200
    assert len(reached) > 150


def test_the_api_refuses_a_signed_in_browsers_change_without_its_csrf_token_but_not_a_bearer_tokens():
    world = build_world()
    checked, defects = [], []
    for method, template, operation in api_operations():
        if method == "GET":
            continue
        role, user = _user_for(API_GROUPS[operation], world)
        path = _api_path(template, {arg: param_value(arg, "own", world, role)
                                    for arg in re.findall(r"{(\w+)}", template)})
        client, secret = _browser(user)
        without = _api_request(client, method, path, operation, role, world, {})
        by_session = _api_request(client, method, path, operation, role, world, {"X-CSRFToken": secret})
        by_token = _api_request(Client(enforce_csrf_checks=True), method, path, operation, role, world,
                                {"Authorization": f"Bearer {world.secrets[role]}"})
        checked.append(operation)
        if not (without.status_code == 403 and b'"code":"csrf_failed"' in without.content.replace(b" ", b"")):
            defects.append(f"DEFECT: {method} {path} ({operation}) as {role}'s session without a CSRF token "
                           f"answered {without.status_code} {without.content[:160]!r}")
        for how, response in (("the session with its CSRF token", by_session), ("a bearer token", by_token)):
            assert response.status_code < 500 and b"csrf_failed" not in response.content, \
                f"{method} {path} by {how} answered {response.status_code} {response.content[:160]!r}"
    figure(f"unsafe API operations sent by a signed-in browser without a CSRF token: {len(checked)}, "
           f"accepted {len(defects)}")
    assert defects == [], "\n".join(defects)
    assert len(checked) > 15


def test_saving_an_admin_add_form_never_ends_in_a_server_error():
    """Found by the CSRF check's control requests: an add form whose fields are all read-only saves an empty row."""
    client = Client(raise_request_exception=False)
    client.force_login(factories.staff(Role.ADMIN))
    errors = []
    for route in routes_to_crawl():
        if re.fullmatch(r"admin:\w+_add", route.name):
            path = "/" + route.pattern
            response = client.post(path, {})
            if response.status_code >= 500:
                errors.append(f"DEFECT: saving the empty add form {path} answered {response.status_code}")
    assert errors == [], "\n".join(errors)
