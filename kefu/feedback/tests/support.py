"""Helpers for the feedback tests: a ticket its customer closed, built through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from kefu.accounts.models import Department, User
from kefu.feedback import services
from kefu.feedback.models import Survey
from kefu.notifications.models import Notification
from kefu.testing import factories
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ALL_FIVES = {"attitude": "5", "speed": "5", "solution": "5", "overall": "5", "nps": "10", "comment": ""}


def closed_ticket(owner: User, *, team: Department | None = None, **kwargs: Any) -> Ticket:
    kwargs.setdefault("customer_", factories.customer(language="en"))
    ticket = factories.ticket(team=team, **kwargs) if team else factories.ticket(**kwargs)
    ticket_services.accept_ticket(ticket, actor=owner)
    ticket_services.verify_fix(ticket, actor=owner)
    ticket_services.resolve_ticket(ticket, actor=owner, summary="Fixed.")
    ticket.refresh_from_db()
    return ticket_services.confirm_resolution(ticket, actor=ticket.customer.user)


def survey_link(ticket: Ticket, template: str = "survey") -> str:
    """The path of the link the customer received (the last one of that kind)."""
    notification = Notification.objects.filter(ticket_id=ticket.pk, template=template).order_by("-pk").first()
    assert notification is not None, f"no {template} message for #{ticket.pk}"
    url = str(notification.context["survey_url"])
    return url[url.index("/s/"):]


def answered(ticket: Ticket, answers: dict[str, str]) -> Survey:
    """Send the due surveys, then answer this ticket's as its customer would."""
    services.send_due_surveys()
    response = Client().post(survey_link(ticket), answers)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Survey.objects.get(ticket=ticket)
