"""The tickets part of the REST API (mounted by kefu.api.urls): thin handlers over the selectors
(every read, through the access layer) and the services (every write).

Customers may call the operations marked ``CUSTOMER_ACCESS`` on their own tickets; the access layer
answers anything else with the same 404 as a missing ticket.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status as HttpStatus

from kefu.accounts.models import Department, User
from kefu.core.downloads import download_response
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.inputs import MAX_TAG_FILTERS, MAX_TAGS, Moment, ObjectId, TagName
from kefu.core.schemas import Out
from kefu.customers import selectors as customer_selectors
from kefu.customers import services as customer_services
from kefu.customers.models import Channel, Customer, Tier
from kefu.tickets import selectors, services
from kefu.tickets.fivew1h import FIELDS as FIVE_W_ONE_H_FIELDS
from kefu.tickets.models import (
    Attachment,
    Category,
    Complexity,
    Message,
    Priority,
    SolutionOption,
    Ticket,
    TicketEvent,
)
from kefu.tickets.states import CUSTOMER_ACTIONS, Action, Status

router = Router(tags=["tickets"])

CUSTOMER_ACCESS = {"x-kefu-access": "customer"}
"""Customers may call this operation on their own tickets (see kefu.api.auth)."""

SortKey = Literal["newest", "oldest", "updated", "priority"]


# ---------------------------------------------------------------------------------------------- schemas


class UserRef(Out):
    id: int
    name: str


class TeamRef(Out):
    id: int
    name: str


class CategoryRef(Out):
    id: int
    slug: str
    name: str


class CustomerRef(Out):
    id: int
    name: str
    email: str
    tier: Tier


class Facts(Out):
    """5W1H: what happened, when, where, who is affected, how, and the expected outcome."""

    what: str = ""
    when: str = ""
    where: str = ""
    who: str = ""
    how: str = ""
    expected: str = ""


class TicketOut(Out):
    id: int
    number: str
    subject: str
    description: str
    status: Status
    status_label: str
    priority: Priority
    complexity: Complexity
    channel: Channel
    category: CategoryRef | None
    customer: CustomerRef
    owner: UserRef | None
    team: TeamRef | None
    tags: list[str]
    facts: Facts
    facts_completeness: float
    identity_verified: bool
    fix_verified: bool
    chosen_solution_id: int | None
    reopened_count: int
    message_count: int
    tracking_url: str
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None


class TicketPageOut(Out):
    items: list[TicketOut]
    next_cursor: str | None


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(Out):
    id: int
    kind: Message.Kind
    author: UserRef | None
    channel: Channel
    body_text: str
    body_html: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]


class EventOut(Out):
    id: int
    type: str
    actor: UserRef | None
    payload: dict[str, Any]
    public: bool
    at: dt.datetime


class SolutionOut(Out):
    id: int
    round: int
    position: int
    title: str
    description: str
    tradeoffs: str
    created_at: dt.datetime
    chosen_at: dt.datetime | None


class ContactIn(Schema):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field("", max_length=150)
    phone: str = Field("", max_length=32)


class TicketCreateIn(Schema):
    customer_id: ObjectId | None = Field(None, description="An existing customer; or give `customer`.")
    customer: ContactIn | None = Field(None, description="Found by email address, or created.")
    subject: str = Field(min_length=1, max_length=200)
    description: str = ""
    channel: Channel = Channel.API
    category: str | None = Field(None, description="Category key (slug).")
    priority: Priority | None = Field(None, description="Defaults to the category's priority.")
    complexity: Complexity = Complexity.SIMPLE
    team_id: ObjectId | None = None
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    facts: Facts | None = None
    auto_assign: bool = True


class TicketPatchIn(Schema):
    subject: str | None = Field(None, min_length=1, max_length=200)
    category: str | None = Field(None, description="Category key (slug); null clears it.")
    priority: Priority | None = None
    complexity: Complexity | None = None
    team_id: ObjectId | None = Field(None, description="Support team; null clears it.")
    tags: list[TagName] | None = Field(None, max_length=MAX_TAGS)
    facts: Facts | None = Field(None, description="Only the facts given are changed.")


class TicketQuery(Schema):
    status: list[Status] = Field(default_factory=list)
    priority: list[Priority] = Field(default_factory=list)
    category: list[ObjectId] = Field(default_factory=list)
    channel: list[Channel] = Field(default_factory=list)
    owner: list[ObjectId] = Field(default_factory=list)
    unassigned: bool = False
    team: list[ObjectId] = Field(default_factory=list)
    tier: list[Tier] = Field(default_factory=list)
    tag: list[TagName] = Field(default_factory=list, max_length=MAX_TAG_FILTERS)
    customer: ObjectId | None = None
    created_from: Moment | None = None
    created_to: Moment | None = None
    q: str = ""
    sort: SortKey = "newest"
    cursor: str | None = None
    limit: int = Field(25, ge=1, le=100)


class ReplyIn(Schema):
    body: str = Field(min_length=1)
    html: str = Field("", description="Staff only; sanitised with an allow-list.")


class NoteIn(Schema):
    body: str = Field(min_length=1)


class TransitionIn(Schema):
    action: Action
    reason: str = ""
    merge_into: ObjectId | None = Field(None, description="The ticket that carries on, for `merge`.")


class AssignIn(Schema):
    owner_id: ObjectId


class SolutionIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    tradeoffs: str = ""


class ProposeIn(Schema):
    options: list[SolutionIn] = Field(min_length=1, max_length=services.MAX_SOLUTIONS)


class VerifyFixIn(Schema):
    note: str = ""


class VerifyIdentityIn(Schema):
    method: Literal["order", "phone", "account"]
    value: str = Field(min_length=1, max_length=100)


# ---------------------------------------------------------------------------------------------- output


def _user_ref(user: User | None) -> UserRef | None:
    return UserRef(id=user.pk, name=user.name) if user is not None else None


def ticket_out(ticket: Ticket, tags: list[str] | None = None) -> TicketOut:
    """`tags`: the ticket's tag names when the caller knows them (a ticket it has just opened)."""
    category = ticket.category
    team = ticket.team
    customer = ticket.customer
    return TicketOut(
        id=ticket.pk, number=ticket.number, subject=ticket.subject, description=ticket.description,
        status=Status(ticket.status), status_label=ticket.status_label, priority=Priority(ticket.priority),
        complexity=Complexity(ticket.complexity), channel=Channel(ticket.channel),
        category=CategoryRef(id=category.pk, slug=category.slug, name=category.label()) if category else None,
        customer=CustomerRef(id=customer.pk, name=customer.name, email=customer.email, tier=Tier(customer.tier)),
        owner=_user_ref(ticket.owner), team=TeamRef(id=team.pk, name=team.name) if team else None,
        tags=sorted(tag.name for tag in ticket.tags.all()) if tags is None else tags,
        facts=Facts(**ticket.five_w_one_h),
        facts_completeness=ticket.five_w_one_h_completeness, identity_verified=ticket.identity_verified,
        fix_verified=ticket.fix_verified, chosen_solution_id=ticket.chosen_solution_id,
        reopened_count=ticket.reopened_count, message_count=ticket.message_count,
        tracking_url=services.tracking_url(ticket), created_at=ticket.created_at, updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at, resolved_at=ticket.resolved_at, closed_at=ticket.closed_at,
    )


