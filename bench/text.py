"""Realistic mixed Chinese and English customer-service text, from phrase templates (seeded, no Django).

Every function takes a ``random.Random`` so the generator is deterministic for a given seed.
"""

from __future__ import annotations

import random

PRODUCTS = [
    "蓝牙耳机", "智能手表", "空气净化器", "扫地机器人", "笔记本电脑", "电动牙刷", "咖啡机", "会员年卡",
    "wireless headphones", "smart watch", "air purifier", "robot vacuum", "laptop", "coffee machine",
    "annual membership", "phone case",
]
COURIERS = ["顺丰", "中通", "圆通", "京东物流", "EMS", "DHL", "FedEx"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "Singapore", "London", "Berlin"]
ERRORS = ["E1001", "E2034", "ERR_TIMEOUT", "403 Forbidden", "500 Internal Server Error", "验证码错误", "账号已锁定"]
APPS = ["iOS App", "Android App", "网页版", "小程序", "desktop client", "web portal"]

SUBJECTS = [
    "订单 {order} 还没有发货", "申请退款：订单号 {order}", "登录失败，提示 {error}", "发票抬头开错了，需要重开发票",
    "快递 {courier} 显示已签收但没有收到", "{product} 无法开机", "会员自动续费，要求退款", "修改收货地址 {city}",
    "Refund request for order {order}", "Cannot log in: {error}", "Where is my package? Order {order}",
    "Invoice for order {order} is missing", "{product} stopped working after update", "Wrong item delivered",
    "Charged twice for order {order}", "How do I change my delivery address?", "账户被冻结，无法付款",
    "优惠券无法使用", "Password reset email never arrives", "退货物流单号 {tracking} 查询不到",
]

CUSTOMER_PHRASES = [
    "你好，我在 {date} 下单购买了{product}，订单号 {order}，到现在还没有发货，请问什么时候能发货？",
    "我已经申请退款三天了，退款金额 {amount} 元一直没有到账，麻烦帮忙查一下退款进度。",
    "登录的时候一直提示“{error}”，我试过重置密码也不行，用的是{app}。",
    "发票抬头写错了，应该是“{company}”，税号 {taxid}，请帮我重新开具增值税电子发票。",
    "快递单号 {tracking}，{courier} 显示已经签收，但是我本人没有收到，也没有人打电话给我。",
    "收到的{product}外包装有破损，屏幕有划痕，我要求换货或者退款。",
    "请问可以修改收货地址吗？新的地址在{city}，订单号 {order}。",
    "同一个订单被扣了两次款，每次 {amount} 元，请尽快处理重复扣款。",
    "Hi, I ordered a {product} on {date} (order {order}) and it still has not shipped. Can you check?",
    "I requested a refund of {amount} CNY a week ago and nothing has arrived on my card yet.",
    "When I try to log in on the {app} I get \"{error}\". Resetting the password did not help.",
    "The invoice for order {order} is missing the company name and tax number; please reissue it.",
    "The courier {courier} says the parcel {tracking} was delivered, but nobody received it.",
    "My {product} stopped working after yesterday's firmware update. It will not turn on at all.",
    "I was charged twice for order {order}, {amount} each time. Please refund the duplicate payment.",
    "Could you change the delivery address of order {order} to our office in {city}?",
    "这个问题已经是第二次反馈了，上次客服说会回电话，但是一直没有人联系我，体验很差。",
    "我是你们的老客户了，这次的售后处理让我很失望，希望尽快给我一个解决方案。",
    "Please treat this as urgent: our whole team of {count} people cannot access the account.",
    "附件是付款截图和订单详情页截图，麻烦尽快核实。",
]

