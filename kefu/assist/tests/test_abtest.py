from __future__ import annotations

import pytest

from kefu.assist.abtest import compare


def test_a_clear_difference_on_enough_tickets_is_significant():
    result = compare(80, 100, 50, 100)
    assert result.enough_data and result.significant and result.better == "a"
    assert result.z == pytest.approx(4.45, abs=0.01)
    assert result.p_value is not None and result.p_value < 0.001


def test_the_same_rates_are_not_significant():
    result = compare(30, 60, 31, 60)
    assert result.enough_data and not result.significant and result.better is None
    assert result.p_value is not None and result.p_value > 0.8


def test_small_samples_give_no_verdict_even_when_rates_differ():
    result = compare(9, 10, 1, 10)
    assert not result.enough_data and not result.significant and result.better is None


def test_no_uses_and_identical_extremes():
    assert compare(0, 0, 5, 30).rate_a is None
    assert compare(25, 25, 25, 25).p_value == 1.0
