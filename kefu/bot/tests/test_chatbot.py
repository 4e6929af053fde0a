"""The chatbot in live chat, as the customer and the agent who takes over meet it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from kefu.bot import brain, services
from kefu.bot import selectors as bot_selectors
from kefu.bot.models import Conversation, UnansweredQuestion
from kefu.chat import services as chat
from kefu.chat.models import ChatMessage, ChatSession
from kefu.testing import factories
from kefu.testing.fake_llm import serve_fake_llm
from kefu.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

ARTICLES: dict[str, dict[str, Any]] = {
    "refund-time": {"needs_order": True, "texts": {
        "zh-hans": ("退款多久到账", "退款审核通过后 3 到 7 个工作日原路退回。"),
        "en": ("How long a refund takes", "Refunds reach your original payment method in 3-7 working days.")},
        "questions": {"zh-hans": ["我的退款什么时候到账", "退款多久能到", "钱什么时候退回来", "退款还没收到"],
                   "en": ["when do I get my refund", "how long does a refund take", "refund not received yet",
                          "where is my money back"]}},
    "change-address": {"texts": {
        "zh-hans": ("修改收货地址", "订单发货前，可以在订单详情页修改收货地址。"),
        "en": ("Change the delivery address", "Before the order ships you can change the address on the order page.")},
        "questions": {"zh-hans": ["地址填错了怎么办", "怎么修改收货地址", "能改地址吗", "收货地址写错了"],
                   "en": ["I entered the wrong address", "how do I change my address", "can I change the delivery "
                          "address", "update shipping address"]}},
    "invoice": {"texts": {
        "zh-hans": ("如何开发票", "在订单详情页点击申请发票，电子发票会发到您的邮箱。"),
        "en": ("How to get an invoice", "Open the order and choose Request invoice; the e-invoice is emailed.")},
        "questions": {"zh-hans": ["怎么开发票", "发票在哪里申请", "我要开增值税发票", "能开电子发票吗"],
                   "en": ["how do I get an invoice", "I need a VAT invoice", "where can I request an invoice",
                          "send me the receipt for my order"]}},
    "earbuds-pairing": {"kind": "troubleshooting", "texts": {
        "zh-hans": ("耳机无法配对", "1. 把耳机放回充电盒 2. 长按按钮 10 秒重置 3. 重新配对。"),
        "en": ("Earbuds do not pair", "1. Put the earbuds in the case 2. Hold the button 10 s 3. Pair again.")},
        "questions": {"zh-hans": ["耳机连不上手机", "蓝牙耳机配对失败", "耳机搜不到", "耳机连接不上"],
                   "en": ["earbuds won't connect", "bluetooth pairing fails", "my earbuds do not pair",
                          "headphones not connecting to phone"]}},
}
_trained: dict[str, bytes] = {}


@pytest.fixture
def trained_bot(settings) -> None:
    """The four articles published and the chatbot trained on them (trained once, copied per test)."""
    for key, spec in ARTICLES.items():
        factories.article(key, **spec)
    path = Path(settings.KEFU["BOT_MODEL_PATH"])
    if "bytes" not in _trained:
        brain.save(brain.train(), path)
        _trained["bytes"] = path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_trained["bytes"])


def start(**pre: str) -> ChatSession:
    return chat.start_chat(chat.PreChat(name=pre.pop("name", "Visitor"), **pre))


def say(session: ChatSession, text: str) -> list[str]:
    message, _created = chat.post_message(session, text, side=ChatMessage.Author.CUSTOMER)
    return [m.body for m in chat.first_response(session, message)]


def state(session: ChatSession) -> str:
    session.refresh_from_db()
    return session.state


def test_without_a_trained_bot_chats_go_straight_to_the_agents():
    session = start()
    assert session.state == ChatSession.State.QUEUED
    assert say(session, "hello?") == []


def test_bot_answers_a_chinese_question_and_the_customer_says_it_helped(trained_bot):
    session = start(name="王芳")
    assert session.state == ChatSession.State.BOT
    # A troubleshooting guide needs the product first (a missing 5W1H fact); the bot answers in Chinese.
    assert say(session, "耳机连不上手机怎么办") == ["我可以帮您处理“耳机无法配对”。请问是哪款产品、什么型号？"]
    answer = say(session, "K3 真无线耳机")
    assert answer[0].startswith("耳机无法配对\n") and "长按按钮 10 秒重置" in answer[0]
    assert "/help/earbuds-pairing/?lang=zh-hans" in answer[0] and answer[1] == "这个回答解决您的问题了吗？（是 / 否）"
    say(session, "有用，谢谢")
    assert state(session) == ChatSession.State.ENDED
    conversation = Conversation.objects.get(chat=session)
    assert (conversation.outcome, conversation.intent, conversation.facts["product"]) == (
        "resolved", "earbuds-pairing", "K3 真无线耳机")
    assert not Ticket.objects.exists()  # resolved by the bot: nothing for an agent to do


def test_the_bot_asks_for_the_order_number_then_answers_in_english(trained_bot):
    session = start()
    [question] = say(session, "when will I get my refund")
    assert question == "I can help with “How long a refund takes”. What is your order number?"
    [retry] = say(session, "I don't have it here, call me on 13812345678")  # a mobile number is not one
    assert "could not find an order number" in retry
    assert Conversation.objects.get(chat=session).facts.get("order_number") is None
    answer = say(session, "it is SO-20261101-001")
    assert answer[0].startswith("How long a refund takes") and "3-7 working days" in answer[0]
    assert answer[1] == "Did this answer your question? (yes / no)"
    assert Conversation.objects.get(chat=session).facts["order_number"] == "SO-20261101-001"


def test_out_of_scope_questions_are_not_answered_and_a_second_failure_hands_over(trained_bot):
    session = start()
    [apology] = say(session, "what's the weather like in Paris tomorrow")
    assert "rather not guess" in apology and "agent" in apology
    assert UnansweredQuestion.objects.get().text == "what's the weather like in Paris tomorrow"
    handover = say(session, "tell me a joke about penguins")
    assert "passing you to a colleague" in handover[0] and "The wait is about" in handover[1]
    assert state(session) == ChatSession.State.QUEUED
    assert Conversation.objects.get(chat=session).handoff_reason == "failed"


def test_asking_for_a_person_hands_over_with_transcript_intent_and_facts(trained_bot):
    customer = factories.customer(name="Liu Yang")
    earlier = factories.ticket(customer, subject="Earlier: broken charger")
    session = chat.start_chat(chat.PreChat(name="Liu Yang", email=customer.email, order_number="SO-20261105-042"))
    answer = say(session, "how long does a refund take")
    assert "3-7 working days" in answer[0]  # the pre-chat form's order number was enough
    handover = say(session, "I want to talk to a human please")
    assert "Your request number is" in handover[0]
    session.refresh_from_db()
    ticket = session.ticket
    assert session.state == ChatSession.State.QUEUED and ticket is not None
    assert ticket.customer == customer and ticket.channel == "chat" and ticket.subject == "How long a refund takes"
    description = ticket.description
    for expected in ("The customer asked for a person", "Detected intent: How long a refund takes",
                     "Collected facts: Order number: SO-20261105-042", "how long does a refund take",
                     "3-7 working days"):
        assert expected in description
    assert {t.name for t in ticket.tags.all()} == {"bot:asked", "intent:refund-time"}
    assert ticket.where == "SO-20261105-042"
    # The customer's history is on the customer the ticket belongs to.
    assert set(Ticket.objects.filter(customer=customer)) == {earlier, ticket}
    # Once handed over, the bot is silent.
    assert say(session, "hello? anyone?") == []


def test_threats_and_anger_go_to_a_person_at_once(trained_bot):
    session = start()
    say(session, "你们就是骗子，再不退款我就去12315投诉")
    assert state(session) == ChatSession.State.QUEUED
    assert Conversation.objects.get(chat=session).handoff_reason == "risk"
    session.refresh_from_db()
    # The ticket's triage read the customer's words (not the assistant's): high risk, for the supervisor.
    assert session.ticket is not None and session.ticket.escalation_risk == "high"
    assert session.ticket.priority in {"high", "urgent"}


def test_vip_customers_go_to_a_person_by_policy(trained_bot, settings):
    vip = factories.customer(annual_spend=9000)  # core by spend
    session = chat.start_chat(chat.PreChat(name="VIP", email=vip.email))
    say(session, "how do I change my address")
    assert Conversation.objects.get(chat=session).handoff_reason == "vip"
    settings.KEFU = {**settings.KEFU, "BOT_VIP_TO_HUMAN": False}
    other = chat.start_chat(chat.PreChat(name="VIP", email=vip.email))
    assert "order page" in say(other, "how do I change my address")[0]


def test_the_bot_asks_which_of_two_close_questions_and_remembers_the_choice(trained_bot, monkeypatch):
    monkeypatch.setattr(services, "CLARIFY_MARGIN", 1000.0)  # every runner-up is "too close to call"
    session = start()
    [question] = say(session, "change address")
    assert question.startswith("Do you mean:\n1. Change the delivery address\n2. ")
    conversation = Conversation.objects.get(chat=session)
    second = conversation.candidates[1]
    answer = say(session, "2")
    assert Conversation.objects.get(chat=session).intent == second and answer


def test_an_agent_taking_over_silences_the_bot(trained_bot):
    session = start()
    say(session, "how do I get an invoice")
    agent = factories.staff()
    chat.take_chat(session, agent=agent)
    assert say(session, "thanks, and one more thing") == []
    conversation = Conversation.objects.get(chat=session)
    assert (conversation.outcome, conversation.handoff_reason) == ("handed_off", "taken")


def test_idle_chats_close_as_resolved_after_an_answer_and_as_tickets_after_a_failure(trained_bot):
    answered, failed, silent = start(), start(), start()
    say(answered, "how do I get an invoice")
    say(failed, "what is the capital of Peru")
    assert sorted(services.close_idle(minutes=0)) == sorted([answered.pk, failed.pk, silent.pk])
    assert state(answered) == ChatSession.State.ENDED
    assert Conversation.objects.get(chat=answered).outcome == "resolved"
    assert state(failed) == ChatSession.State.TICKET  # an open question: an agent follows up
    assert state(silent) == ChatSession.State.ENDED


def test_a_later_chat_starts_with_a_fresh_context(trained_bot):
    first = start(order_number="SO-1")
    say(first, "I want a human")
    again = start()
    say(again, "when do I get my refund")
    assert Conversation.objects.get(chat=again).facts.get("order_number") is None
    assert Conversation.objects.count() == 2


def test_generative_answers_are_grounded_and_cite_the_article(trained_bot, settings):
    with serve_fake_llm() as llm:
        settings.KEFU = {**settings.KEFU, "BOT_LLM_URL": llm.url, "BOT_LLM_MODEL": "local"}
        answer = say(start(), "how do I get an invoice")
        assert "[1]" in answer[0] and "/help/invoice/" in answer[0]
        sent = json.dumps(llm.requests[0], ensure_ascii=False)
        assert "Request invoice" in sent and "how do I get an invoice" in sent


def test_train_command_from_the_knowledge_base_and_from_a_csv(trained_bot, tmp_path, capsys):
    call_command("bot", "train")
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["intents"], report["source"]) == (4, "knowledge base")
    data = tmp_path / "intents.csv"
    data.write_text("text,label\n" + "".join(f"{q},{k}\n" for k in ("a", "b") for q in (
        f"question {k} one", f"question {k} two", f"question {k} three")), encoding="utf-8")
    call_command("bot", "train", "--data", str(data))
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["intents"], report["n_train"]) == (2, 6)
    saved = brain.current()
    assert saved is not None and set(saved.model.labels) >= {"a", "b"}


def test_retraining_follows_the_knowledge_base(trained_bot):
    assert brain.retrain_if_stale() is not None  # the copied model was trained on another revision
    assert brain.retrain_if_stale() is None
    factories.article("warranty", texts={"en": ("Warranty", "One year.")}, questions={"en": ["is it under warranty"]})
    retrained = brain.retrain_if_stale()
    assert retrained is not None and "warranty" in retrained.model.labels


def test_handoff_note_keeps_the_rest_of_the_chat_when_nobody_answers(trained_bot, settings):
    session = start()
    say(session, "agent please")
    say(session, "still waiting")
    ChatSession.objects.filter(pk=session.pk).update(queued_at=session.started_at.replace(year=2000))
    assert chat.convert_unanswered() == [session.pk]
    session.refresh_from_db()
    assert session.state == ChatSession.State.TICKET
    note = Message.objects.get(ticket=session.ticket, kind=Message.Kind.NOTE)
    assert "still waiting" in note.body_text
    assert Ticket.objects.count() == 1


def test_unanswered_questions_are_grouped_for_the_knowledge_base_and_outcomes_counted(trained_bot):
    from django.test import Client

    for text in ("can I pay with bitcoin", "do you accept bitcoin payments", "今天北京天气怎么样"):
        say(start(), text)
    resolved = start()
    say(resolved, "how do I get an invoice")
    say(resolved, "yes thanks")
    client = Client()
    client.force_login(factories.staff())
    page = client.get("/console/knowledge/gaps/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    gaps = bot_selectors.knowledge_gaps(factories.staff())
    assert [g.count for g in gaps] == [2, 1]
    assert {q.text for q in gaps[0].questions} == {"can I pay with bitcoin", "do you accept bitcoin payments"}
    assert "今天北京天气怎么样" in page and "bitcoin" in page
    assert "Resolved by the assistant</dt><dd>1 (25 %)" in page


def test_the_assistants_outcomes_make_the_dashboards_resolution_and_hand_off_rates(trained_bot):
    import datetime as dt

    from kefu.accounts.models import Role
    from kefu.analytics import selectors as analytics
    from kefu.analytics import services as roll_ups
    from kefu.core.clock import advance, frozen_at, now

    with frozen_at(now()):
        resolved = start()
        say(resolved, "how do I get an invoice")
        say(resolved, "yes thanks")
        say(start(), "I want to talk to a human please")
        failed = start()
        say(failed, "what is the capital of Peru")
        say(failed, "tell me a joke about penguins")
        taken = start()
        say(taken, "how do I get an invoice")
        chat.take_chat(taken, agent=factories.staff())
        say(start(), "how do I get an invoice")  # still talking to the assistant: not ended, not counted yet
        advance(dt.timedelta(seconds=10))
        roll_ups.roll_up_all()
        today = roll_ups.local_day(now())
    day = analytics.figures(factories.staff(Role.SUPERVISOR), today, today)
    assert (day.n("bot_ended"), day.n("bot_resolved"), day.n("bot_handed_off")) == (4, 1, 3)
    assert (day.bot_resolution_rate, day.bot_handoff_rate) == (0.25, 0.75)
    assert {reason: day.n(f"bot_handoff_{reason}") for reason in ("asked", "failed", "taken")} == {
        "asked": 1, "failed": 1, "taken": 1}
