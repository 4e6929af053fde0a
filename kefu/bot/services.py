"""The chatbot as first responder in live chat: understand, ask, answer, or hand over with the context.

One customer message goes through, in this order:
1. the customer asks for a person, sends a file, writes with negative sentiment or escalation risk, or is a
   VIP under the hand-off policy → hand over;
2. the bot was waiting for something (the order number, the product, a choice between two questions,
   whether its answer helped) → take it from the message;
3. otherwise recognise the intent: out of scope → say so and offer a person (the second failure hands over);
   two intents too close to call → ask which; one intent → ask for a missing fact, or answer.
Hand-over opens the ticket that carries the transcript, the detected intent, the facts and (through the
customer) their history, moves the chat to the agents' queue and tells the customer how long the wait is.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kefu.accounts.models import AgentProfile, Presence
from kefu.assist import triage
from kefu.assist.labels import value_label
from kefu.bot import brain as brains
from kefu.bot import generative
from kefu.bot.models import Conversation, UnansweredQuestion
from kefu.chat import services as chat
from kefu.chat.models import ChatMessage, ChatSession
from kefu.core.clock import now
from kefu.customers.models import Channel, Tier
from kefu.knowledge import selectors as knowledge
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket

log = logging.getLogger(__name__)

CLARIFY_MARGIN = 0.2  # best and runner-up intent scores closer than this: ask which one
MAX_FAILURES = 2
_HUMAN = re.compile(r"人工|真人|转客服|客服人员|找客服|接线员|\b(human|agent|person|representative|operator|"
                    r"someone real|real person|talk to (a|some)one)\b", re.IGNORECASE)
_YES = re.compile(r"^\s*(是|是的|有用|有帮助|解决了|好的|好|谢谢|明白了|可以了|没问题|yes|yep|yeah|y|ok|okay|thanks?|"
                  r"thank you|solved|it helped|great|perfect)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(不|没|否|没有|不是|没用|no|nope|n|not really|didn't|did not)\b", re.IGNORECASE)
_ORDER = re.compile(r"\b[A-Za-z]{0,4}-?\d[\d-]{4,}\d\b")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")  # a mainland mobile number is not an order number
_FIRST = re.compile(r"^\s*(1|一|第一|第1|first|the first)", re.IGNORECASE)
_SECOND = re.compile(r"^\s*(2|二|第二|第2|second|the second)", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def language_of(text: str, fallback: str = "") -> str:
    if _CJK.search(text):
        return "zh-hans"
    if re.search(r"[A-Za-z]{2,}", text):
        return "en"
    return fallback or "zh-hans"


# ---------------------------------------------------------------------------------------------- registration


class Chatbot:
    """Registered in kefu.chat.services.FIRST_RESPONDERS when the app loads."""

    def takes(self, session: ChatSession) -> bool:
        return bool(settings.KEFU.get("BOT_ENABLED", True)) and brains.current() is not None

    def respond(self, session: ChatSession, message: ChatMessage) -> list[ChatMessage]:
        return respond(session, message)

    def customer_left(self, session: ChatSession) -> bool:
        return customer_left(session)

    def agent_took(self, session: ChatSession) -> None:
        record_takeover(session)


# ---------------------------------------------------------------------------------------------- the turn


@dataclass
class Turn:
    """One customer message being answered: where the bot's messages are collected."""

    session: ChatSession
    conversation: Conversation
    text: str
    locale: str
    out: list[ChatMessage]
    answer: knowledge.Entry | None = None  # written after the turn's transaction (it may ask a language model)

    def say(self, body: str) -> None:
        message = chat.post_bot_message(self.session, body)
        if message is not None:
            self.out.append(message)


def respond(session: ChatSession, message: ChatMessage) -> list[ChatMessage]:
    with transaction.atomic():
        conversation, _created = Conversation.objects.select_for_update().get_or_create(chat=session)
        conversation.last_customer_at = message.created_at
        text = (message.body or "").strip()
        locale = language_of(text, conversation.facts.get("locale", "") or session.customer.language)
        conversation.facts["locale"] = locale
        turn = Turn(session, conversation, text, locale, [])
        with translation.override(locale):
            _take_turn(turn, upload=bool(message.filename))
        conversation.save()
    if turn.answer is not None:
        with translation.override(locale):
            _write_answer(turn, turn.answer)
    return turn.out


