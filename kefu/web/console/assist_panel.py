"""The agent-assist panel beside a ticket: the machine's triage in words, similar cases, articles, templates."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from kefu.assist import selectors
from kefu.tickets.models import Priority, Ticket

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
JUDGEMENTS = (("category", gettext_lazy("Category")), ("priority", gettext_lazy("Priority")),
              ("sentiment", gettext_lazy("Sentiment")), ("risk", gettext_lazy("Escalation risk")))


def triage_rows(ticket: Ticket) -> list[dict[str, Any]]:
    """The stored triage as the agent reads it: judgement, value, confidence, reasons with the customer's words."""
    rows = []
    for name, label in JUDGEMENTS:
        finding = ticket.triage.get(name)
        if not finding:
            continue
        reasons = [f"{REASONS.get(code, code)}" + (f" “{evidence}”" if evidence else "")
                   for code, evidence in finding.get("reasons", [])]
        rows.append({"name": name, "label": label, "value": VALUES.get(finding["value"], finding["value"]),
                     "raw": finding["value"], "confidence": round(float(finding.get("confidence", 0)) * 100),
                     "reasons": reasons})
    return rows


def assist_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    tracking = request.build_absolute_uri(f"/t/{ticket.tracking_token}/")
    return {"triage_rows": triage_rows(ticket),
            "similar_cases": selectors.similar_cases(request.user, ticket),
            "suggested_articles": selectors.suggested_articles(request.user, ticket),
            "suggested_templates": selectors.suggested_templates(request.user, ticket, tracking_url=tracking)}
