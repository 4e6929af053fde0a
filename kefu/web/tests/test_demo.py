"""The first run's demo shows every stage of the loop with something in it."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.web.demo import load_demo

pytestmark = pytest.mark.django_db


def _page(username: str, path: str) -> str:
    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, path
    return response.content.decode()


def test_the_demo_has_a_request_an_approval_a_follow_up_and_a_qa_sample_waiting():
    logins = load_demo()
    assert ("finance", "kefu-demo-2026", "Department member") in logins
    assert "核实订单 SO-20261101-001 的退款打款状态" in _page("finance", "/console/requests/")
    assert "300" in _page("supervisor", "/console/approvals/")
    assert "Wrong size delivered" in _page("supervisor", "/console/follow-ups/")
    assert "Wrong size delivered" in _page("qa", "/console/qa/")


def test_the_demo_chat_desk_has_a_chat_waiting_and_one_being_answered():
    from kefu.chat.models import ChatSession

    load_demo()
    waiting = ChatSession.objects.get(visitor_name="王芳")
    assert waiting.state == ChatSession.State.QUEUED
    assert waiting.messages.filter(body__contains="SF1234567890").exists()
    answered = ChatSession.objects.get(visitor_name="Alice Brown")
    assert answered.state == ChatSession.State.ACTIVE and answered.agent is not None
    desk = _page("agent2", "/console/chats/")  # every waiting chat, and the agent's own
    assert "王芳" in desk and "Alice Brown" in desk
