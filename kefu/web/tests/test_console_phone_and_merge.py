"""The phone ticket form (5W1H captured during the call) and merging two records of one customer."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.chat import services as chat_services
from kefu.core.audit import AuditEntry
from kefu.customers.models import Channel, Customer, CustomerIdentity
from kefu.testing import factories
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_an_agent_opens_a_phone_ticket_for_a_known_caller_during_the_call(client: Client) -> None:
    agent = factories.staff(name="Agent Zhou")
    caller = factories.customer(name="Lin Fang", phone="+8613600000006", annual_spend=8000)
    client.force_login(agent)

    form = client.get("/console/phone/?caller=%2B8613600000006").content.decode()
    assert "Lin Fang" in form and 'value="+8613600000006"' in form

    response = client.post("/console/phone/?caller=%2B8613600000006", {
        "caller": "+86 136 0000 0006", "subject": "扫地机器人不充电", "priority": "high",
        "what": "充电座指示灯不亮", "when": "今天早上", "where": "X9 扫地机器人", "who": "只有我家",
        "how": "换了插座也不行", "expected": "换一个充电座", "notes": "客户语气着急"})

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/tickets/{ticket.pk}/"
    assert ticket.customer_id == caller.pk and ticket.channel == Channel.PHONE and ticket.owner == agent
    assert ticket.priority == "high" and ticket.five_w_one_h["where"] == "X9 扫地机器人"
    assert ticket.messages.get().body_text == "客户语气着急"


def test_a_new_caller_gets_a_customer_record_and_bad_input_keeps_the_form(client: Client) -> None:
    client.force_login(factories.staff())
    refused = client.post("/console/phone/", {"caller": "no digits", "subject": "x", "priority": "normal"})
    assert refused.status_code == 200 and "Enter the caller" in refused.content.decode()
    assert not Ticket.objects.exists()
    client.post("/console/phone/", {"caller": "13500000005", "name": "Wu Gang", "subject": "Refund",
                                    "priority": "normal"})
    assert Ticket.objects.get().customer.name == "Wu Gang"
    assert CustomerIdentity.objects.filter(channel=Channel.PHONE, value="13500000005").exists()


def test_merging_two_records_of_one_person_moves_everything_and_is_audited(client: Client) -> None:
    agent = factories.staff()
    by_email = factories.customer(name="Ma Li", email="mali@example.com")
    by_phone = factories.customer(name="Ma Li (phone)", email="", phone="+8613300000003", annual_spend=6000)
    t1, t2 = factories.ticket(by_email), factories.ticket(by_phone, subject="Second")
    chat = chat_services.start_chat(chat_services.PreChat(name="Ma Li", phone="+8613300000003"))
    assert chat.customer_id == by_phone.pk
    client.force_login(agent)

    response = client.post(f"/console/customers/{by_phone.pk}/merge/", {"target": by_email.pk})

    assert response.status_code == 302 and response["Location"] == f"/console/customers/{by_email.pk}/"
    merged = Customer.objects.get(pk=by_email.pk)
    assert not Customer.objects.filter(pk=by_phone.pk).exists()
    assert set(Ticket.objects.values_list("customer_id", flat=True)) == {merged.pk} and t1.pk != t2.pk
    assert merged.phone == "+8613300000003" and merged.tier == "core"
    assert set(merged.identities.values_list("channel", flat=True)) == {Channel.EMAIL, Channel.PHONE}
    chat.refresh_from_db()
    assert chat.customer_id == merged.pk, "the chat history follows the person"
    audit = AuditEntry.objects.get(action="customer.merged", target_id=str(merged.pk))
    assert audit.changes["moved"]["tickets.ticket"] == 1
    page = client.get(f"/console/customers/{merged.pk}/").content.decode()
    assert "Second" in page

    itself = client.post(f"/console/customers/{merged.pk}/merge/", {"target": merged.pk}, follow=True)
    assert "cannot be merged into themselves" in itself.content.decode()