def _take_turn(turn: Turn, *, upload: bool) -> None:
    conversation = turn.conversation
    if upload and not turn.text:
        return _hand_over(turn, Conversation.HandoffReason.FILE)
    if _HUMAN.search(turn.text):
        return _hand_over(turn, Conversation.HandoffReason.ASKED)
    judged = triage.triage("", turn.text, tier=turn.session.customer.tier)
    if judged.risk.value in {"medium", "high"}:
        return _hand_over(turn, Conversation.HandoffReason.RISK, judged)
    if judged.sentiment.value == "negative" and judged.sentiment_score <= -0.5:
        return _hand_over(turn, Conversation.HandoffReason.NEGATIVE, judged)
    if turn.session.customer.tier in {Tier.VIP, Tier.CORE} and settings.KEFU.get("BOT_VIP_TO_HUMAN", True):
        return _hand_over(turn, Conversation.HandoffReason.VIP)
    pending, conversation.pending = conversation.pending, Conversation.Pending.NOTHING
    if pending == Conversation.Pending.ORDER_NUMBER:
        return _take_order_number(turn)
    if pending == Conversation.Pending.PRODUCT:
        conversation.facts["product"] = turn.text[:100]
        return _answer(turn, conversation.intent)
    if pending == Conversation.Pending.CONFIRM:
        if _YES.search(turn.text):
            return _resolved(turn)
        if _NO.search(turn.text):
            return _failed(turn, _("Sorry that did not help. Could you describe the problem in other words? "
                                   "Or write “agent” to talk to a colleague."))
    if pending == Conversation.Pending.CLARIFY and len(conversation.candidates) == 2:
        choice = 0 if _FIRST.search(turn.text) else 1 if _SECOND.search(turn.text) else None
        if choice is not None:
            return _understood(turn, conversation.candidates[choice])
    return _recognise(turn)


def _recognise(turn: Turn) -> None:
    brain = brains.current()
    if brain is None:
        return _hand_over(turn, Conversation.HandoffReason.FAILED)
    prediction = brain.model.predict(turn.text)
    turn.conversation.intent_score = round(prediction.score, 4)
    if prediction.label is None:
        UnansweredQuestion.objects.create(conversation=turn.conversation, text=turn.text[:500], locale=turn.locale,
                                          best_guess="" if prediction.best == brains.OOS_LABEL else prediction.best,
                                          score=prediction.score)
        return _failed(turn, _("I am not sure I understood, and I would rather not guess. Could you put it "
                               "another way? Or write “agent” to talk to a colleague."))
    runner = prediction.runner_up
    if (runner and runner != brains.OOS_LABEL and prediction.runner_up_score is not None
            and prediction.score - prediction.runner_up_score < CLARIFY_MARGIN):
        return _clarify(turn, [prediction.label, runner])
    return _understood(turn, prediction.label)


def _title(key: str, locale: str) -> str:
    brain = brains.current()
    titles = brain.titles.get(key, {}) if brain is not None else {}
    return titles.get(locale) or next(iter(titles.values()), key)


def _clarify(turn: Turn, keys: list[str]) -> None:
    turn.conversation.pending, turn.conversation.candidates = Conversation.Pending.CLARIFY, keys
    turn.say(_("Do you mean:\n1. %(first)s\n2. %(second)s\nReply 1 or 2, or ask in other words.")
             % {"first": _title(keys[0], turn.locale), "second": _title(keys[1], turn.locale)})


def _understood(turn: Turn, key: str) -> None:
    turn.conversation.intent = key
    entry = _entry(key, turn.locale)
    if entry is None:  # withdrawn since the model was trained
        return _failed(turn, _("I am not sure I understood. Could you put it another way?"))
    if entry.needs_order and not _order_number(turn):
        turn.conversation.pending = Conversation.Pending.ORDER_NUMBER
        return turn.say(_("I can help with “%(title)s”. What is your order number?") % {"title": entry.title})
    if entry.kind == "troubleshooting" and not turn.conversation.facts.get("product"):
        turn.conversation.pending = Conversation.Pending.PRODUCT
        return turn.say(_("I can help with “%(title)s”. Which product and model is it about?")
                        % {"title": entry.title})
    return _answer(turn, key)


def _order_number(turn: Turn) -> str:
    facts = turn.conversation.facts
    if not facts.get("order_number"):
        found = next((m.group() for m in _ORDER.finditer(turn.text) if not _MOBILE.fullmatch(m.group())), "")
        number = found or turn.session.order_number
        if number:
            facts["order_number"] = number
    return str(facts.get("order_number", ""))


