"""Demo data for the embedded mode's first run: a few teams, people and tickets in every state."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import Department, Presence, Role, Skill, User
from kefu.accounts.services import create_staff_user
from kefu.approvals import services as approvals
from kefu.approvals.models import DecisionKind
from kefu.chat import services as chats
from kefu.chat.models import ChatMessage
from kefu.collaboration import services as collaboration
from kefu.core.clock import now
from kefu.customers.models import Customer
from kefu.customers.services import add_order_reference, create_customer
from kefu.feedback import services as feedback
from kefu.knowledge.services import import_knowledge
from kefu.notifications.models import Notification
from kefu.quality import services as quality
from kefu.routing import services as routing
from kefu.routing.models import Queue, RoutingRule
from kefu.tickets import services
from kefu.tickets.models import Category, Ticket

DEMO_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge" / "demo_kb.json"
DEMO_PASSWORD = "kefu-demo-2026"  # noqa: S105 (printed on purpose for the local demo)

DEMO_LOGINS = [
    # username, display name, role, teams
    ("admin", "管理员 Admin", Role.ADMIN, ()),
    ("supervisor", "王主管 Wang (supervisor)", Role.SUPERVISOR, ("售后服务", "技术支持")),
    ("agent", "李伟 Li Wei (agent)", Role.AGENT, ("售后服务",)),
    ("agent2", "Emma Clark (agent)", Role.AGENT, ("技术支持",)),
    ("qa", "质检 QA reviewer", Role.QA, ()),
    ("finance", "财务部 Finance member", Role.DEPARTMENT, ("财务部",)),
]


def demo_needed() -> bool:
    return not User.objects.exists()


@transaction.atomic
def load_demo() -> list[tuple[str, str, str]]:
    """Creates the demo and returns (login, password, role) rows to print."""
    teams = {
        "售后服务": Department.objects.create(name="售后服务", kind=Department.Kind.SUPPORT),
        "技术支持": Department.objects.create(name="技术支持", kind=Department.Kind.SUPPORT),
        "财务部": Department.objects.create(name="财务部", kind=Department.Kind.OTHER),
    }
    staff = {}
    for username, name, role, team_names in DEMO_LOGINS:
        staff[username] = create_staff_user(
            username=username, email=f"{username}@kefu.localhost", display_name=name, role=role,
            password=DEMO_PASSWORD, departments=[teams[t] for t in team_names], actor=None,
        )
    zhang = create_customer(name="张三", email="zhangsan@example.com", phone="13800138000", actor=None,
                            account_ref="ACC-1001", annual_spend=8800, language="zh-hans",
                            password=DEMO_PASSWORD)
    alice = create_customer(name="Alice Brown", email="alice@example.com", phone="+44 20 7946 0000",
                            actor=None, language="en", password=DEMO_PASSWORD)
    add_order_reference(zhang, "SO-20261101-001", actor=None)
    add_order_reference(alice, "SO-20261105-042", actor=None)
    categories = {c.slug: c for c in Category.objects.all()}
    agent, agent2 = staff["agent"], staff["agent2"]

    refund = services.open_ticket(
        customer=zhang, subject="订单 SO-20261101-001 退款还没到账", actor=zhang.user, team=teams["售后服务"],
        description="我在11月1日申请了退款，到现在还没有到账，请帮忙查一下。",
        category=categories["service-request"], facts={"what": "退款未到账", "when": "2026-11-01"},
    )
    services.reply_to_customer(refund, "您好，我们已经在核实退款进度，请稍候。", actor=agent)
    login = services.open_ticket(
        customer=alice, subject="Cannot sign in after password reset", actor=alice.user, team=teams["技术支持"],
        description="After resetting my password the app says 'invalid credentials'.",
        category=categories["fault"], facts={"what": "Login fails", "how": "Error: invalid credentials",
                                             "where": "iOS app 5.2"},
    )
    services.reply_to_customer(login, "Sorry for the trouble — we are looking into it.", actor=agent2)
    services.propose_solutions(login, [
        {"title": "Reset the session from our side", "tradeoffs": "Immediate; signs you out everywhere."},
        {"title": "Wait for app update 5.2.1", "tradeoffs": "No action needed; ships within 3 days."},
    ], actor=agent2)
    outage = services.open_ticket(
        customer=zhang, subject="支付页面打不开", actor=zhang.user, team=teams["技术支持"],
        description="点击支付后页面一直空白。", category=categories["emergency"],
    )
    services.verify_fix(outage, actor=agent2, note="支付网关已恢复")
    services.resolve_ticket(outage, actor=agent2, summary="支付网关故障已修复，请再试一次。")
    services.open_ticket(customer=alice, subject="Invoice for October", actor=alice.user,
                         description="Please send the VAT invoice for my October order.",
                         category=categories["consultation"], auto_assign=False)
    _demo_routing(teams, staff)
    _demo_closed_loop(teams, staff, refund, alice, categories["service-request"])
    import_knowledge(json.loads(DEMO_KNOWLEDGE.read_text(encoding="utf-8")), actor=None)
    _demo_chats(staff)
    return [(u, DEMO_PASSWORD, str(dict(Role.choices)[r])) for u, _n, r, _t in DEMO_LOGINS] + [
        ("zhangsan@example.com", DEMO_PASSWORD, "Customer (VIP by spend)"),
        ("alice@example.com", DEMO_PASSWORD, "Customer"),
    ]


def _demo_closed_loop(teams: dict[str, Department], staff: dict[str, User], refund: Ticket, alice: Customer,
                      category: Category) -> None:
    """The later stages with something in them: a request to finance, an approval waiting for the
    supervisor, and a closed ticket whose bad survey opened a follow-up and put it in today's QA sample."""
    owner = refund.owner or staff["agent"]
    collaboration.raise_request(
        refund, department=teams["财务部"], need="核实订单 SO-20261101-001 的退款打款状态",
        deliverable="打款流水号，或打款失败的原因", acceptance_standard="附银行回单截图",
        context="客户 11 月 1 日申请退款，至今未到账。", due_at=now() + dt.timedelta(days=1), actor=owner)
    approvals.record_decision(refund, kind=DecisionKind.objects.get(key="compensation"), amount=Decimal("300"),
                              reason="退款延误超过两周，补偿 300 元优惠券", actor=owner)
    parcel = services.open_ticket(
        customer=alice, subject="Wrong size delivered", actor=alice.user, team=teams["售后服务"],
        description="I ordered the jacket in M and received an XL.", category=category)
    if parcel.owner is None:
        services.accept_ticket(parcel, actor=staff["agent"])
    agent = parcel.owner or staff["agent"]
    services.reply_to_customer(parcel, "Sorry about that: a replacement in M is on its way.", actor=agent)
    services.verify_fix(parcel, actor=agent, note="Replacement shipped, tracking SF1234567")
    services.resolve_ticket(parcel, actor=agent, summary="Replacement in M shipped.")
    services.confirm_resolution(parcel, actor=alice.user)
    feedback.survey_ticket(parcel.pk)
    link = str(Notification.objects.get(ticket_id=parcel.pk, template="survey").context["survey_url"])
    feedback.submit_survey(link.rstrip("/").rsplit("/", 1)[1], {
        "attitude": "4", "speed": "2", "solution": "3", "overall": "3", "nps": "6",
        "comment": "It took a week to get the right size."})
    quality.sample_day(timezone.localdate(now()))


