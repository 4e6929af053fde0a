"""Who may call the API: staff by session or bearer token; customers only on their own tickets."""

from __future__ import annotations

import re
import secrets

import pytest

from kefu.accounts.models import Role
from kefu.accounts.services import issue_api_token, revoke_api_token
from kefu.api.tests.openapi import ApiClient, spec
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def _operations():
    for path, operations in spec()["paths"].items():
        for method in operations:
            yield method, re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("method", "path"), list(_operations()))
def test_every_operation_answers_401_json_without_credentials(method, path):
    response = getattr(ApiClient(), method)(path, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_authenticates_and_a_revoked_one_does_not(agent):
    token, secret = issue_api_token(agent, "integration", actor=agent)
    client = ApiClient(headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/me").json()["username"] == agent.username
    revoke_api_token(token, actor=agent)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_unknown_bearer_token_is_refused():
    client = ApiClient(headers={"Authorization": "Bearer kefu_not-a-real-token"})
    assert client.get("/api/v1/tickets").status_code == 401


def test_bearer_token_writes_need_no_csrf_token(agent):
    _token, secret = issue_api_token(agent, "integration", actor=agent)
    client = ApiClient(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {secret}"})
    customer = factories.customer()
    response = client.post("/api/v1/tickets", {"customer_id": customer.pk, "subject": "Refund"},
                           content_type="application/json")
    assert response.status_code == 201


def test_session_writes_are_refused_without_the_csrf_token(agent):
    client = ApiClient(enforce_csrf_checks=True)
    client.force_login(agent)
    customer = factories.customer()
    body = {"customer_id": customer.pk, "subject": "Refund"}
    refused = client.post("/api/v1/tickets", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"

    csrf = secrets.token_hex(16)
    client.cookies["csrftoken"] = csrf
    accepted = client.post("/api/v1/tickets", body, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201


def test_session_reads_need_no_csrf_token(agent):
    client = ApiClient(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.get("/api/v1/tickets").status_code == 200


def test_customer_is_refused_on_staff_operations(client_for):
    customer = factories.customer()
    client = client_for(customer.user)
    for path in ("/api/v1/customers", "/api/v1/me/tokens"):
        response = client.get(path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_department_member_cannot_use_the_api(client_for):
    member = factories.staff(Role.DEPARTMENT)
    assert client_for(member).get("/api/v1/tickets").status_code == 403
