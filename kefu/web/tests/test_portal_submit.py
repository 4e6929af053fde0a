"""Submitting a request on the portal: visitors and signed-in customers, files, limits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.customers.models import Customer
from kefu.notifications.models import Notification
from kefu.notifications.services import render_notification
from kefu.testing import factories
from kefu.tickets.models import Attachment, Category, Ticket

pytestmark = pytest.mark.django_db

SUBMIT = reverse("web:portal_submit")


def _visitor_form(**overrides):
    data = {
        "name": "Wang Fang", "email": "wang.fang@example.com", "phone": "",
        "subject": "Payment failed", "description": "My card was charged but the order shows unpaid.",
        "category": "", "what": "Charged, order unpaid", "when": "Yesterday 20:00", "where": "Mobile app 4.2",
        "who": "Only me", "how": "Pay with card, then error E42", "expected": "Order marked paid",
    }
    data.update(overrides)
    return data


def test_anonymous_visitor_submits_and_is_told_number_owner_and_tracking_link(client):
    factories.staff(Role.AGENT, name="Li Wei")
    response = client.post(SUBMIT, _visitor_form())
    assert response.status_code == 302
    assert response["Location"] == reverse("web:portal_submitted")

    page = client.get(response["Location"])
    ticket = Ticket.objects.get()
    text = page.content.decode()
    assert f"#{ticket.number}" in text
    assert "Li Wei is looking after your request." in text
    assert f"/t/{ticket.tracking_token}/" in text
    assert ticket.customer.email == "wang.fang@example.com" and ticket.customer.name == "Wang Fang"
    assert ticket.channel == "web" and ticket.language == "en"
    assert ticket.where == "Mobile app 4.2" and ticket.how == "Pay with card, then error E42"

    ack = Notification.objects.get(template="ticket_received", ticket_id=ticket.pk)
    _subject, body = render_notification(ack)
    assert ticket.number in body and "Li Wei" in body and ticket.tracking_token in body


def test_confirmation_without_an_agent_says_one_will_be_assigned(client):
    client.post(SUBMIT, _visitor_form())
    page = client.get(reverse("web:portal_submitted"))
    assert "An agent will be assigned shortly." in page.content.decode()


def test_confirmation_page_without_a_submission_goes_back_to_the_form(client):
    response = client.get(reverse("web:portal_submitted"))
    assert response.status_code == 302 and response["Location"] == SUBMIT


def test_known_email_is_matched_to_the_existing_customer(client):
    existing = factories.customer(email="known@example.com")
    client.post(SUBMIT, _visitor_form(email="Known@Example.com"))
    assert Customer.objects.count() == 1
    assert Ticket.objects.get().customer == existing


def test_submit_form_shows_5w1h_questions_with_hints_and_active_categories(client):
    Category.objects.create(slug="billing", name_en="Billing", name_zh="账单")
    Category.objects.create(slug="old", name_en="Retired topic", name_zh="旧", active=False)
    text = client.get(SUBMIT).content.decode()
    for label in ("What happened?", "When did it happen?", "Where — which product or scene?",
                  "Who / how many are affected?", "How — steps or error text", "Expected outcome"):
        assert label in text
    assert "The steps that lead to the problem, or the exact error message." in text
    assert "Billing" in text and "Retired topic" not in text


def test_signed_in_customer_submits_for_themselves_without_contact_fields(client):
    customer = factories.customer(name="Zhao Lei")
    category = Category.objects.create(slug="billing", name_en="Billing", name_zh="账单")
    client.force_login(customer.user)
    assert 'name="email"' not in client.get(SUBMIT).content.decode()
    files = [SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n fake", content_type="image/png"),
             SimpleUploadedFile("log.txt", b"error E42", content_type="text/plain")]
    data = _visitor_form(category=str(category.pk))
    for key in ("name", "email", "phone"):
        data.pop(key)
    response = client.post(SUBMIT, {**data, "attachments": files})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.customer == customer and ticket.category == category
    assert sorted(Attachment.objects.values_list("filename", flat=True)) == ["log.txt", "shot.png"]
    assert Customer.objects.count() == 1


def test_oversized_attachment_is_refused_and_form_keeps_text(client, settings):
    settings.KEFU = {**settings.KEFU, "ATTACHMENT_MAX_BYTES": 1024 * 1024}
    big = SimpleUploadedFile("dump.txt", b"x" * (1024 * 1024 + 1), content_type="text/plain")
    response = client.post(SUBMIT, {**_visitor_form(), "attachments": [big]})
    assert response.status_code == 400
    text = response.content.decode()
    assert "“dump.txt” is larger than the limit of 1 MB." in text
    assert "My card was charged but the order shows unpaid." in text
    assert "Pay with card, then error E42" in text and 'value="wang.fang@example.com"' in text
    assert Ticket.objects.count() == 0 and Customer.objects.count() == 0


def test_attachment_of_a_forbidden_type_is_refused(client):
    exe = SimpleUploadedFile("setup.exe", b"MZ", content_type="application/octet-stream")
    response = client.post(SUBMIT, {**_visitor_form(), "attachments": [exe]})
    assert response.status_code == 400
    assert "cannot be attached" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_missing_required_fields_are_reported(client):
    response = client.post(SUBMIT, _visitor_form(email="", subject=""))
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2
    assert Ticket.objects.count() == 0


def test_anonymous_submission_is_rate_limited(client):
    for _ in range(10):
        assert client.post(SUBMIT, _visitor_form()).status_code == 302
    response = client.post(SUBMIT, _visitor_form(subject="Eleventh"))
    assert response.status_code == 429
    assert "Too many requests were submitted from your network" in response.content.decode()
    assert "Eleventh" in response.content.decode()
    assert Ticket.objects.count() == 10
    other_network = client.post(SUBMIT, _visitor_form(), REMOTE_ADDR="10.0.0.9")
    assert other_network.status_code == 302


def test_staff_submitting_is_sent_to_the_console(client):
    client.force_login(factories.staff())
    response = client.get(SUBMIT)
    assert response.status_code == 302 and response["Location"] == reverse("web:console_tickets")


def test_submission_limit_lifts_after_the_hour(client):
    from kefu.core.clock import advance, frozen_at

    with frozen_at(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)):
        for _ in range(10):
            client.post(SUBMIT, _visitor_form())
        assert client.post(SUBMIT, _visitor_form()).status_code == 429
        advance(dt.timedelta(hours=1))
        assert client.post(SUBMIT, _visitor_form()).status_code == 302
