"""Live chat: start, talk, hand over, and continue as a ticket. Every write is here; the WebSocket
consumer and the views only parse and call these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from kefu.accounts.models import AgentProfile, User
from kefu.chat.models import ChatMessage, ChatSession
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.ids import new_secret
from kefu.customers.models import Channel, Customer
from kefu.customers.services import create_customer, find_customer_by_email, find_customer_by_identity
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket

MAX_BODY = 5000


@dataclass(frozen=True)
class PreChat:
    """Who the visitor says they are, before the chat starts."""

    name: str
    phone: str = ""
    email: str = ""
    order_number: str = ""


class FirstResponder(Protocol):
    """Answers customers before an agent does (the chatbot registers itself in FIRST_RESPONDERS)."""

    def takes(self, session: ChatSession) -> bool:
        """Should this new chat start with the responder (its state "bot") instead of the agents' queue?"""

    def respond(self, session: ChatSession, message: ChatMessage) -> list[ChatMessage]:
        """Its answers to a customer's message (posted with post_bot_message); it hands over with hand_over."""

    def customer_left(self, session: ChatSession) -> bool:
        """The customer closed a chat it was handling: True when it had answered them (nothing to follow up)."""

    def agent_took(self, session: ChatSession) -> None:
        """An agent took over a chat it was handling, before it handed over."""


FIRST_RESPONDERS: list[FirstResponder] = []


def _customer_for(pre: PreChat, user: User | None) -> Customer:
    if user is not None and hasattr(user, "customer_profile"):
        return user.customer_profile
    found = (find_customer_by_email(pre.email) if pre.email else None) or (
        find_customer_by_identity(Channel.PHONE, pre.phone) if pre.phone else None)
    if found is not None:
        return found
    if not (pre.email or pre.phone):
        # A visitor who gives neither is still somebody: known by this chat until they say more.
        return create_customer(name=pre.name, actor=None, identities=[(Channel.CHAT, f"visitor:{new_secret(12)}")])
    return create_customer(name=pre.name, email=pre.email, phone=pre.phone, actor=None)


@transaction.atomic
def start_chat(pre: PreChat, *, user: User | None = None) -> ChatSession:
    """A new chat in the queue, greeted at once; a signed-in customer is recognised by their account."""
    name = pre.name.strip()
    if not name and not (user and hasattr(user, "customer_profile")):
        raise DomainError(_("Please tell us your name."), code="name_required")
    customer = _customer_for(pre, user)
    session = ChatSession(
        customer=customer, visitor_name=name or customer.name, visitor_phone=pre.phone.strip(),
        visitor_email=pre.email.strip().lower(), order_number=pre.order_number.strip())
    responder = _responder_for(session)
    session.state = ChatSession.State.BOT if responder is not None else ChatSession.State.QUEUED
    session.save()
    record_audit("chat.started", session, actor=user)  # an anonymous visitor's chat names nobody
    if responder is not None:
        _append(session, ChatMessage.Author.BOT, _(
            "Hello %(name)s, I am the virtual assistant. Ask me your question; if I cannot help, I will pass you "
            "to a colleague (you can ask for one at any time).") % {"name": session.visitor_name})
    else:
        _append(session, ChatMessage.Author.SYSTEM, _(
            "Hello %(name)s, thank you for contacting us. An agent will be with you shortly; you can already "
            "describe your question.") % {"name": session.visitor_name})
    return session


def _responder_for(session: ChatSession) -> FirstResponder | None:
    return next((r for r in FIRST_RESPONDERS if r.takes(session)), None)


def _append(session: ChatSession, kind: str, body: str, *, author: User | None = None, client_id: str = "",
            upload: ticket_services.Upload | None = None) -> ChatMessage:
    """The next message of the session, numbered in order (the number lets a client that reconnects ask
    for what it missed)."""
    ChatSession.objects.filter(pk=session.pk).update(last_seq=F("last_seq") + 1)
    seq = ChatSession.objects.filter(pk=session.pk).values_list("last_seq", flat=True).get()
    session.last_seq = seq
    message = ChatMessage(session=session, seq=seq, author_kind=kind, author=author, body=body, client_id=client_id)
    if upload is not None:
        message.filename, message.content_type = upload.filename[:255], upload.content_type[:100]
        message.file.save(f"{session.pk}-{seq}", ContentFile(upload.content), save=False)
    message.save()
    return message


def post_message(session: ChatSession, body: str, *, side: str, actor: User | None = None, client_id: str = "",
                 upload: ticket_services.Upload | None = None) -> tuple[ChatMessage, bool]:
    """A message from the customer or the agent → (message, created). A message the client sends again
    after a reconnect (same client_id) is stored once."""
    body = body.strip()[:MAX_BODY]
    if not body and upload is None:
        raise DomainError(_("The message is empty."), code="empty_message")
    if upload is not None:  # stored with the safe name and the type its bytes show, not the client's claim
        upload = ticket_services.validate_upload(upload)
    if client_id:
        existing = ChatMessage.objects.filter(session=session, client_id=client_id[:64]).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():
        # Checked on the locked row: a socket's copy of the session may be older than the chat's state.
        session = ChatSession.objects.select_for_update().get(pk=session.pk)
        if side == ChatMessage.Author.AGENT:
            _require_agent_of(session, actor)
        if not session.is_open:
            raise DomainError(_("This chat has ended."), code="chat_ended")
        try:
            message = _append(session, side, body, author=actor, client_id=client_id[:64], upload=upload)
        except IntegrityError:  # two writers raced for the same number: the database keeps them in order
            raise DomainError(_("Please send the message again."), code="retry") from None
        if side == ChatMessage.Author.AGENT and session.answered_at is None:
            ChatSession.objects.filter(pk=session.pk).update(answered_at=message.created_at)
    return message, True


