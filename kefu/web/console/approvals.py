"""The console's approvals pages (placeholder until built)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []


def describe_event(type_: str, payload: dict[str, Any]) -> str | None:
    """The timeline's sentence for one of this area's events; None for any other event."""
    return None


def ticket_panel(request: Any, ticket: Any) -> dict[str, Any]:
    """Context for this area's card on the ticket page (templates/web/console/approvals/_ticket_panel.html)."""
    return {}
