"""A database that cannot be reached (restarting, failing over) answers 503 with Retry-After on the web and on the
API, which clients and proxies know to try again, instead of a 500 (bench/faults.py restarts PostgreSQL under
load; these pin the answer one request at a time)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from kefu.accounts.models import Role
from kefu.api import auth as api_auth
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def unreachable(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("connection failed: server closed the connection unexpectedly")


def test_a_console_page_answers_503_with_retry_after(monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(factories.staff(Role.AGENT))
    monkeypatch.setattr(SessionStore, "load", unreachable)  # where a request meets the database first
    response = client.get("/console/tickets/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()


def test_a_page_whose_session_cannot_be_saved_answers_503_not_400(monkeypatch):
    from django.contrib.sessions.models import Session

    client = Client(raise_request_exception=False)
    client.force_login(factories.staff(Role.AGENT))
    # The page writes the session (the agent's activity) as the database goes away: Django's own store calls
    # that an interrupted session, a 400 the browser would not retry.
    monkeypatch.setattr(Session, "save", unreachable)
    response = client.get("/console/tickets/")
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_a_session_deleted_during_the_request_is_still_djangos_400(monkeypatch):
    from django.contrib.sessions.models import Session
    from django.db import DatabaseError

    def gone(*_args: object, **_kwargs: object) -> None:
        raise DatabaseError("Forced update did not affect any rows.")  # what save() says when the row is gone

    client = Client(raise_request_exception=False)
    client.force_login(factories.staff(Role.AGENT))
    monkeypatch.setattr(Session, "save", gone)
    assert client.get("/console/tickets/").status_code == 400


def test_an_api_call_answers_503_in_the_error_shape(monkeypatch):
    monkeypatch.setattr(api_auth, "user_for_api_token", unreachable)
    response = Client().get("/api/v1/me", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"


def test_other_failures_are_still_a_500(monkeypatch):
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    client = Client(raise_request_exception=False)
    client.force_login(factories.staff(Role.AGENT))
    monkeypatch.setattr(SessionStore, "load", broken)
    response = client.get("/console/tickets/")
    assert response.status_code == 500 and "Retry-After" not in response
