"""Triage's codes and values in words, for the agent (the ticket page, a hand-off ticket's summary)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kefu.tickets.models import Priority

REASONS = {
    "emergency_keywords": gettext_lazy("safety or outage words"),
    "category_keywords": gettext_lazy("words of this kind of request"),
    "question_words": gettext_lazy("a question"),
    "no_signal": gettext_lazy("nothing specific to go on"),
    "past_tickets": gettext_lazy("learnt from past tickets' categories"),
    "category_priority": gettext_lazy("the category's usual priority"),
    "urgency_words": gettext_lazy("asks for speed"),
    "high_risk": gettext_lazy("high escalation risk"),
    "thanks_only": gettext_lazy("only thanks"),
    "suggestion_only": gettext_lazy("only a suggestion"),
    "vip_customer": gettext_lazy("VIP or core customer"),
    "negative_words": gettext_lazy("negative words"),
    "positive_words": gettext_lazy("positive words"),
    "emphatic_punctuation": gettext_lazy("emphatic punctuation"),
    "all_caps": gettext_lazy("shouting in capitals"),
    "regulator_threat": gettext_lazy("threatens to go to a regulator or consumer association"),
    "media_threat": gettext_lazy("threatens to go to the media"),
    "lawyer_threat": gettext_lazy("threatens legal action"),
    "abusive_language": gettext_lazy("abusive language"),
    "desperate_language": gettext_lazy("desperate language"),
    "repeated_issue": gettext_lazy("says it happened before"),
    "repeat_contact": gettext_lazy("several tickets in the last 7 days"),
    "negative_sentiment": gettext_lazy("negative tone"),
}
VALUES = {
    "consultation": gettext_lazy("Consultation"), "service-request": gettext_lazy("Service request"),
    "complaint": gettext_lazy("Complaint / suggestion"), "fault": gettext_lazy("Fault"),
    "emergency": gettext_lazy("Emergency"), **dict(Priority.choices),
    "negative": gettext_lazy("negative"), "neutral": gettext_lazy("neutral"), "positive": gettext_lazy("positive"),
    "none": gettext_lazy("none"), "low": gettext_lazy("low"), "medium": gettext_lazy("medium"),
    "high": gettext_lazy("high"),
}


def value_label(value: str) -> str:
    return str(VALUES.get(value, value))
