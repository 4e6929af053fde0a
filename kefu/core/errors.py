"""Errors that services raise and the web and API layers translate for the user."""

from __future__ import annotations


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
