"""Reads for live chat: the visitor reaches a chat only with its token, staff through their role."""

from __future__ import annotations

from typing import Any

from django.core.signing import BadSignature, Signer
from django.urls import reverse
from django.utils.translation import gettext as _

from kefu.chat.models import ChatMessage, ChatSession
from kefu.core.errors import NotFound


def get_chat_by_token(token: str) -> ChatSession:
    session = ChatSession.objects.select_related("customer").filter(token=token).first()
    if session is None:
        raise NotFound(_("Chat not found."))
    return session


def get_chat_for_staff(user: Any, chat_id: int | str) -> ChatSession:
    """Any staff member may see the chat queue and the chats in it (they are the front line)."""
    if not getattr(user, "is_staff_member", False):
        raise NotFound(_("Chat not found."))
    session = ChatSession.objects.select_related("customer", "agent").filter(pk=chat_id).first()
    if session is None:
        raise NotFound(_("Chat not found."))
    return session


def chat_queue(user: Any) -> list[ChatSession]:
    """Waiting chats (oldest first) and the ones this agent has taken."""
    if not getattr(user, "is_staff_member", False):
        return []
    related = ("customer", "bot_conversation", "ticket")
    waiting = ChatSession.objects.filter(state=ChatSession.State.QUEUED).order_by("queued_at")
    mine = ChatSession.objects.filter(state=ChatSession.State.ACTIVE, agent=user).order_by("started_at")
    return [*waiting.select_related(*related)[:100], *mine.select_related(*related)[:100]]


def chats_with_bot() -> int:
    return ChatSession.objects.filter(state=ChatSession.State.BOT).count()


def last_seq(session_id: int) -> int:
    return int(ChatSession.objects.filter(pk=session_id).values_list("last_seq", flat=True).first() or 0)


_FILES = Signer(salt="kefu.chat.file")


def file_url(message: ChatMessage) -> str:
    """A link to a chat file that only the chat's two sides are given (signed, unguessable)."""
    if not message.file:
        return ""
    return reverse("chat:file", args=[_FILES.sign(str(message.pk))])


def get_chat_file(signed: str) -> ChatMessage:
    try:
        pk = int(_FILES.unsign(signed))
    except (BadSignature, ValueError):
        raise NotFound(_("Chat not found.")) from None
    message = ChatMessage.objects.filter(pk=pk).exclude(file="").first()
    if message is None:
        raise NotFound(_("Chat not found."))
    return message
