"""The agent console's customer directory and profile, through HTTP."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.customers.models import Tier
from kefu.customers.services import add_order_reference, set_customer_tier
from kefu.testing import factories

pytestmark = [
    pytest.mark.django_db,
]

LIST = reverse("web:console_customers")


@pytest.fixture
def supervisor(client):
    user = factories.staff(Role.SUPERVISOR)
    client.force_login(user)
    return user


def test_customer_search_by_name_and_order_number(client, supervisor):
    wang = factories.customer("王芳")
    factories.customer("Li Lei")
    add_order_reference(wang, "SO-5521", actor=supervisor)
    page = client.get(LIST, {"q": "王芳"}).content.decode()
    assert "王芳" in page and "Li Lei" not in page
    page = client.get(LIST, {"q": "SO-5521"}).content.decode()
    assert "王芳" in page and "Li Lei" not in page
    assert "No customers match this search." in client.get(LIST, {"q": "nobody"}).content.decode()


def test_customer_list_query_count_does_not_grow_with_rows(client, supervisor, activity_noted_once):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    factories.ticket(factories.customer())
    count()  # the session's first console page also records the agent's activity (once a minute)
    one = count()
    for _ in range(29):
        factories.ticket(factories.customer())
    assert count() == one


def test_customer_profile_shows_tier_identities_orders_and_visible_history(client):
    mine, other = factories.department(), factories.department()
    agent = factories.staff(teams=(mine,))
    customer = factories.customer("Zhao Min", phone="13900001111", account_ref="ACC-77")
    set_customer_tier(customer, Tier.CORE, actor=factories.staff(Role.SUPERVISOR))
    add_order_reference(customer, "SO-42", actor=None)
    seen = factories.ticket(customer, subject="Visible to my team", team=mine)
    hidden = factories.ticket(customer, subject="Other team's case", team=other)
    client.force_login(agent)
    page = client.get(reverse("web:console_customer", kwargs={"customer_id": customer.pk})).content.decode()
    assert "Zhao Min" in page and "Core customer" in page
    assert "13900001111" in page and "ACC-77" in page and "SO-42" in page
    assert customer.email in page
    assert f"#{seen.number}" in page
    assert f"#{hidden.number}" not in page and "Other team&#x27;s case" not in page


def test_unknown_customer_is_not_found(client, supervisor):
    assert client.get(reverse("web:console_customer", kwargs={"customer_id": 999999})).status_code == 404


def test_customer_cannot_see_other_customers_profile_in_console(client):
    one, two = factories.customer(), factories.customer()
    client.force_login(one.user)
    assert client.get(reverse("web:console_customer", kwargs={"customer_id": two.pk})).status_code == 404
