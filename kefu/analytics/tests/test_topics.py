"""Top issues from the text: synthetic tickets with known themes in Chinese, English and mixed text."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.analytics.topics import Topic, clean_text, group_texts, match_topics, topic_tokens, topic_trends

GREETINGS = ["", "", "您好，", "你好，请问", "在吗？", "Hello, ", "Hi team, ", "亲，"]
SIGN_OFFS = ["", "", "谢谢", "谢谢！", "thanks", "Thank you.", "麻烦尽快处理", "急！"]

# Each theme: the thing (always named) × what is wrong with it × some context, in Chinese, English and mixed.
REFUND = (
    ["退款", "我的退款", "申请的退款", "退货的退款", "refund", "my refund", "申请refund的退款"],
    ["还没到账", "一直没有到账", "迟迟不到账", "到现在还没收到", "显示成功但是没到账", "什么时候到账",
     "has not arrived yet", "not received", "still not in my account", "没到账，where is it"],
    ["", "", "已经一周了", "订单{n}", "等了十天", "after two weeks", "order {n}"],
)
LOGIN = (
    ["登录", "账号登录", "app登录", "手机号登录", "login", "log in", "登录login"],
    ["失败", "一直提示密码错误", "收不到验证码", "提示账号异常", "页面一直转圈", "就闪退",
     "failed", "keeps failing with the right password", "error after update", "不上去，error"],
    ["", "", "换了手机也不行", "from yesterday", "试了很多次", "since the update"],
)
INVOICE = (
    ["发票", "增值税发票", "电子发票", "invoice", "an invoice", "公司的invoice发票"],
    ["怎么开", "开错了能重开吗", "需要开", "抬头怎么改", "能开专票吗",
     "how do i get", "request", "needed for my company"],
    ["", "", "订单{n}", "公司报销用", "for order {n}", "上个月的"],
)
NOISE = [
    "你们的客服电话是多少", "周末发货吗", "能送到新疆吗", "颜色和图片不一样", "can i change my shipping address",
    "包装破损了", "商品有异味", "优惠券用不了", "积分怎么兑换", "会员怎么升级", "do you ship to canada",
    "尺码偏小", "赠品没有收到", "门店营业时间", "how long is the warranty", "说明书丢了", "可以开箱验货吗",
    "快递员态度很差", "想取消订单", "修改收货人姓名", "does it come in blue", "what payment methods do you accept",
    "产品怎么安装", "电池能用多久", "有没有充电器", "颜色选错了", "your website is slow", "能不能便宜点",
    "保修期多久", "是否支持花呗", "is there a student discount", "产品是正品吗", "什么时候补货", "预售什么时候发",
]


def _tickets(
    rng: random.Random, theme: str, parts: tuple[list[str], list[str], list[str]], count: int
) -> list[tuple[str, str, str]]:
    """(id, text, theme): a thing, its problem and some context, with greetings and sign-offs around them."""
    out = []
    for index in range(count):
        thing, problem, context = (rng.choice(part) for part in parts)
        spaced = thing.isascii() or problem.isascii()
        core = f"{thing}{' ' if spaced else ''}{problem} {context}".format(n=rng.randint(10_000_000, 99_999_999))
        text = f"{rng.choice(GREETINGS)}{core}{'，' if rng.random() < 0.5 else ' '}{rng.choice(SIGN_OFFS)}"
        out.append((f"{theme}-{index}", text, theme))
    return out


def _corpus(seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return (
        _tickets(rng, "refund", REFUND, 80)
        + _tickets(rng, "login", LOGIN, 60)
        + _tickets(rng, "invoice", INVOICE, 40)
        + [(f"noise-{i}", f"{rng.choice(GREETINGS)}{text}", "noise") for i, text in enumerate(NOISE)]
    )


def _items(corpus: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(item_id, text) for item_id, text, _ in corpus]


def _theme_of(corpus: list[tuple[str, str, str]]) -> dict[str, str]:
    return {item_id: theme for item_id, _, theme in corpus}


def _purity(topic: Topic, theme_of: dict[str, str]) -> tuple[str, float]:
    theme, count = Counter(theme_of[str(member)] for member in topic.members).most_common(1)[0]
    return theme, count / topic.size


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str, str]]:
    return _corpus()


@pytest.fixture(scope="module")
def topics(corpus: list[tuple[str, str, str]]) -> list[Topic]:
    return group_texts(_items(corpus))


def test_the_largest_groups_are_the_known_themes_and_each_is_pure(
    corpus: list[tuple[str, str, str]], topics: list[Topic]
) -> None:
    theme_of = _theme_of(corpus)
    largest = [_purity(topic, theme_of) for topic in topics[:3]]
    assert {theme for theme, _ in largest} == {"refund", "login", "invoice"}
    assert all(purity >= 0.9 for _, purity in largest)


def test_each_theme_is_mostly_found(corpus: list[tuple[str, str, str]], topics: list[Topic]) -> None:
    theme_of = _theme_of(corpus)
    found: Counter[str] = Counter()
    for topic in topics:
        theme, purity = _purity(topic, theme_of)
        if purity >= 0.9:
            found[theme] += sum(theme_of[str(member)] == theme for member in topic.members)
    assert found["refund"] >= 0.7 * 80
    assert found["login"] >= 0.7 * 60
    assert found["invoice"] >= 0.7 * 40


def test_labels_name_the_problem(corpus: list[tuple[str, str, str]], topics: list[Topic]) -> None:
    theme_of = _theme_of(corpus)
    telling = {"refund": ("退款", "refund", "到账"), "login": ("登录", "login"), "invoice": ("发票", "invoice")}
    for topic in topics[:3]:
        theme, _ = _purity(topic, theme_of)
        assert 1 <= len(topic.label_terms) <= 4
        assert any(word in topic.label for word in telling[theme]), topic.label


def test_greetings_are_never_a_label(topics: list[Topic]) -> None:
    boilerplate = {"您好", "你好", "请问", "谢谢", "hello", "thanks", "thank", "hi", "麻烦"}
    assert all(term not in boilerplate for topic in topics for term in topic.label_terms)


def test_chinese_bigrams_that_chain_are_joined_into_a_word() -> None:
    texts = ["退款到账慢", "退款到账很慢了", "我的退款到账了吗", "退款到账要多久"] * 2
    items = list(enumerate(texts))
    (topic,) = group_texts(items)
    assert "退款到账" in topic.label_terms


def test_noise_does_not_form_big_groups(corpus: list[tuple[str, str, str]], topics: list[Topic]) -> None:
    theme_of = _theme_of(corpus)
    noise_in_groups = sum(theme_of[str(member)] == "noise" for topic in topics for member in topic.members)
    assert noise_in_groups <= 0.2 * len(NOISE)
    for topic in topics:
        theme, _ = _purity(topic, theme_of)
        assert theme != "noise" or topic.size < 5


def test_examples_are_central_members(topics: list[Topic]) -> None:
    for topic in topics:
        assert topic.examples == topic.members[: len(topic.examples)]
        assert 1 <= len(topic.examples) <= 3
        assert topic.size == len(topic.members) >= 3


def test_every_text_is_in_at_most_one_topic(topics: list[Topic]) -> None:
    members = [member for topic in topics for member in topic.members]
    assert len(members) == len(set(members))


def test_shuffled_input_gives_the_same_topics_in_the_same_order(corpus: list[tuple[str, str, str]]) -> None:
    items = _items(corpus)
    shuffled = items[:]
    random.Random(3).shuffle(shuffled)
    assert group_texts(shuffled) == group_texts(items)


def test_topics_are_ordered_by_size_then_label(topics: list[Topic]) -> None:
    keys = [(-topic.size, topic.label) for topic in topics]
    assert keys == sorted(keys)


def test_max_topics_and_min_size_are_respected(corpus: list[tuple[str, str, str]]) -> None:
    topics = group_texts(_items(corpus), max_topics=2, min_size=10)
    assert len(topics) == 2
    assert all(topic.size >= 10 for topic in topics)


def test_empty_and_ungroupable_inputs_give_no_topics() -> None:
    assert group_texts([]) == []
    assert group_texts([(1, "您好"), (2, "thanks!"), (3, "")]) == []
    assert group_texts([(1, "退款"), (2, "发票"), (3, "登录")]) == []


def test_integer_ids_are_kept() -> None:
    items = [(i, text) for i, text in enumerate(["发票怎么开", "我要开发票", "需要开发票", "发票开错了"])]
    (topic,) = group_texts(items)
    assert set(topic.members) == {0, 1, 2, 3}


def test_greetings_are_cut_before_chinese_is_split_into_bigrams() -> None:
    chinese = topic_tokens(clean_text("您好请问退款什么时候到账谢谢"))
    assert "退款" in chinese and "到账" in chinese
    assert not {"您好", "请问", "谢谢", "好请", "问退", "账谢"} & set(chinese)
    assert topic_tokens(clean_text("Hello, thanks for the refund of order 12345678")) == ["refund", "order"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="退款到账登录发票abc ", max_size=12), max_size=30), st.randoms(use_true_random=False))
def test_any_order_gives_the_same_topics(texts: list[str], rng: random.Random) -> None:
    items = list(enumerate(texts))
    shuffled = items[:]
    rng.shuffle(shuffled)
    assert group_texts(shuffled) == group_texts(items)


# --- trends ---------------------------------------------------------------------------------------------------


def test_trend_shares_and_directions() -> None:
    now, before = {"退款": 30, "登录": 10, "发票": 10}, {"退款": 20, "登录": 20, "物流": 10}
    trends = {t.key: t for t in topic_trends(now, before)}
    assert trends["退款"].current_share == pytest.approx(0.6)
    assert trends["退款"].previous_share == pytest.approx(0.4)
    assert trends["退款"].share_change == pytest.approx(0.2)
    assert trends["退款"].direction == "rising"
    assert trends["登录"].direction == "falling"
    assert trends["登录"].share_change == pytest.approx(-0.2)
    assert trends["发票"].direction == "new"
    assert trends["物流"].direction == "gone"
    assert trends["物流"].current == 0


def test_a_share_that_barely_moves_is_steady_even_when_the_count_doubles() -> None:
    (trend, _) = topic_trends({"a": 200, "b": 200}, {"a": 100, "b": 100})
    assert trend.direction == "steady"
    assert trend.share_change == 0


def test_trends_are_ordered_by_current_count_then_key() -> None:
    trends = topic_trends({"b": 5, "a": 5, "c": 9}, {"d": 3})
    assert [t.key for t in trends] == ["c", "a", "b", "d"]


def test_empty_periods_give_zero_shares() -> None:
    assert topic_trends({}, {}) == []
    (trend,) = topic_trends({"a": 0}, {})
    assert trend.current_share == 0 and trend.direction == "steady"


@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000)),
       st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000)))
def test_share_changes_sum_to_zero_when_both_periods_have_tickets(
    current: dict[str, int], previous: dict[str, int]
) -> None:
    trends = topic_trends(current, previous)
    if sum(current.values()) and sum(previous.values()):
        assert sum(t.share_change for t in trends) == pytest.approx(0, abs=1e-9)
        assert sum(t.current_share for t in trends) == pytest.approx(1)


def test_the_same_topic_is_recognised_in_the_previous_period(topics: list[Topic]) -> None:
    earlier = _corpus(seed=11)
    # Last period: half the refund complaints, the same login trouble, no invoices.
    earlier = [row for row in earlier if row[2] != "invoice" and not (row[2] == "refund" and int(row[0][7:]) % 2)]
    previous_topics = group_texts(_items(earlier))
    counts = match_topics(topics, previous_topics)
    trends = {t.key: t for t in topic_trends({t.label: t.size for t in topics}, counts)}
    directions = {_main_theme(topic): trends[topic.label].direction for topic in topics[:3]}
    assert directions["invoice"] == "new"
    assert directions["refund"] == "rising"
    assert directions["login"] == "falling"  # the same count, a smaller share


def _main_theme(topic: Topic) -> str:
    words = topic.label
    return "refund" if ("退款" in words or "refund" in words or "到账" in words) else (
        "login" if ("登录" in words or "login" in words) else "invoice")
