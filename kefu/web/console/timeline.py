"""Readable, translatable sentences for the ticket timeline (one per event type)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.customers.models import Channel
from kefu.sla.models import clock_label
from kefu.tickets.models import STATUS_LABELS, TicketEvent
from kefu.tickets.states import Status


def identity_method_label(method: str) -> str:
    labels = {"order": _("order number"), "phone": _("phone number"), "account": _("account number")}
    return str(labels.get(method, method))


def _status(value: Any) -> str:
    try:
        return str(STATUS_LABELS[Status(value)])
    except ValueError:
        return str(value)


def _field_label(name: str) -> str:
    from kefu.tickets.models import Ticket

    if name == "tags":
        return _("tags")
    try:
        return str(getattr(Ticket._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # an unknown field name is shown as it was recorded
        return name


def _clock(payload: dict[str, Any]) -> str:
    return clock_label(payload.get("clock", ""), payload.get("name", ""))


def _moment(iso: str | None) -> str:
    if not iso:
        return "—"
    return date_format(timezone.localtime(dt.datetime.fromisoformat(iso)), "SHORT_DATETIME_FORMAT")


def _channel(value: str) -> str:
    return str(dict(Channel.choices).get(value, value))


def _call(p: dict[str, Any]) -> str:
    phase = p.get("phase")
    if phase == "ringing":
        return _("Incoming call from %(caller)s.") % {"caller": p.get("caller", "")}
    if phase == "answered":
        return _("Call from %(caller)s answered by %(agent)s.") % {"caller": p.get("caller", ""),
                                                                     "agent": p.get("agent") or _("an agent")}
    text = _("Call from %(caller)s ended after %(seconds)s s.") % {"caller": p.get("caller", ""),
                                                                    "seconds": p.get("duration_s", "?")}
    if p.get("recording_url"):
        text += " " + _("Recording: %(url)s") % {"url": p["recording_url"]}
    return text


ROUTING_REASONS = {
    "intake": gettext_lazy("routed on arrival"), "routed": gettext_lazy("routed from the queue"),
    "agent_available": gettext_lazy("the agent became available"), "get_next": gettext_lazy("taken with “Get next”"),
}
STRATEGY_NAMES = {
    "round_robin": gettext_lazy("round robin"), "least_loaded": gettext_lazy("least loaded"),
    "best_skill": gettext_lazy("skill match"), "sticky": gettext_lazy("returning customer"),
}


def _routing_reason(p: dict[str, Any]) -> str:
    """e.g. "(routed on arrival: skill match 0.92, load 3/25)" for the routing engine's assignments."""
    if "load" not in p:
        return ""
    parts = []
    if p.get("sticky"):
        parts.append(str(STRATEGY_NAMES["sticky"]))
    elif "strategy" in p:
        name = str(STRATEGY_NAMES.get(p["strategy"], p["strategy"]))
        parts.append(f"{name} {p['score']:.2f}" if p.get("score") is not None else name)
    if p.get("load"):
        parts.append(_("load %(load)s") % {"load": p["load"]})
    reason = ROUTING_REASONS.get(p.get("reason", ""))
    head = f"{reason}: " if reason else ""
    return f"({head}{', '.join(parts)})"