def _take_order_number(turn: Turn) -> None:
    if _order_number(turn):
        return _answer(turn, turn.conversation.intent)
    turn.conversation.failures += 1
    if turn.conversation.failures >= MAX_FAILURES:
        return _hand_over(turn, Conversation.HandoffReason.FAILED)
    turn.conversation.pending = Conversation.Pending.ORDER_NUMBER
    return turn.say(_("I could not find an order number in that. It looks like SO-20261101-001 and is in your "
                      "order confirmation."))


def _entry(key: str, locale: str) -> knowledge.Entry | None:
    entries = [e for e in knowledge.catalog().entries.values() if e.key == key and e.public]
    entries.sort(key=lambda e: e.locale != locale)
    return entries[0] if entries else None


def _answer(turn: Turn, key: str) -> None:
    entry = _entry(key, turn.locale)
    if entry is None:
        return _failed(turn, _("I am not sure I understood. Could you put it another way?"))
    turn.answer = entry
    turn.conversation.pending, turn.conversation.answers = Conversation.Pending.CONFIRM, turn.conversation.answers + 1


def _write_answer(turn: Turn, entry: knowledge.Entry) -> None:
    """The article's answer and the question whether it helped. Outside the turn's transaction: a configured
    language model may take seconds, and no other writer should wait for it."""
    link = f"/help/{entry.key}/?lang={entry.locale}"
    body = _generated(turn, entry) or _excerpt(entry.text)
    turn.say(f"{entry.title}\n\n{body}\n\n" + _("More: %(link)s") % {"link": link})
    turn.say(_("Did this answer your question? (yes / no)"))


