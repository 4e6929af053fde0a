"""The agent console's ticket page and its actions, through HTTP."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.customers.services import add_order_reference
from kefu.testing import factories
from kefu.tickets import selectors, services
from kefu.tickets.models import Attachment, Message, Ticket, TicketEvent
from kefu.tickets.states import Status

pytestmark = [
    pytest.mark.django_db,
]


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"web:{name}", kwargs={"ticket_id": ticket.pk})


@pytest.fixture
def agent(client):
    user = factories.staff(Role.AGENT, name="Li Wei")
    client.force_login(user)
    return user


def test_ticket_page_shows_header_thread_customer_and_timeline(client, agent):
    customer = factories.customer("Wang Fang", phone="13800138000", account_ref="ACC-1")
    add_order_reference(customer, "SO-778", actor=agent)
    past = factories.ticket(customer, subject="Earlier problem")
    ticket = factories.ticket(customer, subject="Cannot log in", description="Error <b>42</b>\nsecond line",
                              tags=["login"])
    services.reply_to_customer(ticket, "Please try again", actor=agent)
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert f"#{ticket.number} Cannot log in" in page
    assert "Error &lt;b&gt;42&lt;/b&gt;<br>second line" in page  # customer text is escaped
    assert "Please try again" in page
    assert "login" in page and "Li Wei" in page
    assert "Wang Fang" in page and "13800138000" in page and "ACC-1" in page and "SO-778" in page
    assert f"#{past.number} Earlier problem" in page
    assert "Ticket opened: Cannot log in" in page
    assert "Replied to the customer (first response)." in page
    assert "Not verified." in page


def test_agent_cannot_open_ticket_of_another_team_and_sees_not_found(client):
    mine, other = factories.department(), factories.department()
    agent = factories.staff(teams=(mine,))
    foreign = factories.ticket(team=other)
    client.force_login(agent)
    assert client.get(url("console_ticket", foreign)).status_code == 404
    assert client.get(reverse("web:console_ticket", kwargs={"ticket_id": 999999})).status_code == 404
    response = client.post(url("console_reply", foreign), {"body": "hello"})
    assert response.status_code == 404
    assert not Message.objects.filter(ticket=foreign, kind=Message.Kind.REPLY).exists()


def test_customer_cannot_open_console_ticket_page(client):
    ticket = factories.ticket()
    client.force_login(ticket.customer.user)
    assert client.get(url("console_ticket", ticket)).status_code == 404


def test_reply_is_shown_to_customer_note_is_not(client, agent):
    ticket = factories.ticket()
    client.post(url("console_reply", ticket), {"body": "We are on it"})
    response = client.post(url("console_note", ticket), {"body": "Customer sounds upset"}, follow=True)
    page = response.content.decode()
    assert "We are on it" in page and "Customer sounds upset" in page
    assert "Internal note" in page
    customer_view = [m.body_text for m in selectors.visible_messages(ticket.customer.user, ticket)]
    assert "We are on it" in customer_view
    assert "Customer sounds upset" not in customer_view
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.first_response_at is not None


def test_empty_reply_shows_message_and_changes_nothing(client, agent):
    ticket = factories.ticket()
    response = client.post(url("console_reply", ticket), {"body": "  "}, follow=True)
    assert "The message is empty." in response.content.decode()
    assert not Message.objects.filter(ticket=ticket, kind=Message.Kind.REPLY).exists()


def test_reply_with_files_lists_downloadable_attachments(client, agent):
    ticket = factories.ticket()
    files = [SimpleUploadedFile("日志.txt", "错误 42".encode(), content_type="text/plain"),
             SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n fake", content_type="image/png")]
    client.post(url("console_reply", ticket), {"body": "See attached", "files": files})
    stored = list(Attachment.objects.filter(message__ticket=ticket).order_by("id"))
    assert [a.filename for a in stored] == ["日志.txt", "shot.png"]
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert reverse("web:console_attachment", kwargs={"attachment_id": stored[0].pk}) in page


def test_attachment_downloads_safely_with_original_name(client, agent):
    ticket = factories.ticket()
    client.post(url("console_note", ticket), {
        "body": "log", "files": [SimpleUploadedFile("错误日志.txt", b"trace", content_type="text/plain")]})
    attachment = Attachment.objects.get(message__ticket=ticket)
    response = client.get(reverse("web:console_attachment", kwargs={"attachment_id": attachment.pk}))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"trace"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E9%94%99%E8%AF%AF%E6%97%A5%E5%BF%97.txt" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_attachment_download_requires_access(client):
    mine, other = factories.department(), factories.department()
    owner = factories.staff(teams=(other,))
    ticket = factories.ticket(team=other)
    services.add_internal_note(ticket, "secret", actor=owner,
                               uploads=[services.Upload("a.txt", b"secret", "text/plain")])
    attachment = Attachment.objects.get(message__ticket=ticket)
    attachment_url = reverse("web:console_attachment", kwargs={"attachment_id": attachment.pk})
    outsider = factories.staff(teams=(mine,))
    client.force_login(outsider)
    assert client.get(attachment_url).status_code == 404
    client.force_login(ticket.customer.user)
    assert client.get(attachment_url).status_code == 404
    client.logout()
    assert client.get(attachment_url).status_code == 302


def test_illegal_status_action_shows_clear_message(client, agent):
    ticket = factories.worked_ticket(agent)
    response = client.post(url("console_status", ticket), {"action": "reopen"}, follow=True)
    assert "it cannot be reopened now" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_unknown_status_action_is_refused(client, agent):
    ticket = factories.worked_ticket(agent)
    response = client.post(url("console_status", ticket), {"action": "explode"}, follow=True)
    assert "Unknown status action." in response.content.decode()


def test_status_buttons_follow_the_state_machine(client, agent):
    ticket = factories.worked_ticket(agent)
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert 'value="wait_customer"' in page and 'value="resolve"' in page
    assert 'value="accept"' not in page and 'value="reopen"' not in page
    assert "Resolving needs the fix to be verified internally first" in page


def test_resolve_needs_internal_verification_then_succeeds(client, agent):
    ticket = factories.worked_ticket(agent)
    response = client.post(url("console_status", ticket), {"action": "resolve"}, follow=True)
    assert "Verify the fix internally before resolving." in response.content.decode()
    client.post(url("console_verify_fix", ticket), {"note": "Tested on staging"})
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert "Fix verified by Li Wei" in page
    assert "Verified the fix internally: Tested on staging" in page
    client.post(url("console_status", ticket), {"action": "resolve", "reason": "Password reset"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_wait_on_customer_is_recorded_with_reason(client, agent):
    ticket = factories.worked_ticket(agent)
    client.post(url("console_status", ticket), {"action": "wait_customer", "reason": "Need a screenshot"})
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert "Reason: Need a screenshot" in page


def test_assign_to_another_agent(client, agent):
    colleague = factories.staff(name="Chen Jing")
    ticket = factories.ticket()
    response = client.post(url("console_assign", ticket), {"owner": colleague.pk}, follow=True)
    assert "Assigned to Chen Jing." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.owner == colleague


def test_assign_to_a_customer_is_refused(client, agent):
    ticket = factories.ticket()
    response = client.post(url("console_assign", ticket), {"owner": ticket.customer.user_id}, follow=True)
    assert "Choose an agent from the list." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.owner_id is None


def test_propose_solutions_lists_rounds_and_marks_chosen(client, agent):
    ticket = factories.worked_ticket(agent)
    client.post(url("console_solutions", ticket), {"title_1": "Reset password", "tradeoffs_1": "fast",
                                                    "title_2": "Unlock account", "title_3": ""})
    options = list(ticket.solutions.order_by("position"))
    assert [o.title for o in options] == ["Reset password", "Unlock account"]
    services.choose_solution(ticket, options[0].pk, actor=ticket.customer.user)
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert "Round 1" in page and "Chosen by the customer" in page
    assert "The customer chose: Reset password" in page


def test_proposing_no_solution_explains_the_limit(client, agent):
    ticket = factories.worked_ticket(agent)
    response = client.post(url("console_solutions", ticket), {"title_1": ""}, follow=True)
    assert "Offer between one and three solutions." in response.content.decode()


def test_identity_verification_by_order_number_is_shown(client, agent):
    customer = factories.customer()
    add_order_reference(customer, "SO-1001", actor=agent)
    ticket = factories.ticket(customer)
    response = client.post(url("console_verify_identity", ticket), {"method": "order", "value": "SO-9999"},
                           follow=True)
    assert "That does not match the customer&#x27;s record." in response.content.decode()
    response = client.post(url("console_verify_identity", ticket), {"method": "order", "value": "so-1001"},
                           follow=True)
    assert "Verified by Li Wei via order number at" in response.content.decode()


def test_update_classification_tags_and_5w1h_shows_completeness(client, agent):
    ticket = factories.ticket()
    page = client.get(url("console_ticket", ticket)).content.decode()
    assert 'value="0"' in page and "Still missing:" in page
    response = client.post(url("console_update", ticket), {
        "subject": "Login fails on app", "priority": "high", "complexity": "complex", "category": "",
        "team": "", "tags": "login, app，ios", "what": "Login fails", "when": "Since Monday",
        "where": "iOS app", "who": "", "how": "", "expected": "",
    }, follow=True)
    page = response.content.decode()
    assert "The ticket was updated." in page
    assert "5W1H completeness: 50%" in page
    assert "who / how many are affected" in page
    ticket.refresh_from_db()
    assert ticket.subject == "Login fails on app" and ticket.priority == "high"
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["app", "ios", "login"]
    assert TicketEvent.objects.filter(ticket=ticket, type="updated").exists()


def test_update_with_invalid_priority_explains(client, agent):
    ticket = factories.ticket()
    response = client.post(url("console_update", ticket), {"subject": "x", "priority": "whenever",
                                                            "complexity": "simple"}, follow=True)
    assert "Priority:" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_merge_into_ticket_of_same_customer(client, agent):
    customer = factories.customer()
    target = factories.ticket(customer, subject="Original")
    duplicate = factories.ticket(customer, subject="Duplicate")
    response = client.post(url("console_merge", duplicate), {"target": f"#{target.number}"}, follow=True)
    assert f"Merged into #{target.number}." in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED and duplicate.merged_into == target


def test_merge_into_unknown_ticket_shows_message(client, agent):
    duplicate = factories.ticket()
    response = client.post(url("console_merge", duplicate), {"target": "999999"}, follow=True)
    assert response.status_code == 200
    assert "Ticket not found." in response.content.decode()


def test_actions_refuse_get(client, agent):
    ticket = factories.ticket()
    for name in ("console_reply", "console_note", "console_status", "console_assign", "console_solutions",
                 "console_verify_fix", "console_verify_identity", "console_update", "console_merge"):
        assert client.get(url(name, ticket)).status_code == 405, name


def test_actions_require_csrf_token(agent):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    ticket = factories.ticket()
    assert strict.post(url("console_reply", ticket), {"body": "hi"}).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in strict.get(url("console_ticket", ticket)).content.decode()


def test_ticket_page_query_count_does_not_grow_with_messages_and_events(client, agent, activity_noted_once):
    customer = factories.customer()
    factories.ticket(customer)
    ticket = factories.worked_ticket(agent, customer_=customer)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url("console_ticket", ticket))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    services.reply_to_customer(ticket, "first", actor=agent,
                               uploads=[services.Upload("a.txt", b"a", "text/plain")])
    count()  # the session's first console page also records the agent's activity (once a minute)
    one = count()
    for i in range(20):
        services.add_internal_note(ticket, f"note {i}", actor=agent,
                                   uploads=[services.Upload(f"n{i}.txt", b"n", "text/plain")])
        services.reply_to_customer(ticket, f"reply {i}", actor=agent)
    assert count() == one


def test_an_agent_renamed_by_an_admin_is_offered_under_the_new_name_at_once(client, agent):
    colleague = factories.staff(Role.AGENT, name="Zhao Lei")
    ticket = factories.ticket()
    assert "Zhao Lei" in client.get(url("console_ticket", ticket)).content.decode()
    colleague.display_name = "Zhao Lei (nights)"
    colleague.save()
    assert "Zhao Lei (nights)" in client.get(url("console_ticket", ticket)).content.decode()


def _agent_list_reads(queries: CaptureQueriesContext) -> int:
    return sum('ORDER BY "accounts_user"."display_name"' in q["sql"] for q in queries.captured_queries)


def test_a_sign_in_does_not_make_the_next_ticket_page_read_the_agents_again(client, agent):
    ticket, colleague = factories.ticket(), factories.staff(Role.AGENT)
    with CaptureQueriesContext(connection) as first:
        client.get(url("console_ticket", ticket))
    client.force_login(colleague)  # the colleague signs in: their last_login is saved
    client.force_login(agent)
    with CaptureQueriesContext(connection) as after:
        client.get(url("console_ticket", ticket))
    # The page lists people twice (the assignable agents, and the collaboration form's); only the first is kept.
    assert _agent_list_reads(after) == _agent_list_reads(first) - 1