def ticket_page_out(page: selectors.TicketPage) -> TicketPageOut:
    return TicketPageOut(items=[ticket_out(t) for t in page.tickets], next_cursor=page.next_cursor)


def _attachment_out(request: HttpRequest, attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(id=attachment.pk, filename=attachment.filename, content_type=attachment.content_type,
                         size=attachment.size,
                         url=reverse("api:attachment_download", kwargs={"attachment_id": attachment.pk}))


def message_out(request: HttpRequest, message: Message) -> MessageOut:
    return MessageOut(
        id=message.pk, kind=Message.Kind(message.kind), author=_user_ref(message.author),
        channel=Channel(message.channel), body_text=message.body_text, body_html=message.body_html,
        created_at=message.created_at,
        attachments=[_attachment_out(request, a) for a in message.attachments.all()],
    )


def _event_out(event: TicketEvent) -> EventOut:
    return EventOut(id=event.pk, type=event.type, actor=_user_ref(event.actor), payload=event.payload,
                    public=event.public, at=event.at)


def _solution_out(option: SolutionOption) -> SolutionOut:
    return SolutionOut(id=option.pk, round=option.round, position=option.position, title=option.title,
                       description=option.description, tradeoffs=option.tradeoffs, created_at=option.created_at,
                       chosen_at=option.chosen_at)


# ---------------------------------------------------------------------------------------------- lookups


def _category(slug: str | None) -> Category | None:
    if not slug:
        return None
    category = selectors.active_categories().filter(slug=slug).first()
    if category is None:
        raise DomainError(_("Unknown category “%(slug)s”.") % {"slug": slug}, code="invalid_category")
    return category


def _team(team_id: int | None) -> Department | None:
    if team_id is None:
        return None
    team = selectors.support_teams().filter(pk=team_id).first()
    if team is None:
        raise DomainError(_("Unknown team."), code="invalid_team")
    return team


def _existing_customer(actor: User, payload: TicketCreateIn) -> Customer | None:
    if payload.customer_id is not None:
        return customer_selectors.get_customer_for(actor, payload.customer_id)
    if payload.customer is not None:
        return customer_services.find_customer_by_email(payload.customer.email)
    raise DomainError(_("Give customer_id, or the customer's email and name."), code="customer_required")


def _new_customer(payload: TicketCreateIn) -> Customer:
    contact = payload.customer
    assert contact is not None  # _existing_customer found nothing, so contact details were given
    return customer_services.find_or_create_customer(email=contact.email, name=contact.name, phone=contact.phone)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def _uploads(files: list[UploadedFile]) -> list[services.Upload]:
    return [services.upload_from(f) for f in files]


def _add_message(ticket: Ticket, actor: User, kind: str, body: str, html: str = "",
                 uploads: list[services.Upload] | None = None) -> Message:
    """A reply from staff or from the ticket's customer, or an internal note."""
    uploads = uploads or []
    if kind == Message.Kind.NOTE:
        return services.add_internal_note(ticket, body, actor=actor, uploads=uploads)
    if actor.is_staff_member:
        return services.reply_to_customer(ticket, body, actor=actor, html=html, uploads=uploads)
    return services.add_customer_message(ticket, body, actor=actor, channel=Channel.API, uploads=uploads)


# ---------------------------------------------------------------------------------------------- tickets


@router.post("/tickets", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketCreateIn) -> HttpStatus[TicketOut]:
    actor = _actor(request)
    if not actor.can_write_tickets:
        raise PermissionDenied(_("Your role cannot change tickets."))
    category, team = _category(payload.category), _team(payload.team_id)
    # Looked up before any write (SQLite writers take turns). A new customer gets a write turn of its own,
    # with the lookup repeated inside it, once the request is known to be acceptable: holding one turn
    # across the whole intake had kept every other writer waiting while this one planned its ticket.
    customer = _existing_customer(actor, payload)
    if customer is None:
        services.clean_subject(payload.subject)
        customer = _new_customer(payload)
    ticket = services.open_ticket(
        customer=customer, subject=payload.subject, description=payload.description,
        actor=actor, channel=payload.channel, category=category, priority=payload.priority,
        complexity=payload.complexity, team=team, facts=payload.facts.model_dump() if payload.facts else None,
        tags=payload.tags, auto_assign=payload.auto_assign,
    )
    # The creator gets the ticket back even if routing gave it to a team they cannot see.
    return HttpStatus(201, ticket_out(ticket, tags=services.tag_names(payload.tags)))


@router.get("/tickets", response=TicketPageOut, summary="List tickets", openapi_extra=CUSTOMER_ACCESS)
def list_tickets(request: HttpRequest, filters: Query[TicketQuery]) -> TicketPageOut:
    ticket_filters = selectors.TicketFilters(
        status=list(filters.status), priority=list(filters.priority), category=filters.category,
        channel=list(filters.channel), owner=filters.owner, unassigned=filters.unassigned, team=filters.team,
        tier=list(filters.tier), tags=filters.tag, customer=filters.customer,
        created_from=_aware(filters.created_from), created_to=_aware(filters.created_to), q=filters.q,
        sort=filters.sort,
    )
    page = selectors.list_tickets(_actor(request), ticket_filters, cursor=filters.cursor, page_size=filters.limit)
    return ticket_page_out(page)


@router.get("/tickets/{ticket_id}", response=TicketOut, summary="Get a ticket", openapi_extra=CUSTOMER_ACCESS)
def get_ticket(request: HttpRequest, ticket_id: int) -> TicketOut:
    return ticket_out(selectors.get_ticket_for(_actor(request), ticket_id))


@router.patch("/tickets/{ticket_id}", response=TicketOut, summary="Change a ticket's fields")
def update_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatchIn) -> TicketOut:
    actor = _actor(request)
    given = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "subject" in given:
        changes["subject"] = given["subject"] or ""
    if "category" in given:
        changes["category"] = _category(given["category"])
    for name in ("priority", "complexity"):
        if given.get(name) is not None:
            changes[name] = str(given[name])
    if "team_id" in given:
        changes["team"] = _team(given["team_id"])
    if payload.facts is not None:
        facts = payload.facts.model_dump(exclude_unset=True)
        changes.update({k: v for k, v in facts.items() if k in FIVE_W_ONE_H_FIELDS})
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        services.update_ticket(ticket, actor=actor, tags=given.get("tags"), **changes)
    return ticket_out(selectors.get_ticket_for(actor, ticket_id))


