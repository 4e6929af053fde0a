"""A NUL character in a query string gets a 400 page on every web route, not a PostgreSQL error (a 500): the
console's searches read their query strings without a form (kefu.core.middleware.RejectNulCharactersMiddleware)."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Role
from kefu.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("path", ["/console/customers/", "/console/tickets/", "/console/knowledge/", "/"])
def test_a_nul_in_the_query_string_is_a_bad_request(path):
    client = Client()
    client.force_login(factories.staff(Role.SUPERVISOR))
    response = client.get(path, {"q": "refund\x00"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Text may not contain NUL characters (U+0000)." in response.content.decode()
    # The same search without it works.
    assert client.get(path, {"q": "refund"}).status_code in {200, 302}


def test_the_chinese_page_says_so_in_chinese():
    client = Client()
    client.force_login(factories.staff(Role.SUPERVISOR))
    response = client.get("/console/customers/", {"q": "\x00"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "不能包含 NUL 字符" in response.content.decode()
