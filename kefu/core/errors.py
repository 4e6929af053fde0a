"""Errors that services raise and the web and API layers translate for the user; and how a database that
cannot be reached is told apart from other failures (the pages, the API and the chat's sockets answer it
503 with Retry-After)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

RETRY_AFTER_SECONDS = 5  # a database restart or failover takes seconds
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


class DomainError(Exception):
    """A refused request with a message meant for the user (already translated)."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    """Missing and forbidden look the same to the caller."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The object is visible, but this actor may not perform this action on it."""

    code = "forbidden"
