"""The caller's own account and personal API tokens."""

from __future__ import annotations

import pytest

from kefu.accounts.models import ApiToken
from kefu.api.tests.openapi import ApiClient
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def test_me_describes_the_signed_in_user(agent, client_for):
    me = client_for(agent).get("/api/v1/me").json()
    assert me["username"] == agent.username
    assert me["role"] == "agent"
    assert me["is_staff_member"] is True


def test_customers_may_ask_who_they_are(client_for):
    customer = factories.customer()
    assert client_for(customer.user).get("/api/v1/me").json()["role"] == "customer"


def test_issuing_a_token_shows_its_secret_once_and_revoking_it_stops_it(agent, client_for):
    client = client_for(agent)
    issued = client.post("/api/v1/me/tokens", {"name": "CRM sync"}, content_type="application/json")
    assert issued.status_code == 201
    token = issued.json()
    assert token["secret"].startswith("kefu_")
    assert token["secret"].startswith(token["prefix"])
    assert not ApiToken.objects.filter(key_hash=token["secret"]).exists()  # only the hash is stored

    listed = client.get("/api/v1/me/tokens").json()
    assert [t["name"] for t in listed] == ["CRM sync"]
    assert "secret" not in listed[0]

    bearer = ApiClient(headers={"Authorization": f"Bearer {token['secret']}"})
    assert bearer.get("/api/v1/me").status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{token['id']}").status_code == 204
    assert bearer.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me/tokens").json() == []
    assert client.delete(f"/api/v1/me/tokens/{token['id']}").status_code == 404


def test_nobody_can_revoke_someone_elses_token(agent, supervisor, client_for):
    issued = client_for(agent).post("/api/v1/me/tokens", {"name": "mine"}, content_type="application/json").json()
    assert client_for(supervisor).delete(f"/api/v1/me/tokens/{issued['id']}").status_code == 404
