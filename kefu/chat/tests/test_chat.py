"""Live chat through the real ASGI application (Channels' WebSocket testing client, in-memory layer)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from kefu.accounts.models import AgentProfile, Role
from kefu.asgi import application
from kefu.chat import services
from kefu.chat.models import ChatMessage, ChatSession
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.models import Notification
from kefu.routing.services import configure_agent
from kefu.testing import factories
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # The consumer's queries run in this test's thread (see run()), inside the test's transaction;
    # Channels closes "old" connections around each one, which on PostgreSQL would close the test's own.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    # Called from this (sync) test, database_sync_to_async runs the consumer's queries in this thread, so
    # they see the test's transaction.
    async_to_sync(scenario)()


def start(client: Client, **form: str) -> ChatSession:
    response = client.post("/chat/widget/", {"name": "Liu Yang", "phone": "+8613812345678", **form})
    assert response.status_code == 200, response.content
    return ChatSession.objects.latest("pk")


def visitor(session: ChatSession, after: int = 0) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/chat/{session.token}/?after={after}", headers=[ORIGIN])


def agent_socket(client: Client, session: ChatSession) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return WebsocketCommunicator(application, f"/ws/console/chats/{session.pk}/", headers=[ORIGIN, (b"cookie", cookie)])


async def until(socket: WebsocketCommunicator, kind: str, **match: Any) -> dict[str, Any]:
    while True:
        event = await socket.receive_json_from(timeout=5)
        if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
            return event


def test_a_visitor_and_an_agent_chat_with_typing_read_state_and_files(client: Client) -> None:
    agent = factories.staff(name="Agent Gao")
    session = start(client, order="SO-2211")
    staff_client = Client()
    staff_client.force_login(agent)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image").decode()

    async def scenario() -> None:
        customer = visitor(session)
        assert (await customer.connect())[0]
        greeting = await until(customer, "message")
        assert greeting["seq"] == 1 and greeting["author"] == "system" and "Liu Yang" in greeting["body"]
        assert (await until(customer, "state"))["state"] == "queued"

        desk = agent_socket(staff_client, session)
        assert (await desk.connect())[0]
        await until(desk, "message", seq=1)  # the history so far
        await desk.send_json_to({"type": "take"})
        joined = await until(customer, "message", author="system")
        assert "Agent Gao" in joined["body"]
        assert (await until(customer, "state"))["agent"] == "Agent Gao"

        await customer.send_json_to({"type": "typing"})
        assert (await until(desk, "typing"))["side"] == "customer"
        await customer.send_json_to({"type": "message", "body": "我的订单还没发货", "client_id": "c-1"})
        asked = await until(desk, "message", author="customer")
        assert asked["body"] == "我的订单还没发货" and asked["name"] == "Liu Yang"
        await desk.send_json_to({"type": "read", "seq": asked["seq"]})
        assert (await until(customer, "read"))["seq"] == asked["seq"]
        await desk.send_json_to({"type": "message", "body": "马上为您查询。", "client_id": "a-1"})
        answer = await until(customer, "message", author="agent")
        assert answer["name"] == "Agent Gao"

        await customer.send_json_to({"type": "file", "name": "screen.png", "content_type": "image/png",
                                     "data": png, "client_id": "c-2"})
        shared = await until(desk, "message", filename="screen.png")
        assert shared["file"].startswith("/chat/files/")
        await customer.send_json_to({"type": "file", "name": "x.exe", "data": "TVo=", "client_id": "c-3"})
        refused = await until(customer, "error")
        assert refused["code"] == "attachment_type"

        await customer.send_json_to({"type": "leave"})
        assert (await until(desk, "state"))["state"] == "ended"
        await customer.disconnect()
        await desk.disconnect()

    run(scenario)
    stored = list(ChatMessage.objects.filter(session=session).order_by("seq").values_list("author_kind", flat=True))
    assert stored == ["system", "system", "customer", "agent", "customer", "system"]
    file_message = ChatMessage.objects.get(session=session, filename="screen.png")
    download = client.get(f"/chat/files/{services_file_key(file_message)}/")
    assert b"".join(download.streaming_content) == b"\x89PNG\r\n\x1a\n fake image"  # type: ignore[attr-defined]


def services_file_key(message: ChatMessage) -> str:
    from kefu.chat.selectors import file_url

    return file_url(message).rstrip("/").rsplit("/", 1)[1]


def test_a_reconnecting_visitor_gets_what_they_missed_and_a_resent_message_is_kept_once(client: Client) -> None:
    agent = factories.staff()
    session = start(client)
    staff_client = Client()
    staff_client.force_login(agent)

    async def scenario() -> None:
        customer = visitor(session)
        await customer.connect()
        await customer.send_json_to({"type": "message", "body": "Hello?", "client_id": "same-id"})
        sent = await until(customer, "message", author="customer")
        await customer.disconnect()  # the visitor's train goes into a tunnel

        desk = agent_socket(staff_client, session)
        await desk.connect()
        await desk.send_json_to({"type": "take"})
        await desk.send_json_to({"type": "message", "body": "Hi, I am here.", "client_id": "a-1"})
        await until(desk, "message", author="agent")

        back = visitor(session, after=sent["seq"])
        await back.connect()
        missed = [await until(back, "message") for _ in range(2)]
        assert [m["author"] for m in missed] == ["system", "agent"]
        # Not sure the first one arrived, the client sends it again: acknowledged, not repeated.
        await back.send_json_to({"type": "message", "body": "Hello?", "client_id": "same-id"})
        again = await until(back, "message", client_id="same-id")
        assert again["seq"] == sent["seq"]
        await back.disconnect()
        await desk.disconnect()

    run(scenario)
    assert ChatMessage.objects.filter(session=session, body="Hello?").count() == 1


def test_a_chat_nobody_answers_or_the_visitor_leaves_continues_as_a_ticket(client: Client) -> None:
    session = start(client, email="liu.yang@example.com")

    async def scenario() -> None:
        customer = visitor(session)
        await customer.connect()
        await customer.send_json_to({"type": "message", "body": "How do I return a parcel?", "client_id": "c"})
        await until(customer, "message", author="customer")
        await customer.send_json_to({"type": "leave"})
        state = await until(customer, "state", state="ticket")
        assert state["ticket"]
        await customer.disconnect()

    run(scenario)
    session.refresh_from_db()
    assert session.ticket_id is not None
    ticket = Ticket.objects.get(pk=session.ticket_id)
    assert ticket.channel == "chat" and ticket.subject == "How do I return a parcel?"
    first = ticket.messages.order_by("pk").first()
    assert first is not None and "Liu Yang: How do I return a parcel?" in first.body_text
    assert Notification.objects.filter(ticket_id=ticket.pk, recipient="liu.yang@example.com").exists()

    waiting = start(client, name="Ma Chao", phone="+8613900001111")  # a phone number only: SMS follows
    ChatSession.objects.filter(pk=waiting.pk).update(queued_at=now() - dt.timedelta(minutes=10))
    assert services.convert_unanswered() == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.state == ChatSession.State.TICKET and waiting.ticket is not None
    by_sms = Notification.objects.get(ticket_id=waiting.ticket_id)
    assert (by_sms.channel, by_sms.recipient) == ("sms", "+8613900001111")


def test_a_first_responder_answers_before_the_queue(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    class Returns:
        def takes(self, session: ChatSession) -> bool:
            return True

        def respond(self, session: ChatSession, message: ChatMessage) -> list[ChatMessage]:
            if "return" not in message.body:
                return []
            answer = services.post_bot_message(session, "Our returns address is on the order page.")
            return [answer] if answer is not None else []

        def customer_left(self, session: ChatSession) -> bool:
            return False

        def agent_took(self, session: ChatSession) -> None:
            pass

    monkeypatch.setattr(services, "FIRST_RESPONDERS", [Returns()])
    session = start(client)
    assert session.state == ChatSession.State.BOT

    async def scenario() -> None:
        customer = visitor(session)
        await customer.connect()
        await customer.send_json_to({"type": "message", "body": "return address?", "client_id": "c"})
        greeting = await until(customer, "message", author="bot")
        assert greeting["body"].startswith("Hello Liu Yang, I am the virtual assistant")
        bot = await until(customer, "message", author="bot")
        assert bot["body"].startswith("Our returns address")
        await customer.disconnect()

    run(scenario)


def test_sockets_need_the_chat_token_or_a_staff_session(client: Client) -> None:
    session = start(client)
    customer = factories.customer()
    customer_client = Client()
    customer_client.force_login(customer.user)
    reviewer_client = Client()
    reviewer_client.force_login(factories.staff(Role.QA))

    async def scenario() -> None:
        wrong = WebsocketCommunicator(application, "/ws/chat/not-the-token/", headers=[ORIGIN])
        connected, code = await wrong.connect()
        assert (connected, code) == (False, 4404)
        outsider = agent_socket(customer_client, session)
        connected, code = await outsider.connect()
        assert (connected, code) == (False, 4404)
        reviewer = agent_socket(reviewer_client, session)
        assert (await reviewer.connect())[0], "QA may follow the chat"
        await reviewer.send_json_to({"type": "take"})
        assert (await until(reviewer, "error"))["code"] == "forbidden", "but not answer it"
        await reviewer.disconnect()
        foreign_origin = WebsocketCommunicator(application, f"/ws/chat/{session.token}/",
                                               headers=[(b"origin", b"https://evil.example")])
        connected, _code = await foreign_origin.connect()
        assert not connected

    run(scenario)


def test_the_widget_page_may_be_framed_by_other_sites_and_the_console_may_not(client: Client) -> None:
    widget = client.get("/chat/widget/")
    assert "frame-ancestors *" in widget["Content-Security-Policy"] and "X-Frame-Options" not in widget
    client.force_login(factories.staff())
    console = client.get("/console/chats/")
    assert "frame-ancestors 'none'" in console["Content-Security-Policy"]


def test_the_chat_desk_counts_the_queue_and_shows_each_chat_with_its_customer(client: Client) -> None:
    first = start(client, order="SO-1")
    start(client, name="Second Visitor", phone="+8613511112222")
    staff = Client()
    staff.force_login(factories.staff())
    page = staff.get("/console/chats/").content.decode()
    assert "2 chats waiting for an agent." in page
    assert page.count('class="chat-pane card"') == 2 and "SO-1" in page
    assert f'data-socket="/ws/console/chats/{first.pk}/"' in page


def test_a_second_agent_cannot_answer_a_chat_another_has_taken_nor_anyone_an_ended_one(client: Client) -> None:
    session = start(client)
    first, second = factories.staff(name="First"), factories.staff(name="Second")
    stale = ChatSession.objects.get(pk=session.pk)  # what the second agent's socket loaded: queued, no agent
    services.take_chat(session, agent=first)
    with pytest.raises(PermissionDenied):
        services.post_message(stale, "I'll take it", side="agent", actor=second)
    services.end_chat(session, by="agent", actor=first)
    with pytest.raises(DomainError, match="ended"):
        services.post_message(stale, "hello?", side="customer")


def test_an_agent_takes_no_more_chats_than_their_limit_and_ending_one_frees_a_place(client: Client) -> None:
    agent = factories.staff(name="Busy")
    configure_agent(agent, actor=factories.staff(Role.SUPERVISOR), max_chats=2)
    sessions = [start(client) for _ in range(3)]
    services.take_chat(sessions[0], agent=agent)
    services.take_chat(sessions[1], agent=agent)
    with pytest.raises(DomainError, match="You already have 2 chats open, your limit"):
        services.take_chat(sessions[2], agent=agent)
    assert ChatSession.objects.get(pk=sessions[2].pk).state == ChatSession.State.QUEUED
    assert AgentProfile.objects.get(user=agent).active_chats == 2
    services.end_chat(sessions[0], by="agent", actor=agent)
    assert AgentProfile.objects.get(user=agent).active_chats == 1
    services.take_chat(sessions[2], agent=agent)
    assert ChatSession.objects.get(pk=sessions[2].pk).agent == agent


def test_a_handshake_while_the_database_is_unreachable_is_answered_503_and_the_next_one_connects(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    from kefu.chat import selectors

    session = start(client)
    path = f"/ws/chat/{session.token}/"
    reachable = selectors.get_chat_by_token

    def unreachable(token: str) -> ChatSession:
        raise OperationalError("connection to server failed: Connection refused")

    async def handshake_as_uvicorn() -> list[dict[str, Any]]:
        # The scope uvicorn gives: it can answer a refused handshake with an HTTP response.
        scope = {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [ORIGIN, (b"host", b"testserver")], "subprotocols": [], "root_path": "",
                 "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "extensions": {"websocket.http.response": {}}}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await application(scope, receive, send)
        return sent

    async def scenario() -> None:
        monkeypatch.setattr(selectors, "get_chat_by_token", unreachable)
        sent = await handshake_as_uvicorn()
        assert [m["type"] for m in sent] == ["websocket.http.response.start", "websocket.http.response.body"]
        assert sent[0]["status"] == 503 and (b"retry-after", b"5") in sent[0]["headers"]
        # A server without HTTP answers to handshakes: closed with "try again later".
        assert await visitor(session).connect() == (False, 1013)
        monkeypatch.setattr(selectors, "get_chat_by_token", reachable)  # back: the chat's script reconnects
        socket = visitor(session)
        assert (await socket.connect())[0]
        assert (await until(socket, "state"))["type"] == "state"
        await socket.disconnect()

    run(scenario)