def _demo_routing(teams: dict[str, Department], staff: dict[str, User]) -> None:
    """A queue per support team (best skill match), a refund rule, and the two agents online with skills."""
    for slug, name in (("refunds", "退款 Refunds"), ("payments", "支付 Payments"), ("english", "English"),
                       ("app", "App 应用")):
        Skill.objects.create(slug=slug, name=name)
    after_sales = Queue.objects.create(name="售后服务 After-sales", team=teams["售后服务"], position=10)
    Queue.objects.create(name="技术支持 Technical", team=teams["技术支持"], position=20)
    RoutingRule.objects.create(name="退款 / refunds", queue=after_sales, keywords=["退款", "refund"],
                               required_skills={"refunds": 2}, position=10)
    admin = staff["admin"]
    routing.configure_agent(staff["agent"], actor=admin, skills={"refunds": 4, "payments": 3}, languages=["zh"])
    routing.configure_agent(staff["agent2"], actor=admin, skills={"english": 5, "app": 4}, languages=["en", "zh"])
    for username in ("agent", "agent2"):
        routing.set_presence(staff[username], Presence.ONLINE, actor=staff[username])


def _demo_chats(staff: dict[str, User]) -> None:
    """The chat desk with something on it: a chat waiting for an agent (handed over by the assistant, with
    a ticket of the conversation, where the assistant has a trained model) and one an agent is answering."""
    waiting = chats.start_chat(chats.PreChat(name="王芳", phone="13912345678", order_number="SO-20261120-007"))
    for text in ("快递三天没有更新了，单号 SF1234567890，能帮我查一下吗？", "请帮我转人工"):
        message, _created = chats.post_message(waiting, text, side=ChatMessage.Author.CUSTOMER)
        chats.first_response(waiting, message)  # the assistant answers, then hands over when asked
    answered = chats.start_chat(chats.PreChat(name="Alice Brown", email="alice@example.com"))
    chats.post_message(answered, "Hi, can I still change the delivery address of my order?",
                       side=ChatMessage.Author.CUSTOMER)
    agent = staff["agent2"]
    chats.take_chat(answered, agent=agent)
    chats.post_message(answered, "Hello Alice, yes: which address should we send it to?",
                       side=ChatMessage.Author.AGENT, actor=agent)