def first_response(session: ChatSession, message: ChatMessage) -> list[ChatMessage]:
    """The first responder's answers to a customer's message while the chat is with it (state "bot")."""
    if message.author_kind != ChatMessage.Author.CUSTOMER:
        return []
    current = ChatSession.objects.get(pk=session.pk)
    if current.state != ChatSession.State.BOT:
        return []  # handed over: the bot stays silent
    answers: list[ChatMessage] = []
    for responder in FIRST_RESPONDERS:
        answers += responder.respond(current, message)
    return answers


def post_bot_message(session: ChatSession, body: str) -> ChatMessage | None:
    """The assistant's message, if the chat is still with it (an agent may have taken it meanwhile)."""
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        if locked.state != ChatSession.State.BOT:
            return None
        return _append(locked, ChatMessage.Author.BOT, body[:MAX_BODY])


def post_system_message(session: ChatSession, body: str) -> ChatMessage:
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        return _append(locked, ChatMessage.Author.SYSTEM, body[:MAX_BODY])


@transaction.atomic
def hand_over(session: ChatSession, *, notice: str, ticket: Ticket | None = None) -> ChatMessage | None:
    """Bot → human requested: the chat joins the agents' queue (its wait counted from now), linked to the
    ticket that carries the conversation's context; the customer is told what happens (`notice`)."""
    locked = ChatSession.objects.select_for_update().get(pk=session.pk)
    if locked.state != ChatSession.State.BOT:
        return None
    locked.state, locked.queued_at = ChatSession.State.QUEUED, now()
    fields = ["state", "queued_at"]
    if ticket is not None:
        locked.ticket = ticket
        fields.append("ticket")
    locked.save(update_fields=fields)
    return _append(locked, ChatMessage.Author.BOT, notice)


@transaction.atomic
def end_with_bot(session: ChatSession, *, farewell: str) -> ChatSession:
    """The assistant answered and the customer is done (said so, or did not come back): ended, no ticket."""
    locked = ChatSession.objects.select_for_update().get(pk=session.pk)
    if locked.state != ChatSession.State.BOT:
        return locked
    _append(locked, ChatMessage.Author.BOT, farewell)
    locked.state, locked.ended_at = ChatSession.State.ENDED, now()
    locked.save(update_fields=["state", "ended_at"])
    return locked


def _require_agent_of(session: ChatSession, actor: User | None) -> None:
    if actor is None or not actor.can_write_tickets:  # QA reviewers may read chats, not answer them
        raise PermissionDenied(_("Only staff can answer chats."))
    if session.agent_id not in {None, actor.pk}:
        raise PermissionDenied(_("Another agent is handling this chat."))


@transaction.atomic
def take_chat(session: ChatSession, *, agent: User) -> ChatSession:
    """An agent takes a waiting chat; the customer is told who is with them."""
    session = ChatSession.objects.select_for_update().get(pk=session.pk)
    _require_agent_of(session, agent)
    if session.state == ChatSession.State.ACTIVE:
        return session
    if session.state not in {ChatSession.State.QUEUED, ChatSession.State.BOT}:  # an agent may take over the bot
        raise DomainError(_("This chat has ended."), code="chat_ended")
    _claim_chat_place(agent)
    if session.state == ChatSession.State.BOT:
        for responder in FIRST_RESPONDERS:
            responder.agent_took(session)
    session.state, session.agent = ChatSession.State.ACTIVE, agent
    session.save(update_fields=["state", "agent"])
    _append(session, ChatMessage.Author.SYSTEM, _("%(agent)s has joined the chat.") % {"agent": agent.name})
    return session


def _claim_chat_place(agent: User) -> None:
    """An agent's concurrent chats stay within their routing profile's limit (counted under its row lock,
    so two chats taken at once cannot both pass)."""
    profile = AgentProfile.objects.select_for_update().filter(user=agent).first()
    if profile is None:
        return  # no routing profile: no limit set
    active = ChatSession.objects.filter(agent=agent, state=ChatSession.State.ACTIVE).count()
    if active >= profile.max_chats:
        raise DomainError(_("You already have %(count)s chats open, your limit: end one first.")
                          % {"count": active}, code="at_capacity")
    AgentProfile.objects.filter(pk=profile.pk).update(active_chats=active + 1)


def _release_chat_place(session: ChatSession) -> None:
    if session.agent_id is not None:
        AgentProfile.objects.filter(user_id=session.agent_id).update(active_chats=ChatSession.objects.filter(
            agent_id=session.agent_id, state=ChatSession.State.ACTIVE).count())


