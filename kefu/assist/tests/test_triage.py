"""Triage of a customer's message as an agent sees it: category, priority, sentiment, escalation risk, reasons."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.assist import triage as triage_module
from kefu.assist.triage import (
    CATEGORIES,
    PRIORITIES,
    REASON_CODES,
    RISKS,
    SENTIMENTS,
    TIERS,
    Finding,
    Triage,
    triage,
)


def codes(finding: Finding) -> set[str]:
    return {reason.code for reason in finding.reasons}


def evidence(finding: Finding, code: str) -> list[str]:
    return [reason.evidence for reason in finding.reasons if reason.code == code]


def findings(result: Triage) -> list[Finding]:
    return [result.category, result.priority, result.sentiment, result.risk]


# ------------------------------------------------------------------------------------------------ threats


def test_a_threat_to_call_12315_is_high_risk_with_the_number_as_evidence():
    result = triage("", "我要去12315投诉你们")
    assert result.risk.value == "high"
    assert evidence(result.risk, "regulator_threat") == ["12315"]
    assert result.priority.value == "high"


def test_full_width_digits_are_recognised_and_quoted_as_the_customer_typed_them():
    result = triage("", "再不退款我就打１２３１５！")
    assert evidence(result.risk, "regulator_threat") == ["１２３１５"]


@pytest.mark.parametrize(("body", "code", "said"), [
    ("你们再不处理，我就找媒体曝光", "media_threat", "找媒体曝光"),
    ("我会把这件事发到微博上", "media_threat", "发到微博"),
    ("I'll post this on twitter tonight", "media_threat", "post this on twitter"),
    ("Fix it or I am going to the press", "media_threat", "to the press"),
    ("我已经咨询了律师", "lawyer_threat", "律师"),
    ("不给说法就打官司", "lawyer_threat", "打官司"),
    ("I will sue you", "lawyer_threat", "will sue"),
    ("See you in court", "lawyer_threat", "in court"),
    ("My solicitor will be in touch", "lawyer_threat", "solicitor"),
    ("这事我要向消协反映", "regulator_threat", "消协"),
    ("我会向有关部门反映", "regulator_threat", "向有关部门"),
    ("I'm reporting you to Trading Standards", "regulator_threat", "Trading Standards"),
    ("I will file a complaint with the FTC", "regulator_threat", "file a complaint with"),
])
def test_threats_to_go_outside_are_high_risk_in_both_languages(body: str, code: str, said: str):
    result = triage("", body)
    assert result.risk.value == "high"
    assert said in evidence(result.risk, code)


@pytest.mark.parametrize("body", [
    "我不想投诉，只想问一下怎么退货",
    "我不会去12315的，放心",
    "我们没有找律师，只是想要个说法",
    "I don't want to sue, just fix it",
    "No need for a lawyer, please refund me",
    "I'm not going to the press, I just want my money back",
])
def test_a_threat_the_customer_says_they_will_not_make_does_not_count(body: str):
    result = triage("", body)
    assert not codes(result.risk) & {"regulator_threat", "media_threat", "lawyer_threat"}
    assert result.risk.value != "high"


@pytest.mark.parametrize("body", [
    "再不退款我就去消协",  # the negation belongs to the condition
    "如果不解决，我就起诉",
    "我不得不投诉到消协",
    "不排除走法律途径",
    "If you do not refund me I will sue",
    "I won't hesitate to go to the press",
    "You leave me no choice but to call my lawyer",
])
def test_a_negation_in_the_condition_does_not_cancel_the_threat(body: str):
    assert triage("", body).risk.value == "high"


@pytest.mark.parametrize("body", [
    "This is not an issue for me",  # "sue" inside "issue"
    "The staff were courteous",  # "court" inside "courteous"
    "Please pursue the refund",
    "Hi, this is Sue from the shop on Queen's Court",  # a name and a street
])
def test_english_terms_match_whole_words_and_threat_phrases_only(body: str):
    assert "lawyer_threat" not in codes(triage("", body).risk)


@pytest.mark.parametrize(("body", "not_expected"), [
    ("最近收到很多垃圾短信", "abusive_language"),
    ("滚筒洗衣机转的时候有异响", "abusive_language"),
    ("手机系统崩溃了，打不开", "desperate_language"),
    ("这个相机夜景曝光不足", "media_threat"),
    ("再次感谢你们的帮助", "repeated_issue"),
    ("麻烦转给相关部门处理一下", "regulator_threat"),  # the company's own department
    ("我妈的手机坏了", "abusive_language"),
])
def test_look_alike_words_do_not_raise_the_risk(body: str, not_expected: str):
    assert not_expected not in codes(triage("", body).risk)


# ------------------------------------------------------------------------------------------- other signals


def test_abusive_language_is_medium_risk_and_negative():
    for body in ("你们这群骗子，垃圾公司", "You are scammers and idiots"):
        result = triage("", body)
        assert result.risk.value == "medium", body
        assert "abusive_language" in codes(result.risk)
        assert result.sentiment.value == "negative"


def test_desperate_language_is_medium_risk():
    result = triage("", "我真的要崩溃了，求求你们帮帮我")
    assert result.risk.value == "medium"
    assert evidence(result.risk, "desperate_language") == ["崩溃", "求求你们"]


def test_swearing_on_the_third_ticket_this_week_is_high_risk():
    result = triage("", "What the fuck is wrong with you people", recent_contacts=3)
    assert result.risk.value == "high"
    assert {"abusive_language", "repeat_contact", "negative_sentiment"} <= codes(result.risk)


def test_repeat_contacts_raise_the_risk_from_two_tickets_in_a_week():
    body = "订单什么时候发货？"
    assert triage("", body, recent_contacts=1).risk.value == "none"
    two = triage("", body, recent_contacts=2)
    assert two.risk.value == "low"
    assert evidence(two.risk, "repeat_contact") == [""]
    # three tickets and an unhappy tone: stronger
    assert triage("", "订单还没发货，太失望了", recent_contacts=3).risk.value == "medium"


@pytest.mark.parametrize(("body", "said"), [
    ("这已经是第三次了", "第三次"),
    ("我已经反映过多次", "多次"),
    ("我已经打了五次电话", "打了五次"),
    ("This is the third time I write", "third time"),
    ("The router is still not fixed", "still not fixed"),
])
def test_the_customer_saying_it_happened_before_is_a_risk_signal(body: str, said: str):
    assert evidence(triage("", body).risk, "repeated_issue") == [said]


def test_a_plain_question_has_no_risk():
    result = triage("请问", "怎么修改收货地址？")
    assert result.risk.value == "none"
    assert codes(result.risk) == {"no_signal"}


# ----------------------------------------------------------------------------------------------- category


@pytest.mark.parametrize(("subject", "body", "category"), [
    ("", "我不想投诉，只想问一下怎么退货", "service-request"),
    ("", "I want a refund for order 1234", "service-request"),
    ("", "请帮我开发票", "service-request"),
    ("", "APP一直闪退，无法登录", "fault"),
    ("", "I cannot log in, the app shows an error", "fault"),
    ("", "客服态度太差了，我要投诉", "complaint"),
    ("", "Your agent was rude, this is unacceptable", "complaint"),
    ("", "充电的时候冒烟了，还闻到焦味", "emergency"),
    ("", "The heater caught fire last night", "emergency"),
    ("", "请问你们的会员多少钱一年？", "consultation"),
    ("", "How do I change my plan?", "service-request"),
])
def test_category_from_keywords_in_both_languages(subject: str, body: str, category: str):
    assert triage(subject, body).category.value == category


def test_a_safety_word_makes_it_an_emergency_whatever_else_is_said():
    result = triage("投诉", "我要投诉！你们卖的充电宝起火了，质量太差，要退款")
    assert result.category.value == "emergency"
    assert "起火" in evidence(result.category, "emergency_keywords")
    assert result.priority.value == "urgent"


@pytest.mark.parametrize("body", [
    "The smoke detector keeps beeping",
    "My Fire TV stick shows a black screen",
    "电脑中毒了，一直弹窗",
    "快递一直不到，我要气炸了",
])
def test_products_and_sayings_with_a_safety_word_are_not_emergencies(body: str):
    assert triage("", body).category.value != "emergency"


def test_subject_words_weigh_more_than_body_words():
    assert triage("退款", "另外app有点卡顿").category.value == "service-request"
    assert triage("app有点卡顿", "另外想问下退款").category.value == "fault"


def test_a_category_word_the_customer_does_not_want_does_not_count():
    result = triage("", "I don't want a refund, the app keeps crashing")
    assert result.category.value == "fault"
    assert "refund" not in evidence(result.category, "category_keywords")


def test_confidence_reflects_the_margin_between_categories():
    clear = triage("App故障", "打不开，一直报错")
    torn = triage("", "退款的事情我要投诉")
    assert clear.category.confidence > torn.category.confidence
    assert torn.category.confidence == 0.5


def test_no_evidence_means_consultation_with_low_confidence():
    result = triage("", "你好")
    assert result.category.value == "consultation"
    assert result.category.confidence <= 0.3
    assert codes(result.category) == {"no_signal"}


# ----------------------------------------------------------------------------------------------- priority


def test_emergency_is_urgent():
    result = triage("", "店里的设备漏电，有人触电受伤了")
    assert result.category.value == "emergency"
    assert result.priority.value == "urgent"


def test_vip_and_core_customers_are_one_step_higher_but_never_above_urgent():
    body = "怎么修改收货地址"
    assert triage("", body).priority.value == "normal"
    for tier in ("vip", "core"):
        raised = triage("", body, tier=tier)
        assert raised.priority.value == "high"
        assert "vip_customer" in codes(raised.priority)
    urgent = triage("", "手机冒烟了", tier="vip")
    assert urgent.priority.value == "urgent"
    assert "vip_customer" not in codes(urgent.priority)


def test_high_risk_makes_priority_at_least_high():
    result = triage("", "How do I change my address? Otherwise I will contact my lawyer")
    assert result.priority.value == "high"
    assert "high_risk" in codes(result.priority)


def test_urgency_words_make_priority_at_least_high_unless_negated():
    assert triage("", "请尽快处理退款").priority.value == "high"
    assert "urgency_words" in codes(triage("", "Please refund me ASAP").priority)
    assert triage("", "不急，退款慢慢处理就行").priority.value == "normal"


def test_thanks_alone_and_a_calm_suggestion_are_low_priority():
    assert triage("", "非常感谢你们的帮助！").priority.value == "low"
    suggestion = triage("建议", "希望app能增加夜间模式")
    assert suggestion.priority.value == "low"
    assert codes(suggestion.priority) == {"suggestion_only"}


# ---------------------------------------------------------------------------------------------- sentiment


def test_thanks_read_positive_in_both_languages():
    for body in ("非常感谢你们的耐心帮助，问题已经解决了！", "Thank you so much, great service and very helpful"):
        result = triage("", body)
        assert result.sentiment.value == "positive", body
        assert result.sentiment_score > 0.3


def test_intensifiers_strengthen_and_negations_flip():
    assert triage("", "非常失望").sentiment_score < triage("", "失望").sentiment_score < 0
    assert triage("", "我不太满意").sentiment.value == "negative"
    assert evidence(triage("", "I'm not happy with this").sentiment, "negative_words") == ["not happy"]
    assert triage("", "not bad").sentiment_score > 0


def test_exclamation_marks_and_capitals_strengthen_and_repeated_question_marks_read_as_exasperation():
    calm, loud = triage("", "太差了。"), triage("", "太差了！！！")
    assert loud.sentiment_score < calm.sentiment_score
    assert evidence(loud.sentiment, "emphatic_punctuation") == ["！！！"]
    asked = triage("", "为什么还没发货？？？")
    assert asked.sentiment_score < 0
    shouted = triage("", "This is RIDICULOUS")
    assert evidence(shouted.sentiment, "all_caps") == ["RIDICULOUS"]


def test_a_question_of_the_form_a_not_a_is_not_a_negation():
    result = triage("", "你们是不是骗子？")
    assert result.sentiment.value == "negative"
    assert "abusive_language" in codes(result.risk)


def test_polite_closing_thanks_do_not_make_a_request_positive():
    assert triage("", "我的快递还没到，请帮忙查一下，谢谢").sentiment.value == "neutral"


# -------------------------------------------------------------------------------------------- mixed, edges


def test_a_mixed_chinese_and_english_message():
    result = triage("App问题", "你们的app又crash了，this is the third time！！！再不修好我就找lawyer")
    assert result.category.value == "fault"
    assert result.risk.value == "high"
    assert evidence(result.risk, "lawyer_threat") == ["lawyer"]
    assert evidence(result.risk, "repeated_issue") == ["third time"]


def test_empty_message():
    result = triage("", "")
    assert (result.category.value, result.priority.value, result.sentiment.value, result.risk.value) == (
        "consultation", "normal", "neutral", "none")
    assert result.sentiment_score == 0


@pytest.mark.parametrize("prefix", ["买了5㎏的米，", "e\u0301 ", "ﬁne ", "①② "])
def test_evidence_is_exact_after_characters_that_fold_to_more_or_fewer_characters(prefix: str):
    result = triage("", f"{prefix}我要起诉")
    assert evidence(result.risk, "lawyer_threat") == ["起诉"]


def test_unknown_tier_and_negative_contact_counts_are_refused():
    with pytest.raises(ValueError, match="tier"):
        triage("", "hi", tier="gold")
    with pytest.raises(ValueError, match="recent_contacts"):
        triage("", "hi", recent_contacts=-1)


# ----------------------------------------------------------------------------------------------- contract

MESSAGES = [
    ("", "我要去12315投诉你们"), ("退款", "我不想投诉，只想问一下怎么退货"), ("", "I will sue you"),
    ("", "你们这群骗子！！！"), ("建议", "希望app能增加夜间模式"), ("", "非常感谢"), ("紧急", "手机冒烟了"),
    ("", "WHERE IS MY ORDER???"), ("", "我快崩溃了，第三次了"), ("", ""), ("", "不急"), ("", "not bad at all"),
]


def test_confidences_are_between_0_and_1_with_two_decimals():
    for subject, body in MESSAGES:
        for tier in TIERS:
            result = triage(subject, body, recent_contacts=3, tier=tier)
            for finding in findings(result):
                assert 0 <= finding.confidence <= 1
                assert finding.confidence == round(finding.confidence, 2)
                assert finding.reasons
            assert -1 <= result.sentiment_score <= 1


def test_every_reason_code_is_documented_in_the_module_docstring():
    docstring = triage_module.__doc__ or ""
    documented = set(re.findall(r"``([a-z_]+)``", docstring))
    assert documented >= REASON_CODES
    used = {reason.code for subject, body in MESSAGES for tier in TIERS
            for finding in findings(triage(subject, body, recent_contacts=3, tier=tier))
            for reason in finding.reasons}
    assert used <= REASON_CODES


def test_the_quick_folding_of_common_characters_is_the_exact_one():
    # Common text skips NFKC's full algorithm; it must fold every such character exactly as NFKC would.
    for code in range(0x10000):
        char = chr(code)
        if triage_module._PLAIN.fullmatch(char):
            assert triage_module._fold_plain(char) == triage_module._fold(char), hex(code)


@settings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=80), body=st.text(max_size=400), recent_contacts=st.integers(0, 10),
       tier=st.sampled_from(TIERS))
def test_any_text_gets_a_triage_from_the_allowed_values(subject: str, body: str, recent_contacts: int, tier: str):
    result = triage(subject, body, recent_contacts=recent_contacts, tier=tier)
    assert result.category.value in CATEGORIES
    assert result.priority.value in PRIORITIES
    assert result.sentiment.value in SENTIMENTS
    assert result.risk.value in RISKS
    assert -1 <= result.sentiment_score <= 1
    for finding in findings(result):
        assert 0 <= finding.confidence <= 1
        for reason in finding.reasons:
            assert reason.code in REASON_CODES
            assert reason.evidence in f"{subject}\n{body}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["我要", "去", "１２３１５", "12315", "不想", "投诉", "律师", "sue", "I", "don't", " ",
                                 "，", "……", "！！", "ﬁ", "e\u0301", "第三次", "骗子", "not", "happy", "很", "满意"]),
                max_size=30))
def test_evidence_is_always_the_customers_own_words(pieces: list[str]):
    body = "".join(pieces)
    result = triage("", body)
    for finding in findings(result):
        for reason in finding.reasons:
            assert reason.evidence in body
    # and exactly the words that triggered the signal, wherever they fall after characters that change length
    said = {"regulator_threat": "12315", "lawyer_threat": "律师", "repeated_issue": "第三次",
            "abusive_language": "骗子"}
    for reason in result.risk.reasons:
        if reason.code in said:
            assert triage_module._fold(reason.evidence) == said[reason.code]
