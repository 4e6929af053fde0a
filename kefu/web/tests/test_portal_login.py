"""Customers signing in without a password (one-time links) and setting a password."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.notifications.models import Notification
from kefu.notifications.services import render_notification
from kefu.testing import factories

pytestmark = pytest.mark.django_db

REQUEST_LINK = reverse("web:portal_login_link")
KNOWN_ANSWER = "If the address is known to us, a sign-in link is on its way."


def _link_path(notification: Notification) -> str:
    from django.conf import settings

    return notification.context["url"].removeprefix(settings.PUBLIC_BASE_URL)


def _signed_in(client) -> bool:
    return client.get(reverse("web:portal_home")).status_code == 200


def test_login_link_signs_in_once_only_on_post(client, django_user_model):
    customer = factories.customer(email="mei@example.com")
    response = client.post(REQUEST_LINK, {"email": "MEI@example.com"}, follow=True)
    assert KNOWN_ANSWER in response.content.decode()
    notification = Notification.objects.get(template="login_link")
    assert notification.recipient == "mei@example.com"
    _subject, body = render_notification(notification)
    assert notification.context["url"] in body and "20 minutes" in body

    link = _link_path(notification)
    page = client.get(link)
    assert page.status_code == 200 and 'method="post"' in page.content.decode()
    assert not _signed_in(client)  # a mail scanner following the link signs nobody in

    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == reverse("web:portal_home")
    assert _signed_in(client)
    assert int(client.session["_auth_user_id"]) == customer.user.pk

    client.logout()
    again = client.post(link, follow=True)
    assert "This sign-in link is invalid, used or expired." in again.content.decode()
    assert not _signed_in(client)


def test_login_link_request_does_not_reveal_unknown_email(client):
    factories.customer(email="known@example.com")
    unknown = client.post(REQUEST_LINK, {"email": "nobody@example.com"}, follow=True)
    known = client.post(REQUEST_LINK, {"email": "known@example.com"}, follow=True)
    assert unknown.status_code == known.status_code == 200
    assert KNOWN_ANSWER in unknown.content.decode() and KNOWN_ANSWER in known.content.decode()
    assert list(Notification.objects.filter(template="login_link").values_list("recipient", flat=True)) == [
        "known@example.com"
    ]


def test_login_link_is_not_sent_to_staff_addresses(client):
    agent = factories.staff()
    response = client.post(REQUEST_LINK, {"email": agent.email}, follow=True)
    assert KNOWN_ANSWER in response.content.decode()
    assert not Notification.objects.filter(template="login_link").exists()


def test_login_links_are_rate_limited_per_email_and_per_address(client):
    factories.customer(email="mei@example.com")
    for _ in range(5):
        response = client.post(REQUEST_LINK, {"email": "mei@example.com"}, follow=True)
        assert KNOWN_ANSWER in response.content.decode()
    assert Notification.objects.filter(template="login_link").count() == 3
    for i in range(5):
        client.post(REQUEST_LINK, {"email": f"other{i}@example.com"})
    refused = client.post(REQUEST_LINK, {"email": "mei@example.com"})
    assert refused.status_code == 429
    assert "Too many sign-in links were requested" in refused.content.decode()


def test_customer_sets_a_password_and_stays_signed_in(client):
    customer = factories.customer()
    client.force_login(customer.user)
    page = client.get(reverse("web:portal_password"))
    assert page.status_code == 200
    mismatch = client.post(reverse("web:portal_password"),
                           {"new_password1": "a-long-new-secret-42", "new_password2": "different-secret-42"})
    assert mismatch.status_code == 400
    response = client.post(reverse("web:portal_password"),
                           {"new_password1": "a-long-new-secret-42", "new_password2": "a-long-new-secret-42"})
    assert response.status_code == 302 and response["Location"] == reverse("web:portal_home")
    assert _signed_in(client)
    customer.user.refresh_from_db()
    assert customer.user.check_password("a-long-new-secret-42")
    client.logout()
    login = client.post(reverse("web:login"), {"username": customer.email, "password": "a-long-new-secret-42"})
    assert login.status_code == 302


def test_guessing_a_password_is_stopped_per_account_and_per_address(client):
    staff = factories.staff(name="Li Lei")
    login = reverse("web:login")
    for _ in range(10):
        wrong = client.post(login, {"username": staff.username, "password": "guess"}, HTTP_ACCEPT_LANGUAGE="en")
        assert wrong.status_code == 200 and "did not match" in wrong.content.decode()
    # Past ten failures the right password waits too, and the page says why.
    locked = client.post(login, {"username": staff.username, "password": factories.PASSWORD},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert not _signed_in(client)
    # Another account from another address is not held up by this one.
    other = factories.staff()
    elsewhere = client.post(login, {"username": other.username, "password": factories.PASSWORD},
                            REMOTE_ADDR="10.1.2.3")
    assert elsewhere.status_code == 302
    client.logout()
    # One address guessing many accounts is stopped too (30 failures).
    for n in range(30):
        client.post(login, {"username": f"nobody{n}", "password": "guess"}, REMOTE_ADDR="10.9.9.9")
    assert client.post(login, {"username": other.username, "password": factories.PASSWORD},
                       REMOTE_ADDR="10.9.9.9").status_code == 429