def mark_read(session: ChatSession, seq: int, *, side: str) -> None:
    field = "customer_read_seq" if side == ChatMessage.Author.CUSTOMER else "agent_read_seq"
    ChatSession.objects.filter(pk=session.pk, **{f"{field}__lt": seq}).update(**{field: min(seq, session.last_seq)})


def messages_after(session: ChatSession, seq: int) -> list[ChatMessage]:
    return list(session.messages.filter(seq__gt=seq).order_by("seq").select_related("author"))


def speaker(message: ChatMessage, session: ChatSession) -> str:
    """Who said it, as both sides see it ("" for the system's own lines)."""
    if message.author_kind == ChatMessage.Author.CUSTOMER:
        return session.visitor_name
    if message.author_kind == ChatMessage.Author.BOT:
        return _("Assistant")
    if message.author_kind == ChatMessage.Author.AGENT:
        return message.author.name if message.author else _("Agent")
    return ""


def transcript(session: ChatSession) -> str:
    lines = []
    for message in session.messages.order_by("seq").select_related("author"):
        who = speaker(message, session) or _("System")
        text = message.body or ""
        if message.filename:
            text = (text + " " if text else "") + _("[file: %(name)s]") % {"name": message.filename}
        lines.append(f"[{message.created_at:%H:%M}] {who}: {text}")
    return "\n".join(lines)


@transaction.atomic
def end_chat(session: ChatSession, *, by: str, actor: User | None = None) -> ChatSession:
    """The customer leaves or the agent closes the chat. A chat no agent answered continues as a ticket."""
    session = ChatSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_open:
        return session
    if by == ChatMessage.Author.AGENT:
        _require_agent_of(session, actor)
    if session.state == ChatSession.State.BOT and by == ChatMessage.Author.CUSTOMER and any(
            responder.customer_left(session) for responder in FIRST_RESPONDERS):
        session.state, session.ended_at = ChatSession.State.ENDED, now()
        session.customer_left_at = session.ended_at
        session.save(update_fields=["state", "ended_at", "customer_left_at"])
        return session
    if session.answered_at is None:
        return _continue_as_ticket(session, reason=_("The customer left before an agent answered.")
                                   if by == ChatMessage.Author.CUSTOMER else _("No agent answered in time."))
    _append(session, ChatMessage.Author.SYSTEM, _("The chat has ended. Thank you!"))
    session.state, session.ended_at = ChatSession.State.ENDED, now()
    if by == ChatMessage.Author.CUSTOMER:
        session.customer_left_at = session.ended_at
    session.save(update_fields=["state", "ended_at", "customer_left_at"])
    _release_chat_place(session)
    return session


@transaction.atomic
def continue_as_ticket(session: ChatSession, *, actor: User) -> ChatSession:
    """An agent turns the chat into a ticket (to follow up later by email or SMS)."""
    session = ChatSession.objects.select_for_update().get(pk=session.pk)
    _require_agent_of(session, actor)
    if not session.is_open:
        raise DomainError(_("This chat has ended."), code="chat_ended")
    return _continue_as_ticket(session, reason=_("Continued as a ticket by %(agent)s.") % {"agent": actor.name})


def _continue_as_ticket(session: ChatSession, *, reason: str) -> ChatSession:
    _append(session, ChatMessage.Author.SYSTEM, _(
        "We have opened a request for you and will continue by email or text message."))
    if session.ticket is not None:  # opened at the hand-off: it gets the rest of the conversation
        ticket_services.add_chat_transcript(session.ticket, f"{reason}\n\n{transcript(session)}")
        session.state, session.ended_at = ChatSession.State.TICKET, now()
        session.save(update_fields=["state", "ended_at"])
        _release_chat_place(session)
        return session
    first = session.messages.filter(author_kind=ChatMessage.Author.CUSTOMER).order_by("seq").first()
    subject = (first.body.splitlines()[0][:80] if first and first.body else "") or _("Chat with %(name)s") % {
        "name": session.visitor_name}
    ticket = ticket_services.open_ticket(
        customer=session.customer, subject=subject, description=f"{reason}\n\n{transcript(session)}",
        actor=session.customer.user, channel=Channel.CHAT, facts={"where": session.order_number} if
        session.order_number else None)
    session.state, session.ticket, session.ended_at = ChatSession.State.TICKET, ticket, now()
    session.save(update_fields=["state", "ticket", "ended_at"])
    _release_chat_place(session)
    return session


def convert_unanswered(wait: dt.timedelta | None = None) -> list[int]:
    """Chats that waited longer than the limit (KEFU_CHAT_WAIT_SECONDS) without an agent become tickets."""
    wait = wait or dt.timedelta(seconds=settings.KEFU["CHAT_WAIT_SECONDS"])
    due = list(ChatSession.objects.filter(state=ChatSession.State.QUEUED, queued_at__lte=now() - wait)
               .values_list("pk", flat=True)[:200])
    for pk in due:
        end_chat(ChatSession.objects.get(pk=pk), by=ChatMessage.Author.SYSTEM)
    return due
