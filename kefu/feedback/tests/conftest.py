"""Fixtures of the feedback tests: frozen time, a support team with its agent and supervisor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from kefu.accounts.models import Department, Role, User
from kefu.core.clock import frozen_at
from kefu.feedback.tests.support import START
from kefu.testing import factories


@pytest.fixture
def clock() -> Iterator[dt.datetime]:
    with frozen_at(START):
        yield START


@pytest.fixture
def team() -> Department:
    return factories.department("Billing team")


@pytest.fixture
def agent(team: Department) -> User:
    return factories.staff(Role.AGENT, teams=(team,))


@pytest.fixture
def supervisor(team: Department) -> User:
    return factories.staff(Role.SUPERVISOR, teams=(team,), name="Supervisor Li")
