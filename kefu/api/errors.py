"""One JSON error shape for every failure the API answers, and the handlers that produce it.

``{"error": {"code": "not_found", "message": "Ticket not found.", "fields": {"subject": ["…"]}}}``
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kefu.core.errors import RETRY_AFTER_SECONDS, DomainError, NotFound, PermissionDenied
from kefu.core.inputs import OUT_OF_RANGE
from kefu.core.schemas import Out

logger = logging.getLogger("kefu.api")

CONFLICT_CODES = frozenset({"illegal_transition"})
"""Domain refusals that are about the object's current state rather than the request: 409."""

ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 500, 503)
"""Every operation documents these; each answers them in the ErrorOut shape."""


STATUS_CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 422: "validation_failed",
                429: "rate_limited", 500: "server_error", 503: "unavailable"}


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Out):
    error: ErrorDetail


def error_response(api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str,
                   fields: dict[str, list[str]] | None = None) -> HttpResponse:
    body = ErrorOut(error=ErrorDetail(code=code, message=message, fields=fields))
    return api.create_response(request, body.model_dump(exclude_none=True), status=status)


def domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    return 409 if exc.code in CONFLICT_CODES else 400


def _field_message(error: dict[str, Any]) -> str:
    """Translated messages for the common validation failures; pydantic's text otherwise."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in {"enum", "literal_error"}:
        return _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("Enter a whole number.")
    if kind == OUT_OF_RANGE:
        return _("Give a moment between the years %(first)s and %(last)s.") % ctx
    if kind.startswith(("datetime", "date_")):
        return _("Enter a date and time in ISO 8601 form.")
    if kind == "string_too_long":
        return _("Use at most %(max)s characters.") % {"max": ctx.get("max_length", "")}
    if kind == "too_short":
        return _("Give at least %(min)s.") % {"min": ctx.get("min_length", "")}
    if kind == "too_long":
        return _("Give at most %(max)s.") % {"max": ctx.get("max_length", "")}
    if kind == "decimal_max_digits":
        return _("Use at most %(max)s digits.") % {"max": ctx.get("max_digits", "")}
    if kind == "decimal_whole_digits":
        return _("Use at most %(max)s digits before the decimal point.") % {"max": ctx.get("whole_digits", "")}
    if kind == "decimal_max_places":
        return _("Use at most %(max)s decimal places.") % {"max": ctx.get("decimal_places", "")}
    if kind == "less_than_equal":
        return _("Give at most %(max)s.") % {"max": ctx.get("le", "")}
    if kind == "greater_than_equal":
        return _("Give at least %(min)s.") % {"min": ctx.get("ge", "")}
    if kind in {"string_type", "model_attributes_type", "dict_type", "list_type", "bool_parsing"}:
        return _("This value has the wrong type.")
    return str(error.get("msg", _("This value is not valid.")))


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    """``["body", "payload", "customer", "email"]`` → ``"customer.email"``; ``["query", "q"]`` → ``"q"``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "form", "file", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in {"payload", "filters", "data"}:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(_field_message(error))
    return fields


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace Ninja's defaults so that every failure speaks ErrorOut."""

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(api, request, domain_status(exc), exc.code, exc.message)

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(api, request, 422, "validation_failed", _("Some fields are not valid."),
                              validation_fields(exc.errors))

    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error_response(
            api, request, 401, "unauthenticated",
            _("Sign in, or send an API token in the Authorization header (Bearer)."),
        )
        response["WWW-Authenticate"] = 'Bearer realm="kefu"'
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        return error_response(api, request, exc.status_code, code, str(exc))

    def on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", _("Not found."))

    def on_database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.warning("api.database_unavailable", extra={"path": request.path, "method": request.method})
        response = error_response(api, request, 503, "unavailable",
                                  _("The service is unavailable for a moment. Please try again in a few seconds."))
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("api.unhandled_error", extra={"path": request.path, "method": request.method})
        return error_response(api, request, 500, "server_error",
                              _("Something went wrong on our side. Please try again later."))

    handlers: dict[type[Exception], Any] = {
        DomainError: on_domain_error,
        ValidationError: on_validation_error,
        AuthenticationError: on_authentication_error,
        HttpError: on_http_error,
        Http404: on_http404,
        OperationalError: on_database_unavailable,
        InterfaceError: on_database_unavailable,
        Exception: on_unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