@router.post("/tickets/{ticket_id}/reply", response={201: MessageOut}, openapi_extra=CUSTOMER_ACCESS,
             summary="Reply on a ticket (staff: public reply; customer: their message)")
def reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> HttpStatus[MessageOut]:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        message = _add_message(ticket, actor, Message.Kind.REPLY, payload.body, payload.html)
    return HttpStatus(201, message_out(request, message))


@router.post("/tickets/{ticket_id}/notes", response={201: MessageOut}, summary="Add an internal note")
def add_note(request: HttpRequest, ticket_id: int, payload: NoteIn) -> HttpStatus[MessageOut]:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        message = _add_message(ticket, actor, Message.Kind.NOTE, payload.body)
    return HttpStatus(201, message_out(request, message))


@router.post("/tickets/{ticket_id}/attachments", response={201: MessageOut}, openapi_extra=CUSTOMER_ACCESS,
             summary="Upload files as a reply or an internal note (multipart)")
def upload_attachments(
    request: HttpRequest, ticket_id: int, files: File[list[UploadedFile]],
    kind: Form[Literal["reply", "note"]] = "reply", body: Form[str] = "",
) -> HttpStatus[MessageOut]:
    actor = _actor(request)
    uploads = _uploads(files)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        message = _add_message(ticket, actor, kind, body, uploads=uploads)
    return HttpStatus(201, message_out(request, message))


