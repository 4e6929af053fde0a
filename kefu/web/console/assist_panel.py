"""The agent-assist panel beside a ticket: the machine's triage in words (with the page), then similar cases,
articles and templates (loaded after it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from kefu.assist import selectors
from kefu.assist.labels import REASONS, VALUES
from kefu.tickets.models import Ticket

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


def suggestions_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """What the panel loads after the page: these searches cost nearly as much as the rest of the page."""
    tracking = request.build_absolute_uri(f"/t/{ticket.tracking_token}/")
    return {"ticket": ticket,
            "similar_cases": selectors.similar_cases(request.user, ticket),
            "suggested_articles": selectors.suggested_articles(request.user, ticket),
            "suggested_templates": selectors.suggested_templates(request.user, ticket, tracking_url=tracking)}
