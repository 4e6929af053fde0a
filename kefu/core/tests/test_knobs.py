from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from kefu.core.knobs import knob


def test_settings_win_then_the_environment_read_as_the_defaults_type_then_the_default(settings, monkeypatch):
    assert knob("SURVEY_DELAY_HOURS", 2) == 2
    monkeypatch.setenv("KEFU_SURVEY_DELAY_HOURS", "5")
    assert knob("SURVEY_DELAY_HOURS", 2) == 5
    monkeypatch.setenv("KEFU_QA_SAMPLE_RATE", "0.3")
    assert knob("QA_SAMPLE_RATE", 0.2) == 0.3
    monkeypatch.setenv("KEFU_SOMETHING_ON", "no")
    assert knob("SOMETHING_ON", True) is False
    settings.KEFU = {**settings.KEFU, "SURVEY_DELAY_HOURS": 1}
    assert knob("SURVEY_DELAY_HOURS", 2) == 1


def test_a_value_of_the_wrong_type_names_the_variable(monkeypatch):
    monkeypatch.setenv("KEFU_SURVEY_DELAY_HOURS", "two")
    with pytest.raises(ImproperlyConfigured, match="KEFU_SURVEY_DELAY_HOURS='two' is not a int"):
        knob("SURVEY_DELAY_HOURS", 2)