@router.post("/tickets/{ticket_id}/transition", response=TicketOut, openapi_extra=CUSTOMER_ACCESS,
             summary="Move a ticket through its states (customers: confirm or object)")
def transition(request: HttpRequest, ticket_id: int, payload: TransitionIn) -> TicketOut:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        customer_is_actor = ticket.customer.user_id == actor.pk
        if payload.action in CUSTOMER_ACTIONS and customer_is_actor:
            if payload.action == Action.CONFIRM:
                services.confirm_resolution(ticket, actor=actor)
            else:
                services.object_to_resolution(ticket, payload.reason, actor=actor)
        elif not actor.is_staff_member:
            raise PermissionDenied(_("You can only confirm or object to a resolution."))
        elif payload.action == Action.MERGE and payload.merge_into is not None:
            target = selectors.get_ticket_for(actor, payload.merge_into, for_update=True)
            services.merge_ticket(ticket, target, actor=actor)
        else:
            services.change_status(ticket, payload.action, actor=actor, reason=payload.reason)
    return ticket_out(selectors.get_ticket_for(actor, ticket_id))


@router.post("/tickets/{ticket_id}/assign", response=TicketOut, summary="Give a ticket an owner")
def assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> TicketOut:
    actor = _actor(request)
    agent = selectors.assignable_agents().filter(pk=payload.owner_id).first()
    if agent is None:
        raise DomainError(_("This person cannot own tickets."), code="invalid_owner")
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        services.assign_ticket(ticket, agent, actor=actor)
    return ticket_out(selectors.get_ticket_for(actor, ticket_id))


