"""Routing rules (first match, the "test this rule" explanation) and queue alert thresholds, pure."""

from __future__ import annotations

from kefu.routing import alerts, rules
from kefu.routing.alerts import AlertKind, QueueLoad
from kefu.routing.rules import RoutingFacts, Rule, RuleConditions

REFUND = RoutingFacts(category="complaint", priority="high", channel="email", language="zh-hans", tier="vip",
                      tags=frozenset({"refund"}), text="订单 12345 要求退款\nPlease refund")


def test_an_empty_rule_matches_anything_and_the_first_match_wins() -> None:
    vip = Rule("vip", RuleConditions(tiers=frozenset({"vip", "core"})))
    catch_all = Rule("all", RuleConditions())
    assert rules.first_match([vip, catch_all], REFUND).key == "vip"  # type: ignore[union-attr]
    assert rules.first_match([vip, catch_all], RoutingFacts(tier="standard")).key == "all"  # type: ignore[union-attr]
    assert rules.first_match([vip], RoutingFacts(tier="standard")) is None


def test_every_condition_must_hold_and_the_explanation_says_which_failed() -> None:
    conditions = RuleConditions(channels=frozenset({"email", "web"}), languages=frozenset({"en"}),
                                keywords=("退款", "chargeback"), tags=frozenset({"refund", "billing"}))
    checks = {c.condition: c for c in rules.explain(conditions, REFUND)}
    assert set(checks) == {"channels", "languages", "keywords", "tags"}  # conditions left empty are not listed
    assert checks["channels"].ok and checks["keywords"].ok and checks["tags"].ok
    assert not checks["languages"].ok and checks["languages"].actual == "zh-hans"
    assert not rules.matches(conditions, REFUND)
    assert rules.matches(RuleConditions(languages=frozenset({"zh"})), REFUND)  # zh matches zh-hans


def test_keywords_match_case_insensitively_anywhere_in_subject_or_description() -> None:
    assert rules.matches(RuleConditions(keywords=("REFUND",)), REFUND)
    assert not rules.matches(RuleConditions(keywords=("invoice", " ")), REFUND)


def load(waiting: int, longest: float, lane: float = 0.0) -> QueueLoad:
    return QueueLoad(queue_id=1, waiting=waiting, longest_wait_s=longest, max_waiting=20, max_wait_s=1800,
                     longest_lane_wait_s=lane, max_lane_wait_s=600)


def test_thresholds_are_strictly_more_than_twenty_waiting_and_a_wait_over_the_target() -> None:
    assert alerts.crossed(load(20, 1800)) == set()
    assert alerts.crossed(load(21, 10)) == {AlertKind.TOO_MANY_WAITING}
    assert alerts.crossed(load(1, 1801)) == {AlertKind.WAIT_TOO_LONG}
    assert alerts.crossed(load(1, 700, lane=601)) == {AlertKind.WAIT_TOO_LONG}  # the priority lane's target
    assert alerts.crossed(QueueLoad(1, 500, 99_999, max_waiting=0, max_wait_s=0)) == set()  # switched off


def test_an_alert_opens_once_and_closes_when_the_queue_is_back_under() -> None:
    opened, closed = alerts.alert_changes([load(25, 60)], {})
    assert [(lo.queue_id, kind) for lo, kind in opened] == [(1, AlertKind.TOO_MANY_WAITING)] and closed == []
    still_open = {(1, AlertKind.TOO_MANY_WAITING): object()}
    assert alerts.alert_changes([load(30, 60)], still_open) == ([], [])
    assert alerts.alert_changes([load(3, 60)], still_open) == ([], [(1, AlertKind.TOO_MANY_WAITING)])
