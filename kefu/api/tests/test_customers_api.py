"""Customer profiles through the REST API (staff only)."""

from __future__ import annotations

import pytest

from kefu.testing import factories

pytestmark = pytest.mark.django_db


def test_staff_add_find_and_change_a_customer(staff_api):
    created = staff_api.post("/api/v1/customers", {"name": "Zhang San", "email": "Zhang@Example.com",
                                                   "phone": "13800001111", "annual_spend": "120.50"},
                             content_type="application/json")
    assert created.status_code == 201
    customer = created.json()
    assert customer["email"] == "zhang@example.com"
    assert customer["annual_spend"] == "120.50"
    assert customer["tier"] == "standard"

    found = staff_api.get("/api/v1/customers?q=zhang").json()
    assert [c["id"] for c in found["items"]] == [customer["id"]]
    assert found["items"][0]["ticket_count"] == 0

    changed = staff_api.patch(f"/api/v1/customers/{customer['id']}", {"company": "ACME", "tier": "vip"},
                              content_type="application/json").json()
    assert changed["company"] == "ACME"
    assert changed["tier"] == "vip"
    assert changed["tier_set_by_hand"] is True
    assert staff_api.get(f"/api/v1/customers/{customer['id']}").json()["company"] == "ACME"


def test_a_duplicate_email_is_a_400(staff_api):
    factories.customer(email="dup@example.com")
    response = staff_api.post("/api/v1/customers", {"name": "Dup", "email": "dup@example.com"},
                              content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate_email"


def test_a_missing_customer_is_a_404(staff_api):
    response = staff_api.get("/api/v1/customers/999999")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"]}}


def test_customer_pages_do_not_repeat(staff_api):
    ids = {factories.customer().pk for _ in range(7)}
    seen, cursor = [], None
    for _ in range(5):
        page = staff_api.get("/api/v1/customers?limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert ids <= set(seen)


def test_a_customers_tickets(staff_api):
    customer = factories.customer()
    ticket = factories.ticket(customer)
    factories.ticket()
    page = staff_api.get(f"/api/v1/customers/{customer.pk}/tickets").json()
    assert [t["id"] for t in page["items"]] == [ticket.pk]
    assert page["next_cursor"] is None
