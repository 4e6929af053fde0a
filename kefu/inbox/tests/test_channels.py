"""SMS, WeChat and any other app by signed webhook: in through /hooks/<slug>/, out through the outbox."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.test import Client

from kefu.core.clock import now
from kefu.customers.models import Channel, CustomerIdentity
from kefu.inbox import connectors
from kefu.inbox.models import ChannelEndpoint, InboundEvent
from kefu.inbox.tests.fakes import Provider, provider_server
from kefu.inbox.views import wechat_signature
from kefu.notifications.models import Notification
from kefu.notifications.services import deliver_due
from kefu.testing import factories
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider() -> Iterator[Provider]:
    with provider_server() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_wechat_tokens() -> None:
    connectors._tokens.clear()


def post_signed(client: Client, slug: str, payload: Mapping[str, object], secret: str, *,
                timestamp: int | None = None) -> object:
    body = json.dumps(payload, ensure_ascii=False).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return client.post(f"/hooks/{slug}/", body, content_type="application/json",
                       headers={"X-Kefu-Timestamp": ts, "X-Kefu-Signature": connectors.signature(secret, ts, body)})


def test_an_app_message_opens_a_ticket_once_and_the_reply_goes_back_signed(client: Client, provider: Provider) -> None:
    agent = factories.staff()
    app = ChannelEndpoint.objects.create(name="Shop app", kind=ChannelEndpoint.Kind.WEBHOOK, slug="shop-app",
                                         outbound_url=f"{provider.url}/app/messages")
    provider.webhook_secret = app.secret
    payload = {"id": "evt-1", "from": "user-42", "name": "Chen Jing", "text": "退货地址是哪里？\n订单 8812"}

    first = post_signed(client, "shop-app", payload, app.secret)
    again = post_signed(client, "shop-app", payload, app.secret)

    assert first.status_code == 200 and first.json()["outcome"] == "new_ticket"  # type: ignore[attr-defined]
    assert again.json() == {"outcome": "already_done", "ticket": first.json()["ticket"]}  # type: ignore[attr-defined]
    ticket = Ticket.objects.get(pk=first.json()["ticket"])  # type: ignore[attr-defined]
    assert ticket.channel == Channel.WEBHOOK and ticket.subject == "退货地址是哪里？" and ticket.messages.count() == 1
    assert ticket.customer.name == "Chen Jing"
    assert CustomerIdentity.objects.filter(customer=ticket.customer, channel=Channel.WEBHOOK,
                                           value="shop-app:user-42").exists()

    ticket_services.reply_to_customer(ticket, "退货地址：上海市浦东新区。", actor=ticket.owner or agent)
    deliver_due()
    sent = provider.received[-1]
    assert sent["to"] == "user-42" and "退货地址：上海市浦东新区。" in sent["text"] and sent["ticket"] == ticket.pk


def test_unsigned_stale_or_malformed_hooks_are_refused_and_store_nothing(client: Client) -> None:
    app = ChannelEndpoint.objects.create(name="App", kind=ChannelEndpoint.Kind.WEBHOOK, slug="app")
    payload = {"id": "1", "from": "u", "text": "hi"}
    assert post_signed(client, "app", payload, "wrong-secret").status_code == 401  # type: ignore[attr-defined]
    stale = post_signed(client, "app", payload, app.secret, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401  # type: ignore[attr-defined]
    assert post_signed(client, "app", {"text": "no id"}, app.secret).status_code == 400  # type: ignore[attr-defined]
    assert client.get("/hooks/app/").status_code == 405
    assert post_signed(client, "nope", payload, app.secret).status_code == 404  # type: ignore[attr-defined]
    assert not InboundEvent.objects.exists() and not Ticket.objects.exists()


def test_an_sms_from_a_known_phone_number_is_the_same_customer_and_continues_their_open_ticket(
        client: Client, provider: Provider) -> None:
    customer = factories.customer(name="Zhao Lei", phone="+8613800000001")
    web_ticket = factories.ticket(customer, subject="发票还没收到")
    gateway = ChannelEndpoint.objects.create(name="SMS", kind=ChannelEndpoint.Kind.SMS, slug="sms",
                                             outbound_url=f"{provider.url}/sms/send", outbound_token=provider.api_key)

    answer = post_signed(client, "sms", {"id": "sms-1", "from": "+8613800000001", "text": "请尽快寄出"}, gateway.secret)

    assert answer.json() == {"outcome": "reply", "ticket": web_ticket.pk}  # type: ignore[attr-defined]
    last = web_ticket.messages.order_by("-pk").first()
    assert last is not None and last.channel == Channel.SMS and last.body_text == "请尽快寄出"
    client.force_login(factories.staff())
    page = client.get(f"/console/tickets/{web_ticket.pk}/").content.decode()
    assert "The customer wrote on SMS (the ticket began on Web form)." in page
    client.logout()

    Ticket.objects.filter(pk=web_ticket.pk).update(updated_at=now() - dt.timedelta(days=10))  # outside the window
    later = post_signed(client, "sms", {"id": "sms-2", "from": "+8613800000001", "text": "新问题"}, gateway.secret)
    assert later.json()["outcome"] == "new_ticket"  # type: ignore[attr-defined]
    sms_ticket = Ticket.objects.get(pk=later.json()["ticket"])  # type: ignore[attr-defined]
    assert sms_ticket.customer_id == customer.pk and sms_ticket.channel == Channel.SMS

    provider.fail_next = 1  # the gateway is down once: retried with the same reference
    deliver_due()
    notification = Notification.objects.get(ticket_id=sms_ticket.pk, template="ticket_received")
    assert notification.channel == "sms" and notification.recipient == "+8613800000001"
    assert notification.state == Notification.State.PENDING and "503" in notification.last_error
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=now())
    deliver_due()
    assert provider.received[-1]["to"] == "+8613800000001"
    assert provider.received[-1]["reference"] == f"notification-{notification.pk}"
    assert str(sms_ticket.pk) in provider.received[-1]["text"]


def _wechat_query(token: str, **extra: str) -> str:
    timestamp, nonce = str(int(time.time())), "nonce123"
    params = {"signature": wechat_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def _wechat_xml(openid: str, kind: str, **fields: str) -> bytes:
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>1796300000</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{inner}</xml>").encode()


def test_wechat_server_check_messages_in_and_customer_service_messages_out(client: Client,
                                                                            provider: Provider) -> None:
    factories.staff()
    ChannelEndpoint.objects.create(name="公众号", kind=ChannelEndpoint.Kind.WECHAT, slug="wx",
                                             secret="wxtoken", app_id=provider.app_id,
                                             outbound_token=provider.app_secret, outbound_url=provider.url)

    check = client.get(f"/hooks/wx/?{_wechat_query('wxtoken', echostr='hello123')}")
    assert check.status_code == 200 and check.content == b"hello123"
    assert client.get(f"/hooks/wx/?{_wechat_query('forged', echostr='x')}").status_code == 401

    def send(xml: bytes) -> bytes:
        response = client.post(f"/hooks/wx/?{_wechat_query('wxtoken')}", xml, content_type="text/xml")
        assert response.status_code == 200
        return response.content

    assert send(_wechat_xml("oOPENID1", "event", Event="subscribe")) == b"success"
    assert not Ticket.objects.exists(), "following the account is not a request"
    text = _wechat_xml("oOPENID1", "text", Content="我的快递三天没动了", MsgId="6001")
    send(text)
    send(text)  # WeChat retries when we are slow: one message
    send(_wechat_xml("oOPENID1", "image", PicUrl="http://mmbiz.example/pic.jpg", MediaId="m1", MsgId="6002"))

    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WECHAT and ticket.subject == "我的快递三天没动了"
    assert list(ticket.messages.order_by("pk").values_list("body_text", flat=True)) == [
        "我的快递三天没动了", "[Image] http://mmbiz.example/pic.jpg"]
    assert client.post(f"/hooks/wx/?{_wechat_query('wxtoken')}", b"<!DOCTYPE x [<!ENTITY a 'b'>]><xml/>",
                       content_type="text/xml").status_code == 400

    deliver_due()  # the acknowledgement, as a customer-service message
    assert provider.tokens_issued == 1
    sent = provider.received[-1]
    assert sent["touser"] == "oOPENID1" and sent["msgtype"] == "text" and str(ticket.pk) in sent["text"]["content"]
    assert Message.objects.filter(ticket=ticket).count() == 2


def test_call_events_open_a_phone_ticket_and_log_the_call_on_its_timeline(client: Client) -> None:
    agent = factories.staff(name="Agent Sun")
    known = factories.customer(name="Qian Hua", phone="+8613900000009")
    cti = ChannelEndpoint.objects.create(name="PBX", kind=ChannelEndpoint.Kind.CTI, slug="pbx")

    def event(phase: str, **extra: object) -> dict[str, Any]:
        payload = {"id": "call-77", "event": phase, "caller": "+8613900000009", **extra}
        return post_signed(client, "pbx", payload, cti.secret).json()  # type: ignore[attr-defined,no-any-return]

    ringing = event("ringing")
    assert ringing["outcome"] == "new_ticket"
    assert event("ringing") == {"outcome": "already_done", "ticket": ringing["ticket"]}
    event("answered", agent=agent.username)
    event("ended", agent=agent.username, duration=184, recording_url="https://pbx.example/rec/77.mp3")

    ticket = Ticket.objects.get(pk=ringing["ticket"])
    assert ticket.customer_id == known.pk and ticket.channel == Channel.PHONE
    calls = list(ticket.events.filter(type="call").order_by("pk").values_list("payload", flat=True))
    assert [c["phase"] for c in calls] == ["ringing", "answered", "ended"]
    assert calls[2]["duration_s"] == 184 and calls[2]["recording_url"].endswith("77.mp3")
    assert calls[1]["agent"] == "Agent Sun"
    client.force_login(agent)
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Call from +8613900000009 ended after 184 s." in page

    unknown = post_signed(client, "pbx", {"id": "call-78", "event": "ringing", "caller": "+8613700000000"},
                          cti.secret).json()  # type: ignore[attr-defined]
    assert Ticket.objects.get(pk=unknown["ticket"]).customer.phone == "+8613700000000"
    bad = post_signed(client, "pbx", {"id": "call-79", "event": "transferred", "caller": "1"}, cti.secret)
    assert bad.status_code == 400  # type: ignore[attr-defined]
