"""Tickets through the REST API, as an integration or a browser would use it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import Role
from kefu.api.tests.openapi import ApiClient
from kefu.customers.models import Customer
from kefu.testing import factories
from kefu.tickets.models import Category
from kefu.tickets.states import Status

pytestmark = pytest.mark.django_db


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# ---------------------------------------------------------------------------------------------- create


def test_creating_a_ticket_for_a_new_customer_returns_its_number_and_tracking_link(staff_api, team):
    Category.objects.update_or_create(slug="fault", defaults={"name_en": "Fault", "name_zh": "故障",
                                                                "default_priority": "high", "active": True})
    response = staff_api.post("/api/v1/tickets", {
        "customer": {"email": "Mei@Example.com", "name": "Mei"},
        "subject": "Printer jams", "description": "Paper gets stuck on every page.", "channel": "email",
        "category": "fault", "team_id": team.pk, "tags": ["hardware", "paper"],
        "facts": {"what": "Paper jam", "where": "Office 3"},
    }, content_type="application/json")
    assert response.status_code == 201
    ticket = response.json()
    assert ticket["number"] == str(ticket["id"])
    assert "/t/" in ticket["tracking_url"]
    assert ticket["customer"]["email"] == "mei@example.com"
    assert ticket["category"]["slug"] == "fault"
    assert ticket["priority"] == "high"  # the category's default
    assert ticket["channel"] == "email"
    assert ticket["tags"] == ["hardware", "paper"]
    assert ticket["facts"]["where"] == "Office 3"
    assert ticket["team"] == {"id": team.pk, "name": "Support"}

    again = staff_api.post("/api/v1/tickets", {"customer": {"email": "mei@example.com", "name": "Mei"},
                                               "subject": "Still smoking"}, content_type="application/json")
    assert again.json()["customer"]["id"] == ticket["customer"]["id"]  # the same person, found by email
    assert Customer.objects.filter(email="mei@example.com").count() == 1


def test_creating_a_ticket_for_an_existing_customer(staff_api):
    customer = factories.customer()
    response = staff_api.post("/api/v1/tickets", {"customer_id": customer.pk, "subject": "Refund",
                                                  "priority": "urgent"}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["customer"]["id"] == customer.pk
    assert response.json()["priority"] == "urgent"


def test_creating_a_ticket_without_a_customer_is_a_400_with_a_clear_message(staff_api):
    error = _error(staff_api.post("/api/v1/tickets", {"subject": "Who am I"}, content_type="application/json"),
                   400, "customer_required")
    assert "customer" in error["message"]


def test_unknown_category_is_a_400(staff_api):
    customer = factories.customer()
    _error(staff_api.post("/api/v1/tickets", {"customer_id": customer.pk, "subject": "x", "category": "nope"},
                          content_type="application/json"), 400, "invalid_category")


def test_invalid_fields_are_a_422_naming_each_field(staff_api):
    response = staff_api.post("/api/v1/tickets", {"subject": "", "priority": "whenever"},
                              content_type="application/json")
    error = _error(response, 422, "validation_failed")
    assert set(error["fields"]) == {"subject", "priority"}
    assert all(messages for messages in error["fields"].values())


def test_customers_cannot_open_tickets_through_the_api(client_for):
    customer = factories.customer()
    response = client_for(customer.user).post("/api/v1/tickets", {"customer_id": customer.pk, "subject": "x"},
                                              content_type="application/json")
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------- reading


def test_customer_sees_only_their_own_tickets_and_another_is_404_like_a_missing_one(client_for):
    mine = factories.ticket(subject="Mine")
    theirs = factories.ticket(subject="Theirs")
    client = client_for(mine.customer.user)
    listed = client.get("/api/v1/tickets").json()
    assert [t["id"] for t in listed["items"]] == [mine.pk]
    assert client.get(f"/api/v1/tickets/{mine.pk}").status_code == 200

    forbidden = client.get(f"/api/v1/tickets/{theirs.pk}")
    missing = client.get("/api/v1/tickets/999999")
    _error(forbidden, 404, "not_found")
    assert forbidden.json() == missing.json()
    for suffix in ("messages", "events", "solutions"):
        assert client.get(f"/api/v1/tickets/{theirs.pk}/{suffix}").json() == missing.json()


def test_list_filters_by_status_priority_tag_and_search(staff_api, supervisor, client_for):
    factories.ticket(subject="Login broken", priority="urgent", tags=["auth"])
    factories.ticket(subject="Invoice missing", priority="low")
    client = client_for(supervisor)

    def subjects(query: str) -> list[str]:
        return [t["subject"] for t in client.get(f"/api/v1/tickets?{query}").json()["items"]]

    assert subjects("priority=urgent") == ["Login broken"]
    assert subjects("priority=urgent&priority=low") == ["Invoice missing", "Login broken"]
    assert subjects("tag=auth") == ["Login broken"]
    assert subjects("status=new&sort=oldest") == ["Login broken", "Invoice missing"]
    assert subjects("status=closed") == []
    assert subjects("q=invoice") == ["Invoice missing"]
    assert subjects("created_from=2000-01-01T00:00:00&unassigned=true") == ["Invoice missing", "Login broken"]


def test_list_query_count_does_not_grow_with_the_number_of_tickets(supervisor, client_for):
    client = client_for(supervisor)
    team = factories.department()
    owner = factories.staff(Role.AGENT, teams=(team,))

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/tickets?limit=50")
        assert response.status_code == 200
        return len(queries)

    factories.worked_ticket(owner, tags=["a", "b"], team=team)
    one = count_queries()
    for n in range(29):
        factories.worked_ticket(owner, tags=[f"t{n}"], team=team, customer_=factories.customer())
    assert len(client.get("/api/v1/tickets?limit=50").json()["items"]) == 30
    assert count_queries() == one


@pytest.mark.parametrize("sort", ["newest", "oldest", "updated", "priority"])
def test_cursor_pagination_walks_every_ticket_once(supervisor, client_for, sort):
    customer = factories.customer()
    priorities = ["urgent", "high", "normal", "low"]
    created = {factories.ticket(customer, priority=priorities[n % 4]).pk for n in range(17)}
    client = client_for(supervisor)
    seen: list[int] = []
    url = f"/api/v1/tickets?limit=5&sort={sort}"
    cursor = None
    for _ in range(10):
        page = client.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 17
    assert set(seen) == created


def test_a_broken_cursor_is_a_400(staff_api):
    _error(staff_api.get("/api/v1/tickets?cursor=%%%%"), 400, "invalid_cursor")


# ---------------------------------------------------------------------------------------------- the loop


def test_the_closed_loop_through_the_api(agent, client_for):
    ticket = factories.ticket(subject="Cannot pay")
    staff = client_for(agent)
    customer = client_for(ticket.customer.user)
    base = f"/api/v1/tickets/{ticket.pk}"

    assert staff.post(f"{base}/transition", {"action": "accept"},
                      content_type="application/json").json()["status"] == "open"
    proposed = staff.post(f"{base}/solutions", {"options": [{"title": "Refund"}, {"title": "Retry payment",
                                                                                  "tradeoffs": "Slower"}]},
                          content_type="application/json")
    assert proposed.status_code == 201
    option = proposed.json()[1]
    assert [o["title"] for o in customer.get(f"{base}/solutions").json()] == ["Refund", "Retry payment"]
    chosen = customer.post(f"{base}/solutions/{option['id']}/choose", content_type="application/json")
    assert chosen.json()["chosen_at"] is not None

    assert staff.post(f"{base}/reply", {"body": "Payment retried."},
                      content_type="application/json").status_code == 201
    _error(staff.post(f"{base}/transition", {"action": "resolve"}, content_type="application/json"),
           400, "not_verified")
    assert staff.post(f"{base}/verify-fix", {"note": "Checked"},
                      content_type="application/json").json()["fix_verified"] is True
    assert staff.post(f"{base}/transition", {"action": "resolve", "reason": "Paid"},
                      content_type="application/json").json()["status"] == "resolved"

    objected = customer.post(f"{base}/transition", {"action": "object", "reason": "Still charged twice"},
                             content_type="application/json")
    assert objected.json()["status"] == "open"
    staff.post(f"{base}/verify-fix", {}, content_type="application/json")
    staff.post(f"{base}/transition", {"action": "resolve"}, content_type="application/json")
    confirmed = customer.post(f"{base}/transition", {"action": "confirm"}, content_type="application/json")
    assert confirmed.json()["status"] == Status.CLOSED
    assert confirmed.json()["closed_at"] is not None

    events = [e["type"] for e in customer.get(f"{base}/events").json()]
    assert "solution_chosen" in events
    assert "fix_verified" not in events  # internal, staff only
    assert "fix_verified" in [e["type"] for e in staff.get(f"{base}/events").json()]


def test_illegal_transition_is_a_409_with_a_clear_message(staff_api):
    ticket = factories.ticket()
    error = _error(staff_api.post(f"/api/v1/tickets/{ticket.pk}/transition", {"action": "reopen"},
                                  content_type="application/json"), 409, "illegal_transition")
    assert "cannot be" in error["message"]


def test_customer_cannot_resolve_their_own_ticket(client_for):
    ticket = factories.ticket()
    response = client_for(ticket.customer.user).post(f"/api/v1/tickets/{ticket.pk}/transition",
                                                     {"action": "resolve"}, content_type="application/json")
    _error(response, 403, "forbidden")


def test_staff_cannot_confirm_for_the_customer(staff_api):
    ticket = factories.ticket()
    _error(staff_api.post(f"/api/v1/tickets/{ticket.pk}/transition", {"action": "confirm"},
                          content_type="application/json"), 403, "forbidden")


def test_merging_a_duplicate_into_the_ticket_that_carries_on(staff_api):
    first = factories.ticket()
    duplicate = factories.ticket(first.customer)
    merged = staff_api.post(f"/api/v1/tickets/{duplicate.pk}/transition",
                            {"action": "merge", "merge_into": first.pk}, content_type="application/json")
    assert merged.json()["status"] == "merged"


def test_assign_and_update_a_ticket(staff_api, agent, team):
    ticket = factories.ticket()
    assigned = staff_api.post(f"/api/v1/tickets/{ticket.pk}/assign", {"owner_id": agent.pk},
                              content_type="application/json")
    assert assigned.json()["owner"] == {"id": agent.pk, "name": "Agent Wang"}
    _error(staff_api.post(f"/api/v1/tickets/{ticket.pk}/assign", {"owner_id": ticket.customer.user_id},
                          content_type="application/json"), 400, "invalid_owner")

    updated = staff_api.patch(f"/api/v1/tickets/{ticket.pk}", {
        "subject": "Cannot log in on mobile", "priority": "high", "tags": ["mobile"],
        "facts": {"how": "Error 42"}, "team_id": team.pk,
    }, content_type="application/json").json()
    assert updated["subject"] == "Cannot log in on mobile"
    assert updated["priority"] == "high"
    assert updated["tags"] == ["mobile"]
    assert updated["facts"]["how"] == "Error 42"
    assert updated["facts_completeness"] > 0
    changes = [e for e in staff_api.get(f"/api/v1/tickets/{ticket.pk}/events").json() if e["type"] == "updated"]
    assert changes[-1]["payload"]["changes"]["priority"] == {"before": "normal", "after": "high"}


def test_verify_identity_by_phone(staff_api):
    ticket = factories.ticket(factories.customer(phone="+86 138 0000 1111"))
    base = f"/api/v1/tickets/{ticket.pk}/verify-identity"
    _error(staff_api.post(base, {"method": "phone", "value": "139"}, content_type="application/json"),
           400, "identity_mismatch")
    verified = staff_api.post(base, {"method": "phone", "value": "13800001111"}, content_type="application/json")
    assert verified.json()["identity_verified"] is True


# ---------------------------------------------------------------------------------------------- messages


def test_customer_never_sees_internal_notes(agent, client_for):
    ticket = factories.ticket(description="Help")
    staff = client_for(agent)
    staff.post(f"/api/v1/tickets/{ticket.pk}/notes", {"body": "VIP, be careful"}, content_type="application/json")
    staff.post(f"/api/v1/tickets/{ticket.pk}/reply", {"body": "On it"}, content_type="application/json")
    customer = client_for(ticket.customer.user)
    reply = customer.post(f"/api/v1/tickets/{ticket.pk}/reply", {"body": "Thanks"}, content_type="application/json")
    assert reply.json()["kind"] == "customer"
    assert [m["kind"] for m in customer.get(f"/api/v1/tickets/{ticket.pk}/messages").json()] == [
        "customer", "reply", "customer"]
    assert [m["kind"] for m in staff.get(f"/api/v1/tickets/{ticket.pk}/messages").json()] == [
        "customer", "note", "reply", "customer"]
    _error(customer.post(f"/api/v1/tickets/{ticket.pk}/notes", {"body": "x"}, content_type="application/json"),
           403, "forbidden")


def test_uploaded_files_are_downloaded_as_attachments_and_note_files_stay_internal(agent, client_for):
    ticket = factories.ticket()
    staff = client_for(agent)
    customer = client_for(ticket.customer.user)
    reply = staff.post(f"/api/v1/tickets/{ticket.pk}/attachments", {
        "kind": "reply", "body": "The receipt",
        "files": [SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")],
    })
    assert reply.status_code == 201
    attachment = reply.json()["attachments"][0]
    assert attachment["filename"] == "receipt.pdf"
    note = staff.post(f"/api/v1/tickets/{ticket.pk}/attachments", {
        "kind": "note", "files": [SimpleUploadedFile("log.txt", b"secret log", content_type="text/plain")],
    })
    note_file = note.json()["attachments"][0]

    download = customer.get(attachment["url"])
    assert download.status_code == 200
    assert download.getvalue() == b"%PDF-1.4 receipt"
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    _error(customer.get(note_file["url"]), 404, "not_found")
    other = client_for(factories.customer().user)
    _error(other.get(attachment["url"]), 404, "not_found")


def test_a_file_type_that_is_not_allowed_is_refused(staff_api):
    ticket = factories.ticket()
    response = staff_api.post(f"/api/v1/tickets/{ticket.pk}/attachments", {
        "files": [SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")],
    })
    _error(response, 400, "attachment_type")


def test_an_unexpected_failure_is_a_500_with_a_generic_message(staff_api, monkeypatch):
    from kefu.tickets import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded: password=hunter2")

    monkeypatch.setattr(selectors, "get_ticket_for", broken)
    response = staff_api.get("/api/v1/tickets/1")
    error = _error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert error["message"]


def test_api_client_validates_against_the_document():
    # The helper itself must fail on an undocumented status, or it proves nothing.
    from django.http import JsonResponse

    from kefu.api.tests.openapi import validate_response

    with pytest.raises(AssertionError):
        validate_response("GET", "/api/v1/me", JsonResponse({}, status=418))
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        validate_response("GET", "/api/v1/me", JsonResponse({"id": "not a number"}))
    assert isinstance(ApiClient(), ApiClient)
