"""Cross-cutting request handling: user preferences, login by default, Content-Security-Policy, NUL characters
refused."""

from __future__ import annotations

import contextlib
import json
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The chat widget's frame is embedded in customers' own sites: the same policy, framing allowed.
FRAMEABLE_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")

API_PREFIX = "/api/"


class UserPreferencesMiddleware:
    """Activates the signed-in user's time zone, and language unless the request chose one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            tz_name = getattr(user, "time_zone", "") or settings.TIME_ZONE
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            language = getattr(user, "language", "")
            if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LoginRequiredByDefaultMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in user unless its view is marked ``login_not_required``.

    The API authenticates itself (session or bearer token on every operation, see kefu.api), so
    its paths answer 401 JSON rather than redirecting to the login page.
    """

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path_info.startswith(API_PREFIX):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


# ---------------------------------------------------------------------------------------------- NUL characters
# PostgreSQL cannot store U+0000 in a text column, nor compare one in a query (SQLite stores it, and then nothing
# downstream expects it); no customer or agent types one: it comes from broken clients and probes. Django's form
# fields refuse it, but query strings read without a form and the API's bodies (pydantic accepts it) would reach
# the database with it. Refused here for every route, present and future.

NUL = "\x00"
_JSON_NUL = b"\\u0000"  # how a NUL arrives inside a JSON string (a raw NUL byte is not valid JSON at all)


def nul_fields(value: Any, path: str = "") -> Iterator[str]:
    """The dotted paths (``options.0.title``) of the strings in a parsed body that hold a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield path or "__all__"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield name
            yield from nul_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_fields(item, f"{path}.{index}" if path else str(index))


def _request_nul_fields(request: HttpRequest) -> list[str]:
    fields = [key if NUL not in key else "__all__" for key, values in request.GET.lists()
              if NUL in key or any(NUL in value for value in values)]
    content_type = request.content_type or ""
    if content_type == "application/json" and _JSON_NUL in request.body:
        with contextlib.suppress(ValueError):  # not JSON: the view answers that itself
            fields += nul_fields(json.loads(request.body))
    elif request.path.startswith(API_PREFIX) and content_type in {
            "multipart/form-data", "application/x-www-form-urlencoded"}:
        # The API's form fields (the web's forms refuse NUL themselves, with their own messages).
        fields += [key for key, values in request.POST.lists() if NUL in key or any(NUL in v for v in values)]
    return list(dict.fromkeys(fields))


class RejectNulCharactersMiddleware:
    """A 422 naming the fields on the API (its error shape, kefu.api.errors.ErrorOut); a 400 page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        fields = _request_nul_fields(request)
        if not fields:
            return self.get_response(request)
        message = _("Text may not contain NUL characters (U+0000).")
        if not request.path.startswith(API_PREFIX):
            return render(request, "400.html", {"message": message}, status=400)
        error = {"code": "validation_failed", "message": _("Some fields are not valid."),
                 "fields": {field: [message] for field in fields}}
        return HttpResponse(json.dumps({"error": error}), status=422, content_type="application/json")
