"""Input the databases cannot store, or that costs without bound, gets a 422 naming the field, never a 500: what
the schemathesis battery (test_schemathesis.py) first found, pinned here one case each on both databases."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kefu.customers.models import Customer
from kefu.testing import factories
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "Text may not contain NUL characters (U+0000)."


def fields_of(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    return body["fields"]


def post_json(client, path: str, payload: object):
    return client.post(path, data=json.dumps(payload), content_type="application/json")


def test_nul_characters_are_refused_in_bodies_query_strings_and_forms(staff_api, agent):
    customer = factories.customer()
    ticket = factories.ticket(customer)
    created = post_json(staff_api, "/api/v1/customers", {"name": "Wang\x00", "email": "w@example.com"})
    assert fields_of(created) == {"name": [NUL_MESSAGE]}
    patched = staff_api.patch(f"/api/v1/customers/{customer.pk}", data=json.dumps({"notes": "a\x00b"}),
                              content_type="application/json")
    assert fields_of(patched) == {"notes": [NUL_MESSAGE]}
    proposed = post_json(staff_api, f"/api/v1/tickets/{ticket.pk}/solutions",
                         {"options": [{"title": "Refund", "description": "x\x00"}]})
    assert fields_of(proposed) == {"options.0.description": [NUL_MESSAGE]}
    assert fields_of(staff_api.get("/api/v1/customers", {"q": "\x00"})) == {"q": [NUL_MESSAGE]}
    assert fields_of(staff_api.get("/api/v1/tickets", {"tag": ["vip", "x\x00"]})) == {"tag": [NUL_MESSAGE]}
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    uploaded = staff_api.post(f"/api/v1/tickets/{ticket.pk}/attachments", {"body": "see\x00", "files": [upload]})
    assert fields_of(uploaded) == {"body": [NUL_MESSAGE]}
    # Nothing was written, and a body that only spells a backslash and "u0000" is ordinary text.
    assert Customer.objects.count() == 1 and ticket.messages.count() == 1
    fine = post_json(staff_api, "/api/v1/customers", {"name": "Back\\u0000slash", "email": "b@example.com"})
    assert fine.status_code == 201 and fine.json()["name"] == "Back\\u0000slash"


def test_searches_with_nothing_searchable_answer_an_empty_page(staff_api, agent):
    factories.ticket(subject="Refund not received")
    for query in ("]", "!!", '"', "*", "^", "-"):
        response = staff_api.get("/api/v1/tickets", {"q": query})
        assert response.status_code == 200, (query, response.content)
        assert response.json()["items"] == []


def test_ids_beyond_64_bits_are_refused_by_name(staff_api, agent):
    huge = 2**63
    assert set(fields_of(staff_api.get("/api/v1/tickets", {"owner": huge, "team": huge, "category": huge,
                                                           "customer": huge}))) == {
        "owner.0", "team.0", "category.0", "customer"}
    ticket = factories.ticket()
    assert "owner_id" in fields_of(post_json(staff_api, f"/api/v1/tickets/{ticket.pk}/assign", {"owner_id": huge}))
    created = post_json(staff_api, "/api/v1/tickets", {"subject": "Hi", "customer_id": huge})
    assert "customer_id" in fields_of(created)


def test_moments_that_leave_the_storable_years_are_refused(staff_api):
    for moment in ("9999-12-31T23:00:00-23:59", "0001-01-01T00:30:00+23:59", "1800-01-01T00:00:00"):
        fields = fields_of(staff_api.get("/api/v1/tickets", {"created_from": moment}))
        assert fields == {"created_from": ["Give a moment between the years 1900 and 9998."]}, moment
    # Far offsets within the range are fine: the moment is what counts.
    assert staff_api.get("/api/v1/tickets", {"created_to": "2026-12-04T10:00:00-23:00"}).status_code == 200


def test_tag_lists_are_bounded(staff_api, agent):
    too_many_filters = staff_api.get("/api/v1/tickets", {"tag": [f"t{n}" for n in range(11)]})
    assert fields_of(too_many_filters) == {"tag": ["Give at most 10."]}
    customer = factories.customer()
    too_many_tags = post_json(staff_api, "/api/v1/tickets", {"subject": "Hi", "customer_id": customer.pk,
                                                             "tags": [f"t{n}" for n in range(21)]})
    assert fields_of(too_many_tags) == {"tags": ["Give at most 20."]}
    too_long = post_json(staff_api, "/api/v1/tickets", {"subject": "Hi", "customer_id": customer.pk,
                                                        "tags": ["x" * 51]})
    assert fields_of(too_long) == {"tags.0": ["Use at most 50 characters."]}
    assert not Ticket.objects.exists()


def test_annual_spend_must_fit_the_column(staff_api):
    for spend, message in (("1000000000000.00", "Use at most 12 digits before the decimal point."),
                           ("12.345", "Use at most 2 decimal places.")):
        created = post_json(staff_api, "/api/v1/customers", {"name": "Big", "email": "big@example.com",
                                                             "annual_spend": spend})
        assert fields_of(created) == {"annual_spend": [message]}
    fits = post_json(staff_api, "/api/v1/customers", {"name": "Big", "email": "big@example.com",
                                                      "annual_spend": "999999999999.99"})
    assert fits.status_code == 201 and fits.json()["tier"] == "core"


def test_an_email_address_must_be_one_address(staff_api):
    for email in ("eve@example.com\r\nBcc: victim@example.com", "not an address", "a@b.example, c@d.example"):
        created = post_json(staff_api, "/api/v1/customers", {"name": "Eve", "email": email})
        assert created.status_code == 400, (email, created.content)
        assert created.json()["error"] == {"code": "invalid_email", "message": "Enter a valid email address."}
    assert not Customer.objects.exists()
