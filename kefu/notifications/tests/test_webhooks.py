"""Outgoing webhooks against a real local HTTP receiver that fails at random."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections import Counter

import pytest

from kefu.core.clock import advance, frozen_at
from kefu.notifications import services
from kefu.notifications.models import WebhookDelivery, WebhookEndpoint
from kefu.testing import factories
from kefu.tickets import services as tickets

pytestmark = pytest.mark.django_db
MOMENT = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def _drain() -> None:
    for _ in range(40):  # each round moves past the longest back-off so far
        services.deliver_due_webhooks()
        if not WebhookDelivery.objects.filter(state="pending").exists():
            return
        advance(dt.timedelta(hours=3))


def test_every_event_arrives_once_signed_despite_a_receiver_that_fails_at_random(receiver):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url)
    agent = factories.staff()
    with frozen_at(MOMENT):
        for _ in range(5):
            ticket = factories.ticket()
            tickets.accept_ticket(ticket, actor=agent)
            tickets.reply_to_customer(ticket, "On it.", actor=agent)
        _drain()
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() >= 15 and set(deliveries.values_list("state", flat=True)) == {"delivered"}
    assert receiver.refused > 0  # the receiver really failed, and the failures were retried
    keys = Counter(request["headers"]["X-Kefu-Delivery"] for request in receiver.accepted)
    assert set(keys) == set(deliveries.values_list("key", flat=True))  # none lost
    assert max(keys.values()) == 1  # none acknowledged twice
    for request in receiver.accepted:
        expected = "sha256=" + hmac.new(endpoint.secret.encode(), request["body"], hashlib.sha256).hexdigest()
        assert request["headers"]["X-Kefu-Signature"] == expected
    types = Counter(json.loads(r["body"])["type"] for r in receiver.accepted)
    assert types["created"] == 5 and types["replied"] == 5
    retried = deliveries.filter(attempts__gt=1).first()
    assert retried is not None and retried.last_error == "HTTP 503"  # the delivery log keeps the failures


def test_an_endpoint_gets_only_the_events_it_asked_for(receiver):
    receiver.failure_rate = 0
    WebhookEndpoint.objects.create(name="Status board", url=receiver.url, events=["status_changed"])
    agent = factories.staff()
    with frozen_at(MOMENT):
        ticket = factories.ticket()
        tickets.accept_ticket(ticket, actor=agent)
        tickets.change_status(ticket, "wait_customer", actor=agent)
        _drain()
    bodies = [json.loads(r["body"]) for r in receiver.accepted]
    assert [b["type"] for b in bodies] == ["status_changed", "status_changed"]
    assert bodies[-1]["data"]["details"]["after"] == "waiting_customer"
    assert bodies[-1]["ticket_id"] == ticket.pk


def test_an_unreachable_endpoint_is_retried_with_back_off_then_given_up():
    WebhookEndpoint.objects.create(name="Gone", url="http://127.0.0.1:9/nothing")
    with frozen_at(MOMENT):
        factories.ticket()
        delivery = WebhookDelivery.objects.get(event_type="created")
        assert services.deliver_webhook(delivery.pk) is False
        delivery.refresh_from_db()
        assert delivery.state == "pending" and delivery.attempts == 1 and delivery.next_attempt_at > MOMENT
        assert services.deliver_webhook(delivery.pk) is False  # not due yet: nothing is sent
        for _ in range(services.MAX_ATTEMPTS):
            advance(dt.timedelta(days=1))
            services.deliver_due_webhooks()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.attempts == services.MAX_ATTEMPTS
    assert "ConnectionRefusedError" in delivery.last_error or "URLError" in delivery.last_error


def test_only_web_urls_are_accepted():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        WebhookEndpoint(name="Local file", url="file:///etc/passwd").full_clean()
