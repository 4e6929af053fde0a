from __future__ import annotations

from collections.abc import Callable

import pytest

from kefu.accounts.models import Role, User
from kefu.accounts.services import issue_api_token
from kefu.api.tests.openapi import ApiClient
from kefu.testing import factories


@pytest.fixture
def team(db):
    return factories.department("Support")


@pytest.fixture
def agent(team) -> User:
    return factories.staff(Role.AGENT, teams=(team,), name="Agent Wang")


@pytest.fixture
def supervisor(db) -> User:
    return factories.staff(Role.SUPERVISOR, name="Supervisor Li")


@pytest.fixture
def client_for() -> Callable[..., ApiClient]:
    """A session-authenticated client (CSRF not enforced: Django's test default)."""

    def make(user: User | None = None, **kwargs) -> ApiClient:
        client = ApiClient(**kwargs)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def token_client() -> Callable[[User], ApiClient]:
    """A client that authenticates with a fresh bearer token only (no session)."""

    def make(user: User) -> ApiClient:
        _token, secret = issue_api_token(user, "tests", actor=user)
        return ApiClient(headers={"Authorization": f"Bearer {secret}"})

    return make


@pytest.fixture
def staff_api(agent, token_client) -> ApiClient:
    return token_client(agent)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The factories give every person a password; the slow production hasher adds nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