def _excerpt(text: str, limit: int = 400) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in "。.!！?？")
    return (cut[: end + 1] if end > limit // 2 else cut) + "…"


def llm_config() -> generative.LlmConfig | None:
    url = settings.KEFU.get("BOT_LLM_URL", "")
    if not url:
        return None
    return generative.LlmConfig(url=url, model=settings.KEFU.get("BOT_LLM_MODEL", ""),
                                api_key=settings.KEFU.get("BOT_LLM_KEY", ""))


def _generated(turn: Turn, entry: knowledge.Entry) -> str:
    """The answer phrased by the configured language model from the recognised article and the best
    search results; "" when none is configured or the answer is not grounded (the excerpt is used)."""
    config = llm_config()
    if config is None:
        return ""
    results = [entry, *[r.entry for r in knowledge.search_articles(None, turn.text, locale=turn.locale, limit=3)
                        if r.entry.key != entry.key]][:3]
    sources = [generative.Source(n, e.title, e.text, f"/help/{e.key}/") for n, e in enumerate(results, 1)]
    try:
        answer = generative.generate_answer(turn.text, sources, config=config, language=turn.locale)
    except (generative.GenerationFailed, ValueError) as exc:
        log.warning("bot.generation_failed", extra={"reason": str(exc)})
        return ""
    links = [f"[{n}] /help/{results[n - 1].key}/" for n in answer.cited]
    return answer.text + "\n" + "\n".join(links)


def _failed(turn: Turn, apology: str) -> None:
    turn.conversation.failures += 1
    if turn.conversation.failures >= MAX_FAILURES:
        return _hand_over(turn, Conversation.HandoffReason.FAILED)
    return turn.say(apology)


def _resolved(turn: Turn) -> None:
    conversation = turn.conversation
    conversation.outcome, conversation.ended_at = Conversation.Outcome.RESOLVED, now()
    chat.end_with_bot(turn.session, farewell=_("Glad I could help. Have a nice day!"))


# ---------------------------------------------------------------------------------------------- hand-off


def waiting_minutes(session: ChatSession) -> int:
    """A rough wait: the chats ahead in the queue, a few minutes each, shared among the agents online."""
    ahead = ChatSession.objects.filter(state=ChatSession.State.QUEUED, queued_at__lt=session.queued_at).count()
    online = AgentProfile.objects.filter(presence=Presence.ONLINE).count()
    per_chat = float(settings.KEFU.get("BOT_MINUTES_PER_CHAT", 3))
    return max(1, math.ceil((ahead + 1) * per_chat / max(online, 1)))


def _hand_over(turn: Turn, reason: str, judged: triage.Triage | None = None) -> None:
    conversation, session = turn.conversation, turn.session
    conversation.outcome, conversation.handoff_reason = Conversation.Outcome.HANDED_OFF, reason
    conversation.handed_off_at = conversation.ended_at = now()
    conversation.pending = Conversation.Pending.NOTHING
    ticket = _handoff_ticket(turn, reason, judged)
    notice = chat.hand_over(session, ticket=ticket, notice=_(
        "I am passing you to a colleague, who will see our conversation, so you will not have to repeat "
        "yourself. Your request number is %(number)s."
    ) % {"number": ticket.number})
    if notice is not None:
        turn.out.append(notice)
        session.refresh_from_db(fields=["state", "queued_at", "ticket"])
        minutes = waiting_minutes(session)
        wait = chat.post_system_message(session, translation.ngettext(
            "The wait is about %(minutes)d minute.", "The wait is about %(minutes)d minutes.", minutes)
            % {"minutes": minutes})
        turn.out.append(wait)


def _handoff_ticket(turn: Turn, reason: str, judged: triage.Triage | None) -> Ticket:
    """The ticket the agent works from: the transcript, the intent, the facts; the customer's history is
    on the customer it belongs to."""
    conversation, session = turn.conversation, turn.session
    facts = conversation.facts
    intent = _title(conversation.intent, turn.locale) if conversation.intent else ""
    lines = [_("Handed over by the assistant: %(reason)s.") % {
        "reason": Conversation.HandoffReason(reason).label}]
    if intent:
        lines.append(_("Detected intent: %(intent)s (score %(score)s)") % {
            "intent": intent, "score": conversation.intent_score})
    if conversation.fact_items():
        lines.append(_("Collected facts: %(facts)s") % {
            "facts": "; ".join(f"{name}: {value}" for name, value in conversation.fact_items())})
    if judged is not None:
        lines.append(_("Sentiment: %(sentiment)s; escalation risk: %(risk)s") % {
            "sentiment": value_label(judged.sentiment.value), "risk": value_label(judged.risk.value)})
    said = [m.body for m in session.messages.filter(author_kind=ChatMessage.Author.CUSTOMER).order_by("seq")
            if m.body]
    subject = intent or (said[0].splitlines()[0][:80] if said else "") or _(
        "Chat with %(name)s") % {"name": session.visitor_name}
    ticket = ticket_services.open_ticket(
        customer=session.customer, subject=subject, actor=session.customer.user, channel=Channel.CHAT,
        description="\n".join(lines) + "\n\n" + chat.transcript(session), language=turn.locale,
        customer_words="\n".join(said),
        facts={"what": intent, "where": " ".join(filter(None, [facts.get("order_number", ""),
                                                                 facts.get("product", "")]))},
        tags=[f"bot:{reason}"] + ([f"intent:{conversation.intent}"] if conversation.intent else []))
    return ticket


# ---------------------------------------------------------------------------------------------- endings


def customer_left(session: ChatSession) -> bool:
    """The customer closed the chat while the bot had it: resolved if the bot had answered them."""
    conversation = Conversation.objects.filter(chat=session).first()
    if conversation is None or conversation.answers == 0 or conversation.pending != Conversation.Pending.CONFIRM:
        if conversation is not None:
            Conversation.objects.filter(pk=conversation.pk).update(outcome=Conversation.Outcome.ABANDONED,
                                                                   ended_at=now())
        return False
    Conversation.objects.filter(pk=conversation.pk).update(outcome=Conversation.Outcome.RESOLVED, ended_at=now())
    return True


def close_idle(minutes: float | None = None) -> list[int]:
    """Chats with the bot where the customer did not come back within the window: resolved when the bot
    had answered, continued as a ticket when a question was left open, ended when nothing was asked."""
    window = float(minutes if minutes is not None else settings.KEFU.get("BOT_IDLE_MINUTES", 10))
    cutoff = now() - dt.timedelta(minutes=window)
    idle = ChatSession.objects.filter(state=ChatSession.State.BOT, started_at__lte=cutoff).exclude(
        bot_conversation__last_customer_at__gt=cutoff).values_list("pk", flat=True)[:200]
    closed = []
    for pk in idle:
        session = ChatSession.objects.select_related("customer").get(pk=pk)
        with translation.override(language_of("", session.customer.language)):
            if customer_left(session):
                chat.end_with_bot(session, farewell=_("I hope that answered your question. This chat is now closed."))
            elif session.messages.filter(author_kind=ChatMessage.Author.CUSTOMER).exists():
                chat.end_chat(session, by=ChatMessage.Author.SYSTEM)
            else:
                chat.end_with_bot(session, farewell=_("This chat is now closed. Write again any time."))
        closed.append(pk)
    return closed


def record_takeover(session: ChatSession) -> None:
    """An agent took the chat from the bot before it handed over."""
    moment = now()
    Conversation.objects.filter(chat=session, outcome=Conversation.Outcome.OPEN).update(
        outcome=Conversation.Outcome.HANDED_OFF, handoff_reason=Conversation.HandoffReason.TAKEN,
        handed_off_at=moment, ended_at=moment)