AGENT_PHRASES = [
    "您好，感谢您的耐心等待。我已经查询到订单 {order}，仓库预计在 {date} 前发出，发货后会短信通知您。",
    "非常抱歉给您带来不便。您的退款 {amount} 元已经提交财务处理，预计 1–3 个工作日原路退回。",
    "请您先清除{app}的缓存后重新登录；如果仍然提示“{error}”，请告诉我您的手机号后四位，我为您解锁账号。",
    "发票已经按照新的抬头“{company}”重新开具，电子发票会发送到您的预留邮箱，请注意查收。",
    "我已经联系{courier}核实快递单号 {tracking} 的签收情况，快递员会在 24 小时内回电。",
    "已为您登记换货申请，新的{product}会在质检后寄出，旧件请使用我们提供的免费退货单号 {tracking}。",
    "收货地址已经修改为{city}的新地址，订单号 {order} 的物流信息稍后会同步更新。",
    "经核实确实存在重复扣款，多扣的 {amount} 元已经为您申请退回，请留意银行通知。",
    "Thank you for your patience. Order {order} will leave our warehouse by {date}; you will get a tracking link.",
    "I am sorry for the trouble. Your refund of {amount} CNY has been approved and should arrive in 1-3 business days.",
    "Please clear the cache of the {app} and try again. If you still see \"{error}\", I can unlock the account.",
    "I have reissued the invoice with the company name {company}; it has been sent to your email address.",
    "I opened an investigation with {courier} about parcel {tracking}; they will call you within 24 hours.",
    "A replacement {product} will be shipped after inspection; please use return label {tracking} for the old one.",
    "The delivery address of order {order} is now updated to {city}.",
    "We confirmed the duplicate charge; {amount} CNY will be refunded to the original payment method.",
    "为了更快地帮您处理，请提供一下注册手机号和最近一笔订单的订单号。",
    "这个问题我已经升级给技术部门，他们会在 2 小时内给出处理方案，我会持续跟进并及时告知您进度。",
    "Is there anything else I can help you with? If the issue is solved, please confirm so we can close the ticket.",
    "问题已经处理完毕，如果您确认已经解决，请点击确认；如有其他疑问，随时联系我们。",
]

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
FIRST = ["James", "Mary", "John", "Linda", "David", "Emma", "Daniel", "Sophia", "Lucas", "Olivia", "Wei", "Mei"]
LAST = ["Smith", "Johnson", "Brown", "Taylor", "Lee", "Walker", "Chen", "Wong", "Müller", "Garcia"]
COMPANIES = ["上海星辰科技有限公司", "深圳云帆贸易有限公司", "Acme Ltd", "Northwind Traders",
             "杭州青木网络科技有限公司", ""]

# Words that occur in the generated text (used by the search benchmark and the tests).
SEARCH_WORDS = ["退款", "发货", "发票", "登录", "快递", "refund", "invoice", "login", "delivery", "warehouse",
                "重复扣款", "firmware"]


def person_name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _slots(rng: random.Random) -> dict[str, str]:
    return {
        "order": f"{rng.randint(2024, 2026)}{rng.randint(10**9, 10**10 - 1)}",
        "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}",
        "amount": f"{rng.randint(9, 9999)}.{rng.randint(0, 99):02d}",
        "date": f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日" if rng.random() < 0.5
        else f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "product": rng.choice(PRODUCTS),
        "courier": rng.choice(COURIERS),
        "city": rng.choice(CITIES),
        "error": rng.choice(ERRORS),
        "app": rng.choice(APPS),
        "company": rng.choice(COMPANIES) or "Acme Ltd",
        "taxid": f"91310{rng.randint(10**12, 10**13 - 1)}",
        "count": str(rng.randint(3, 80)),
    }


def subject(rng: random.Random) -> str:
    return rng.choice(SUBJECTS).format(**_slots(rng))[:200]


def body(rng: random.Random, *, agent: bool, min_chars: int = 200, max_chars: int = 800) -> str:
    """One message of ``min_chars``–``max_chars`` characters built from whole phrases."""
    phrases = AGENT_PHRASES if agent else CUSTOMER_PHRASES
    target = rng.randint(min_chars, max_chars)
    slots = _slots(rng)
    parts: list[str] = []
    size = 0
    while size < target:
        phrase = rng.choice(phrases).format(**slots)
        parts.append(phrase)
        size += len(phrase) + 1
        if rng.random() < 0.3:
            slots = _slots(rng)
    text = " ".join(parts)
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
    return text


class PhrasePool:
    """Pre-formatted phrases (slots filled once) so that building millions of messages stays cheap."""

    def __init__(self, rng: random.Random, size: int = 4000) -> None:
        self.customer = [rng.choice(CUSTOMER_PHRASES).format(**_slots(rng)) for _ in range(size)]
        self.agent = [rng.choice(AGENT_PHRASES).format(**_slots(rng)) for _ in range(size)]
        self.subjects = [subject(rng) for _ in range(size)]

    def body(self, rng: random.Random, *, agent: bool, min_chars: int = 200, max_chars: int = 800) -> str:
        pool = self.agent if agent else self.customer
        target = rng.randint(min_chars, max_chars)
        parts: list[str] = []
        size = 0
        while size < target:
            phrase = pool[int(rng.random() * len(pool))]
            parts.append(phrase)
            size += len(phrase) + 1
        text = " ".join(parts)
        return text[:max_chars].rstrip() if len(text) > max_chars else text

    def subject(self, rng: random.Random) -> str:
        return self.subjects[int(rng.random() * len(self.subjects))]
