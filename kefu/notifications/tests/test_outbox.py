
import pytest
from django.core import mail

from kefu.core.clock import frozen_at
from kefu.notifications import services
from kefu.notifications.models import Notification
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def test_acknowledgement_is_delivered_once_in_the_customers_language():
    customer = factories.customer(language="en")
    ticket = factories.ticket(customer, subject="Broken screen")
    note = Notification.objects.get(ticket_id=ticket.pk, template="ticket_received")
    assert services.deliver(note.pk) is True
    assert services.deliver(note.pk) is False  # a second delivery attempt sends nothing
    [sent] = mail.outbox
    assert sent.to == [customer.email]
    assert f"[#{ticket.number}]" in sent.subject
    assert ticket.tracking_token in sent.body and "An agent will be assigned" in sent.body


def test_chinese_customer_gets_chinese_mail(settings):
    customer = factories.customer(language="zh-hans")
    ticket = factories.ticket(customer, subject="屏幕坏了")
    note = Notification.objects.get(ticket_id=ticket.pk, template="ticket_received")
    subject, body = services.render_notification(note)
    assert "屏幕坏了" in body
    assert ticket.number in subject


def test_failed_delivery_is_kept_and_retried_later(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    ticket = factories.ticket()
    note = Notification.objects.get(ticket_id=ticket.pk, template="ticket_received")
    moment = note.next_attempt_at
    with frozen_at(moment):
        assert services.deliver(note.pk) is False
    note.refresh_from_db()
    assert note.state == Notification.State.PENDING
    assert note.attempts == 1 and note.last_error
    assert note.next_attempt_at > moment
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with frozen_at(note.next_attempt_at):
        assert services.deliver_due() == 1
    note.refresh_from_db()
    assert note.state == Notification.State.DELIVERED


def test_an_admins_wording_replaces_the_shipped_template_in_its_language_only():
    from django.core.exceptions import ValidationError

    from kefu.notifications.models import NotificationTemplate

    NotificationTemplate.objects.create(
        template="ticket_received", language="zh-hans", subject="【{{ number }}】已收到：{{ subject }}",
        body="{{ customer_name }}您好，{% if owner_name %}{{ owner_name }}负责{% endif %}。")
    chinese = factories.ticket(factories.customer(language="zh-hans", name="王芳"), subject="<b>屏幕</b>坏了")
    note = Notification.objects.get(ticket_id=chinese.pk, template="ticket_received")
    subject, body = services.render_notification(note)
    assert subject == f"【{chinese.number}】已收到：<b>屏幕</b>坏了"  # plain text: nothing escaped
    assert body == "王芳您好，。"
    english = factories.ticket(factories.customer(language="en"), subject="Broken screen")
    subject, _body = services.render_notification(
        Notification.objects.get(ticket_id=english.pk, template="ticket_received"))
    assert subject.startswith(f"[#{english.number}]")  # the shipped English template
    broken = NotificationTemplate(template="ticket_update", language="en", subject="{% if %}", body="x")
    with pytest.raises(ValidationError):
        broken.full_clean()


def test_the_variables_listed_for_admins_are_the_ones_each_message_gets():
    from kefu.notifications.models import TEMPLATE_VARIABLES
    from kefu.tickets import services as tickets

    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    tickets.change_status(ticket, "wait_customer", actor=agent)
    for template in ("ticket_received", "ticket_update"):
        note = Notification.objects.get(ticket_id=ticket.pk, template=template)
        assert set(note.context) == set(TEMPLATE_VARIABLES[template])
