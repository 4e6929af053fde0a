"""The chat's WebSocket: one consumer for both sides (the visitor by their chat token, staff by their
signed-in session). Messages go to the session's group on the channel layer (in memory embedded, Redis
across processes); every write goes through kefu.chat.services."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from kefu.chat import selectors, services
from kefu.chat.models import ChatMessage, ChatSession
from kefu.core.errors import DomainError, NotFound
from kefu.tickets.services import Upload

# Messages written where no socket is (the worker turning a chat into a ticket, another process on the
# in-memory layer) reach the open sockets within this many seconds.
CATCH_UP_SECONDS = 3.0
CLOSE_NOT_FOUND = 4404


def group_name(session_id: int) -> str:
    return f"chat.{session_id}"


class ChatConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    session: ChatSession
    side: str
    sent_seq: int = 0

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            if "token" in kwargs:
                self.side = ChatMessage.Author.CUSTOMER
                self.session = await database_sync_to_async(selectors.get_chat_by_token)(kwargs["token"])
            else:
                self.side = ChatMessage.Author.AGENT
                self.session = await database_sync_to_async(selectors.get_chat_for_staff)(
                    self.scope.get("user"), kwargs["chat_id"])
        except NotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.channel_layer.group_add(group_name(self.session.pk), self.channel_name)
        await self.accept()
        after = _int(dict(_query(self.scope)).get("after"))
        await self._send_after(after)
        await self.send_json(await self._state())
        self._catch_up = asyncio.ensure_future(self._catch_up_loop())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "session"):
            await self.channel_layer.group_discard(group_name(self.session.pk), self.channel_name)
        task = getattr(self, "_catch_up", None)
        if task is not None:
            task.cancel()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind in {"message", "file"}:
                await self._message(content)
            elif kind == "typing":
                await self._group({"type": "chat.typing", "side": self.side})
            elif kind == "read":
                seq = _int(content.get("seq"))
                await database_sync_to_async(services.mark_read)(self.session, seq, side=self.side)
                await self._group({"type": "chat.read", "side": self.side, "seq": seq})
            elif kind in {"take", "leave", "to_ticket"}:
                await self._act(kind)
            else:
                raise DomainError(_("Unknown request."), code="bad_request")
        except DomainError as exc:
            await self.send_json({"type": "error", "code": exc.code, "message": exc.message})

    async def _message(self, content: dict[str, Any]) -> None:
        upload = None
        if content.get("type") == "file":
            try:
                data = base64.b64decode(str(content.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                raise DomainError(_("The file could not be read."), code="bad_file") from None
            upload = Upload(str(content.get("name") or "file")[:255], data, str(content.get("content_type") or ""))
        actor = self.scope.get("user") if self.side == ChatMessage.Author.AGENT else None
        message, created = await database_sync_to_async(services.post_message)(
            self.session, str(content.get("body") or ""), side=self.side, actor=actor,
            client_id=str(content.get("client_id") or ""), upload=upload)
        if not created:  # a resend after a reconnect: the sender only needs the acknowledgement
            await self.send_json(await database_sync_to_async(serialize)(message))
            return
        await self._broadcast(message)
        if self.side == ChatMessage.Author.CUSTOMER:
            answers = await database_sync_to_async(services.first_response)(self.session, message)
            for answer in answers:
                await self._broadcast(answer)
            if answers:  # the bot may have handed over (the chat now waits for an agent) or ended the chat
                await self._group({"type": "chat.state"})

    async def _act(self, kind: str) -> None:
        user = self.scope.get("user")
        if kind == "take" and self.side == ChatMessage.Author.AGENT:
            self.session = await database_sync_to_async(services.take_chat)(self.session, agent=user)
        elif kind == "to_ticket" and self.side == ChatMessage.Author.AGENT:
            self.session = await database_sync_to_async(services.continue_as_ticket)(self.session, actor=user)
        elif kind == "leave":
            self.session = await database_sync_to_async(services.end_chat)(
                self.session, by=self.side, actor=user if self.side == ChatMessage.Author.AGENT else None)
        else:
            raise DomainError(_("Unknown request."), code="bad_request")
        for message in await database_sync_to_async(services.messages_after)(self.session, self.sent_seq):
            await self._broadcast(message)
        await self._group({"type": "chat.state"})

    async def _broadcast(self, message: ChatMessage) -> None:
        await self._group({"type": "chat.message", "message": await database_sync_to_async(serialize)(message)})

    async def _group(self, event: dict[str, Any]) -> None:
        await self.channel_layer.group_send(group_name(self.session.pk), event)

    # Group events, one handler each (Channels calls chat_message for "chat.message").

    async def chat_message(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message["seq"] > self.sent_seq:
            self.sent_seq = message["seq"]
        await self.send_json(message)

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["side"] != self.side:
            await self.send_json({"type": "typing", "side": event["side"]})

    async def chat_read(self, event: dict[str, Any]) -> None:
        if event["side"] != self.side:
            await self.send_json({"type": "read", "side": event["side"], "seq": event["seq"]})

    async def chat_state(self, event: dict[str, Any]) -> None:
        await self.send_json(await self._state())

    async def _send_after(self, seq: int) -> None:
        for message in await database_sync_to_async(services.messages_after)(self.session, seq):
            await self.chat_message({"message": await database_sync_to_async(serialize)(message)})

    async def _catch_up_loop(self) -> None:
        while True:
            await asyncio.sleep(CATCH_UP_SECONDS)
            last = await database_sync_to_async(selectors.last_seq)(self.session.pk)
            if last > self.sent_seq:
                await self._send_after(self.sent_seq)
                await self.send_json(await self._state())

    async def _state(self) -> dict[str, Any]:
        return await database_sync_to_async(state_of)(self.session.pk)


def serialize(message: ChatMessage) -> dict[str, Any]:
    return {
        "type": "message", "seq": message.seq, "author": message.author_kind,
        "name": services.speaker(message, message.session),
        "body": message.body, "filename": message.filename, "file": selectors.file_url(message),
        "at": message.created_at.isoformat(), "client_id": message.client_id,
    }


def state_of(session_id: int) -> dict[str, Any]:
    session = ChatSession.objects.select_related("agent").get(pk=session_id)
    return {"type": "state", "state": session.state, "agent": session.agent.name if session.agent else "",
            "ticket": session.ticket_id, "customer_read_seq": session.customer_read_seq,
            "agent_read_seq": session.agent_read_seq}


def _query(scope: dict[str, Any]) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin1"))


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
