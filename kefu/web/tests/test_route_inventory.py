"""Authenticated by default: every route in the URL configuration is walked as an anonymous visitor,
and only the explicit allow-list below may answer without sending them to sign in."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from kefu.testing.proof import figure

pytestmark = pytest.mark.django_db

# Routes open to anonymous visitors, each for a reason a reviewer can check.
PUBLIC_ROUTES = {
    "web:login": "the sign-in form",
    "web:set_language": "choosing the language before signing in",
    "web:portal_submit": "customers may submit a request without an account",
    "web:portal_submitted": "the confirmation after an anonymous submission",
    "web:portal_login_link": "asking for a one-time sign-in link",
    "web:portal_login_link_confirm": "the one-time link itself is the credential",
    "web:help_center": "the public help center: published public articles and their search",
    "web:help_article": "a published public article (an internal one answers 404 to everyone but staff)",
    "web:help_feedback": "\"was this helpful?\" on a public article, rate-limited per network",
    "web:track": "the tracking token is the credential",
    "web:track_reply": "the tracking token is the credential",
    "web:track_choose": "the tracking token is the credential",
    "web:track_confirm": "the tracking token is the credential",
    "web:track_object": "the tracking token is the credential",
    "web:track_attachment": "the tracking token is the credential",
    "web:survey": "the satisfaction survey: its single-use link is the credential, rate-limited per network",
    "web:survey_panel": "joining the experience panel from the survey's thank-you page, by the same link",
    "admin:login": "the admin's sign-in form",
    "api:openapi-json": "the published API contract",
    "api:openapi-view": "the API documentation page",
    "api:api-root": "Ninja's root answers 404 to everyone",
    "inbox:channel_hook": "SMS, WeChat, apps and the phone system sign their requests instead",
    "chat:widget": "the chat widget's frame: visitors start a chat without an account",
    "chat:resume": "the chat's token is the visitor's credential",
    "chat:file": "a signed link given only to the chat's two sides",
}

_CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}".strip(":") if ns else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), full_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}".strip(":") if entry.name else ""
            yield prefix + str(entry.pattern), name


def _concrete(route: str) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")

    def value(match: re.Match[str]) -> str:
        return "987654" if match.group("conv") == "int" else "not-a-real-token-000000000000"

    path = _CONVERTER.sub(value, route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)  # regex routes (admin) get a plausible id
    return "/" + path.replace("\\", "")


def _first_allowed_method(client, path):
    """GET, or the first method the route accepts (POST-only actions answer 405 to GET)."""
    response = client.get(path)
    for method in ("post", "patch", "delete"):
        if response.status_code != 405:
            break
        response = getattr(client, method)(path)
    return response


def all_routes():
    return sorted(set(_walk(get_resolver().url_patterns)))


def test_route_inventory_is_not_empty_and_names_every_route():
    routes = all_routes()
    assert len(routes) > 20
    unnamed = [route for route, name in routes if not name and not route.startswith("admin/")]
    assert unnamed == []


def test_every_route_outside_the_allow_list_needs_a_signed_in_user(client):
    leaks = []
    for route, name in all_routes():
        if name in PUBLIC_ROUTES:
            continue
        path = _concrete(route)
        response = _first_allowed_method(client, path)
        if path.startswith("/api/"):
            ok = response.status_code == 401
        else:
            ok = response.status_code == 302 and response["Location"].startswith(("/login/", "/admin/login/"))
        if not ok:
            leaks.append(f"{name or route} {path} → {response.status_code}")
    routes = all_routes()
    public = sum(1 for _route, name in routes if name in PUBLIC_ROUTES)
    figure(f"route inventory: {len(routes)} routes, {len(routes) - public} need a signed-in user, {public} open on "
           f"purpose (the allow-list), {len(leaks)} open without being listed")
    assert leaks == []


def test_allow_list_names_only_routes_that_exist():
    names = {name for _route, name in all_routes()}
    assert set(PUBLIC_ROUTES) - names == set()
