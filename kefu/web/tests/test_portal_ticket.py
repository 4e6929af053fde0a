"""Following a request: the customer's list, the ticket page by account and by tracking link,
and the customer's actions on it (reply, choose, confirm, object)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.models import Message, Ticket
from kefu.tickets.services import Upload
from kefu.tickets.states import Status

pytestmark = pytest.mark.django_db


def _track(ticket: Ticket, suffix: str = "") -> str:
    return reverse("web:track", args=[ticket.tracking_token]) + suffix


def _portal(ticket: Ticket, suffix: str = "") -> str:
    return reverse("web:portal_ticket", args=[ticket.pk]) + suffix


def _resolved_ticket():
    agent = factories.staff(name="Li Wei")
    ticket = factories.worked_ticket(agent)
    services.verify_fix(ticket, actor=agent)
    services.resolve_ticket(ticket, actor=agent, summary="Password reset")
    return ticket


# ---------------------------------------------------------------------------------------------- list


def test_customer_sees_own_tickets_newest_first_with_status(client):
    customer = factories.customer()
    older = factories.ticket(customer, subject="Older problem")
    newer = factories.ticket(customer, subject="Newer problem")
    factories.ticket(subject="Somebody else's problem")
    client.force_login(customer.user)
    text = client.get(reverse("web:portal_home")).content.decode()
    assert text.index("Newer problem") < text.index("Older problem")
    assert "Somebody else" not in text
    assert "Received" in text and f"#{older.number}" in text and f"#{newer.number}" in text
    assert reverse("web:portal_submit") in text


def test_customer_without_tickets_sees_empty_state(client):
    client.force_login(factories.customer().user)
    assert "You have no requests yet." in client.get(reverse("web:portal_home")).content.decode()


def test_portal_needs_sign_in(client):
    response = client.get(reverse("web:portal_home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_staff_visiting_portal_are_sent_to_console(client):
    client.force_login(factories.staff(Role.SUPERVISOR))
    response = client.get(reverse("web:portal_home"))
    assert response.status_code == 302 and response["Location"] == reverse("web:console_tickets")


def test_portal_home_query_count_does_not_grow_with_tickets(client):
    customer = factories.customer()
    factories.ticket(customer, category=None)
    client.force_login(customer.user)
    client.get(reverse("web:portal_home"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("web:portal_home"))
    for _ in range(19):
        factories.ticket(customer, auto_assign=True)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(reverse("web:portal_home"))
    assert response.content.decode().count("/portal/tickets/") >= 40
    assert len(one) == len(twenty)


# ---------------------------------------------------------------------------------------------- page


def test_tracking_link_opens_ticket_without_account(client):
    agent = factories.staff(name="Li Wei")
    ticket = factories.ticket(subject="Invoice missing", description="I need the March invoice.")
    services.accept_ticket(ticket, actor=agent)
    services.reply_to_customer(ticket, "Sending it today.", actor=agent)
    response = client.get(_track(ticket))
    assert response.status_code == 200
    text = response.content.decode()
    assert f"#{ticket.number}" in text and "Invoice missing" in text
    assert "In progress" in text and "Your contact person: Li Wei" in text
    assert "I need the March invoice." in text and "Sending it today." in text
    assert "We received your request." in text and "Li Wei is looking after your request." in text
    assert 'aria-current="step">In progress' in text
    assert 'action="' + _track(ticket, "reply/") + '"' in text


def test_wrong_tracking_token_is_404(client):
    factories.ticket()
    assert client.get("/t/not-a-real-token/").status_code == 404
    assert client.post("/t/not-a-real-token/confirm/").status_code == 404


def test_an_address_trying_tracking_links_is_paused_after_twenty_misses(client):
    ticket = factories.ticket(subject="Invoice missing")
    for n in range(20):
        assert client.get(f"/t/guess-{n}/").status_code == 404
    paused = client.get(_track(ticket), HTTP_ACCEPT_LANGUAGE="en")  # even a real link, from that address
    assert paused.status_code == 429 and "Too many attempts" in paused.content.decode()
    assert client.post(_track(ticket, "confirm/")).status_code == 429
    # The customer's own network is not the guesser's.
    assert client.get(_track(ticket), REMOTE_ADDR="10.4.4.4").status_code == 200


def test_customer_cannot_see_another_customers_ticket(client):
    mine = factories.customer()
    theirs = factories.ticket(subject="Private matter")
    client.force_login(mine.user)
    forbidden = client.get(_portal(theirs))
    missing = client.get(reverse("web:portal_ticket", args=[theirs.pk + 1000]))
    assert forbidden.status_code == missing.status_code == 404
    assert client.post(_portal(theirs, "reply/"), {"body": "hi"}).status_code == 404
    assert Message.objects.filter(ticket=theirs).count() == 1


def test_signed_in_customer_opens_own_ticket(client):
    ticket = factories.ticket(subject="Login trouble")
    client.force_login(ticket.customer.user)
    response = client.get(_portal(ticket))
    assert response.status_code == 200 and "Login trouble" in response.content.decode()


def test_internal_note_never_shown_on_tracking_page(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    note = services.add_internal_note(ticket, "Customer is on the watch list", actor=agent,
                                      uploads=[Upload("internal.txt", b"secret", "text/plain")])
    text = client.get(_track(ticket)).content.decode()
    assert "watch list" not in text and "internal.txt" not in text
    client.force_login(ticket.customer.user)
    assert "watch list" not in client.get(_portal(ticket)).content.decode()
    note_file = note.attachments.get()
    assert client.get(_track(ticket, f"files/{note_file.pk}/")).status_code == 404
    assert client.get(_portal(ticket, f"files/{note_file.pk}/")).status_code == 404


def test_ticket_page_query_count_does_not_grow_with_messages(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    client.get(_track(ticket))
    with CaptureQueriesContext(connection) as one:
        client.get(_track(ticket))
    for i in range(7):
        services.reply_to_customer(ticket, f"Reply {i}", actor=agent,
                                   uploads=[Upload(f"r{i}.txt", b"data", "text/plain")])
        services.add_customer_message(ticket, f"Answer {i}", actor=ticket.customer.user)
    with CaptureQueriesContext(connection) as fifteen:
        response = client.get(_track(ticket))
    assert response.content.decode().count('class="msg ') == 15
    assert len(one) == len(fifteen)


# ---------------------------------------------------------------------------------------------- actions


def test_customer_replies_with_a_file_through_tracking_link(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    services.change_status(ticket, "wait_customer", actor=agent)
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = client.post(_track(ticket, "reply/"), {"body": "Here is the receipt.", "attachments": [upload]})
    assert response.status_code == 302 and response["Location"] == _track(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    page = client.get(_track(ticket)).content.decode()
    assert "Your message was sent." in page and "Here is the receipt." in page and "receipt.pdf" in page


def test_empty_reply_is_refused_with_a_message(client):
    ticket = factories.ticket()
    client.force_login(ticket.customer.user)
    response = client.post(_portal(ticket, "reply/"), {"body": "  "}, follow=True)
    assert "The message is empty." in response.content.decode()
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_actions_refuse_get(client):
    ticket = factories.ticket()
    for action in ("reply/", "choose/", "confirm/", "object/"):
        assert client.get(_track(ticket, action)).status_code == 405


def test_customer_chooses_solution_then_confirms_resolution(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    _first, second = services.propose_solutions(ticket, [
        {"title": "Refund to card", "description": "Money back in 3 days", "tradeoffs": "Slower"},
        {"title": "Store credit", "tradeoffs": "Instant"},
    ], actor=agent)
    client.force_login(ticket.customer.user)
    page = client.get(_portal(ticket)).content.decode()
    assert "Refund to card" in page and "Money back in 3 days" in page and "Slower" in page
    assert page.count("Choose this") == 2

    response = client.post(_portal(ticket, "choose/"), {"option": second.pk}, follow=True)
    text = response.content.decode()
    assert "You chose: Store credit." in text and "Your choice" in text and "Choose this" not in text
    ticket.refresh_from_db()
    assert ticket.chosen_solution == second

    services.verify_fix(ticket, actor=agent)
    services.resolve_ticket(ticket, actor=agent)
    page = client.get(_portal(ticket)).content.decode()
    assert "Confirm it is solved" in page and "Still not solved" in page
    response = client.post(_portal(ticket, "confirm/"), follow=True)
    assert "Your request is closed." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    page = client.get(_portal(ticket)).content.decode()
    assert 'name="body"' not in page and "This request is finished." in page


def test_objection_requires_reason_and_reopens(client):
    ticket = _resolved_ticket()
    refused = client.post(_track(ticket, "object/"), {"reason": " "}, follow=True)
    assert "Please tell us what is still wrong." in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED

    accepted = client.post(_track(ticket, "object/"), {"reason": "Still cannot log in"}, follow=True)
    text = accepted.content.decode()
    assert "We have reopened your request" in text and "Still cannot log in" in text
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.reopened_count == 1
    assert ticket.reevaluation_due_at is not None


def test_confirming_an_unresolved_ticket_is_refused(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    response = client.post(_track(ticket, "confirm/"), follow=True)
    assert "it cannot be confirmed now" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_choosing_an_unknown_option_is_refused(client):
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    response = client.post(_track(ticket, "choose/"), {"option": "abc"}, follow=True)
    assert "Please choose one of the solutions." in response.content.decode()


# ---------------------------------------------------------------------------------------------- files


def test_attachment_downloads_safely_by_account_and_by_tracking_link(client):
    ticket = factories.ticket(uploads=[Upload("报告 final.txt", b"hello", "text/plain")])
    attachment = Message.objects.get(ticket=ticket).attachments.get()
    response = client.get(_track(ticket, f"files/{attachment.pk}/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E6%8A%A5%E5%91%8A%20final.txt" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    client.force_login(ticket.customer.user)
    signed_in = client.get(_portal(ticket, f"files/{attachment.pk}/"))
    assert signed_in.status_code == 200
    # Reading the stream to its end lets the test client close the file (closing it by hand would
    # also fire request_finished and close the test's database connection).
    assert b"".join(signed_in.streaming_content) == b"hello"


def test_attachment_of_another_ticket_is_404(client):
    mine = factories.ticket()
    other = factories.ticket(uploads=[Upload("x.txt", b"x", "text/plain")])
    attachment = Message.objects.get(ticket=other).attachments.get()
    assert client.get(_track(mine, f"files/{attachment.pk}/")).status_code == 404


def test_only_intake_sign_in_tracking_and_survey_routes_of_the_portal_are_open_without_account():
    from kefu.web.portal.urls import urlpatterns

    open_routes = {p.name for p in urlpatterns if not getattr(p.callback, "login_required", True)}
    assert open_routes == {
        "portal_submit", "portal_submitted", "portal_login_link", "portal_login_link_confirm",
        "help_center", "help_article", "help_feedback",
        "track", "track_reply", "track_choose", "track_confirm", "track_object", "track_attachment",
        "survey", "survey_panel",
    }