def describe(event: TicketEvent) -> str:
    """One sentence saying what happened; the actor and time are shown next to it."""
    p = event.payload or {}
    match event.type:
        case "created":
            return _("Ticket opened: %(subject)s") % {"subject": p.get("subject", "")}
        case "assigned":
            if p.get("before"):
                text = _("Owner changed from %(before)s to %(after)s.") % {"before": p["before"],
                                                                            "after": p.get("after", "")}
            else:
                text = _("Assigned to %(after)s.") % {"after": p.get("after", "")}
            return f"{text} {_routing_reason(p)}".strip()
        case "transferred":
            text = _("Transferred from %(before)s to %(after)s.") % {
                "before": " / ".join(x for x in (p.get("from_owner"), p.get("from_team")) if x) or "—",
                "after": " / ".join(x for x in (p.get("to_owner"), p.get("to_team")) if x) or "—"}
            return text + (" " + _("Reason: %(reason)s") % {"reason": p["note"]} if p.get("note") else "")
        case "status_changed":
            text = _("Status changed from “%(before)s” to “%(after)s”.") % {
                "before": _status(p.get("before")), "after": _status(p.get("after"))}
            detail = p.get("reason") or p.get("summary")
            if p.get("auto_closed"):
                text += " " + _("Closed automatically: the customer neither confirmed nor objected.")
            if p.get("merged_into"):
                text += " " + _("Merged into #%(number)s.") % {"number": p["merged_into"]}
            if detail:
                text += " " + _("Reason: %(reason)s") % {"reason": detail}
            return text
        case "replied":
            if p.get("first_response"):
                return _("Replied to the customer (first response).")
            return _("Replied to the customer.")
        case "note_added":
            return _("Added an internal note.")
        case "customer_message":
            if p.get("channel"):
                return _("The customer wrote on %(channel)s (the ticket began on %(began)s).") % {
                    "channel": _channel(p["channel"]), "began": _channel(p.get("began_on", ""))}
            return _("The customer wrote a message.")
        case "call":
            return _call(p)
        case "updated":
            changes = p.get("changes") or {}
            fields = ", ".join(_field_label(name) for name in changes)
            return _("Changed %(fields)s.") % {"fields": fields}
        case "identity_verified":
            return _("Verified the customer's identity by %(method)s.") % {
                "method": identity_method_label(p.get("method", ""))}
        case "identity_check_failed":
            return _("An identity check by %(method)s did not match.") % {
                "method": identity_method_label(p.get("method", ""))}
        case "solutions_proposed":
            return _("Proposed solutions (round %(round)s): %(titles)s") % {
                "round": p.get("round", ""), "titles": "; ".join(p.get("titles") or [])}
        case "solution_chosen":
            return _("The customer chose: %(title)s") % {"title": p.get("title", "")}
        case "fix_verified":
            if p.get("note"):
                return _("Verified the fix internally: %(note)s") % {"note": p["note"]}
            return _("Verified the fix internally.")
        case "merged_from":
            return _("Ticket #%(number)s was merged into this one.") % {"number": p.get("source", "")}
        case "sla_applied" | "sla_policy_changed":
            # Default policy names are in the catalogs (sla/migrations/0002); others show as typed.
            policy = p.get("policy") or ""
            return _("Service level: %(policy)s.") % {"policy": _(policy) if policy else "—"}
        case "sla_warning":
            return _("%(clock)s is due soon (%(due)s).") % {"clock": _clock(p), "due": _moment(p.get("due_at"))}
        case "sla_met":
            return _("%(clock)s met in time.") % {"clock": _clock(p)}
        case "sla_breached":
            return _("%(clock)s is overdue (was due %(due)s).") % {"clock": _clock(p), "due": _moment(p.get("due_at"))}
        case "escalated":
            if p.get("action") == "reroute":
                return _("The %(clock)s deadline passed with %(before)s: back in the queue for another agent.") % {
                    "clock": _clock(p), "before": p.get("before") or "—"}
            return _("Escalated after the %(clock)s deadline: %(before)s → %(after)s.") % {
                "clock": _clock(p), "before": p.get("before") or "—", "after": p.get("after", "")}
    for describe_area in _area_describers():
        sentence = describe_area(event.type, p)
        if sentence is not None:
            return sentence
    return _("Event: %(type)s") % {"type": event.type}


def _area_describers() -> list[Callable[[str, dict[str, Any]], str | None]]:
    # The collaboration, survey and QA pages describe their own events (None: not one of theirs).
    from kefu.web.console import approvals, collaboration, feedback, quality

    return [collaboration.describe_event, approvals.describe_event, feedback.describe_event, quality.describe_event]