@router.get("/tickets/{ticket_id}/solutions", response=list[SolutionOut], openapi_extra=CUSTOMER_ACCESS,
            summary="The solutions proposed so far, by round")
def list_solutions(request: HttpRequest, ticket_id: int) -> list[SolutionOut]:
    ticket = selectors.get_ticket_for(_actor(request), ticket_id)
    return [_solution_out(o) for o in ticket.solutions.order_by("round", "position")]


@router.post("/tickets/{ticket_id}/solutions", response={201: list[SolutionOut]},
             summary="Propose one to three solutions to the customer")
def propose_solutions(request: HttpRequest, ticket_id: int, payload: ProposeIn) -> HttpStatus[list[SolutionOut]]:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        created = services.propose_solutions(ticket, [o.model_dump() for o in payload.options], actor=actor)
    return HttpStatus(201, [_solution_out(o) for o in created])


@router.post("/tickets/{ticket_id}/solutions/{option_id}/choose", response=SolutionOut,
             openapi_extra=CUSTOMER_ACCESS, summary="The customer chooses a proposed solution")
def choose_solution(request: HttpRequest, ticket_id: int, option_id: int) -> SolutionOut:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        option = services.choose_solution(ticket, option_id, actor=actor)
    return _solution_out(option)


@router.post("/tickets/{ticket_id}/verify-fix", response=TicketOut, summary="Verify the fix internally")
def verify_fix(request: HttpRequest, ticket_id: int, payload: VerifyFixIn) -> TicketOut:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        services.verify_fix(ticket, actor=actor, note=payload.note)
    return ticket_out(selectors.get_ticket_for(actor, ticket_id))


@router.post("/tickets/{ticket_id}/verify-identity", response=TicketOut,
             summary="Check who the customer is by order number, phone or account")
def verify_identity(request: HttpRequest, ticket_id: int, payload: VerifyIdentityIn) -> TicketOut:
    actor = _actor(request)
    with transaction.atomic():
        ticket = selectors.get_ticket_for(actor, ticket_id, for_update=True)
        services.verify_customer_identity(ticket, payload.method, payload.value, actor=actor)
    return ticket_out(selectors.get_ticket_for(actor, ticket_id))


@router.get("/tickets/{ticket_id}/messages", response=list[MessageOut], openapi_extra=CUSTOMER_ACCESS,
            summary="The conversation (customers never see internal notes)")
def list_messages(request: HttpRequest, ticket_id: int) -> list[MessageOut]:
    actor = _actor(request)
    ticket = selectors.get_ticket_for(actor, ticket_id)
    return [message_out(request, m) for m in selectors.visible_messages(actor, ticket)]


@router.get("/tickets/{ticket_id}/events", response=list[EventOut], openapi_extra=CUSTOMER_ACCESS,
            summary="The timeline (customers see its public part)")
def list_events(request: HttpRequest, ticket_id: int) -> list[EventOut]:
    actor = _actor(request)
    ticket = selectors.get_ticket_for(actor, ticket_id)
    return [_event_out(e) for e in selectors.timeline(actor, ticket)]


@router.get(
    "/attachments/{attachment_id}", response={200: None}, openapi_extra={
        **CUSTOMER_ACCESS,
        # Served with the type it was stored with (image/png, application/pdf, …), whichever that is.
        "responses": {200: {"description": "The file, as a download, with its own content type.",
                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}},
    }, summary="Download an attachment", url_name="attachment_download",
)
def download_attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = selectors.get_attachment_for(_actor(request), attachment_id)
    return download_response(attachment.file, attachment.filename, attachment.content_type)


@router.get("/customers/{customer_id}/tickets", response=TicketPageOut, tags=["customers"],
            summary="A customer's tickets, as far as you may see them")
def list_customer_tickets(request: HttpRequest, customer_id: int, filters: Query[TicketQuery]) -> TicketPageOut:
    actor = _actor(request)
    customer = customer_selectors.get_customer_for(actor, customer_id)
    filters.customer = customer.pk
    return list_tickets(request, filters)
