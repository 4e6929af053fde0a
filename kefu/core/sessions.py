"""Sessions in the database, as Django's own, except when the database cannot be reached while a session is
saved. Django reports that as an interrupted session (400 Bad Request, which nobody retries); here the database
error goes on to the error page, which answers 503 with Retry-After like any other request that meets the
outage (kefu.web.errors)."""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from kefu.core.errors import DATABASE_UNAVAILABLE


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create)
        except UpdateError as exc:
            # Django raises UpdateError while handling the database's error; any other cause (the row is
            # gone: the user signed out meanwhile) stays Django's 400.
            cause = exc.__context__
            if isinstance(cause, DATABASE_UNAVAILABLE):
                raise cause from None
            raise
