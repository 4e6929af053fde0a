"""Every write to a ticket. One transaction per call, an event row in the same transaction,
notifications queued through the outbox (delivered after commit).

Callers load tickets through kefu.tickets.selectors (the access layer) first; these functions then
check what the actor may *do*. Customers act through their own user account (a tracking-link visitor
acts as the ticket's customer).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext_lazy

from kefu.accounts.models import Department, Role, User
from kefu.assist import triage as triage_rules
from kefu.bot import brain as bot_brain
from kefu.core import filetypes, textsearch
from kefu.core.bulk import insert_many, insert_one, pipelined, together, update_one
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.prepared import Prepared
from kefu.core.shortcache import short_lived
from kefu.customers.models import Channel, Customer, CustomerIdentity
from kefu.notifications.services import StaffAlertRequest, alert_staff_many, queue_notification, queue_webhooks
from kefu.routing import engine as routing_engine
from kefu.routing import strategies as routing_strategies
from kefu.sla import services as sla_services
from kefu.tickets.events import webhook_event
from kefu.tickets.fivew1h import FIELDS as FIVE_W_ONE_H_FIELDS
from kefu.tickets.models import (
    PRIORITY_RANK,
    STATUS_LABELS,
    Attachment,
    Category,
    Complexity,
    Message,
    Priority,
    SolutionOption,
    Tag,
    Ticket,
    TicketEvent,
    TicketSearchDocument,
)
from kefu.tickets.states import (
    CUSTOMER_ACTIONS,
    WORKING,
    Action,
    IllegalTransition,
    Status,
    next_status,
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan"},
                      "th": {"colspan", "rowspan"}}
MAX_SOLUTIONS = 3
UPDATABLE_FIELDS = ("subject", "category", "priority", "complexity", "team", *FIVE_W_ONE_H_FIELDS)


@dataclass(frozen=True)
class Upload:
    """A file handed to a service: name, bytes and the type the client claimed."""

    filename: str
    content: bytes
    content_type: str = ""


def upload_from(uploaded: Any) -> Upload:
    """A file received over HTTP (Django's UploadedFile) as an Upload. At most one byte past the size
    limit is read, so an oversized file is refused by ``validate_upload`` without being held in memory."""
    content = uploaded.read(settings.KEFU["ATTACHMENT_MAX_BYTES"] + 1)
    return Upload(filename=uploaded.name or "file", content=content, content_type=uploaded.content_type or "")


# ---------------------------------------------------------------------------------------------- helpers


def sanitize_html(html: str) -> str:
    """Allow-list sanitising: only harmless tags and attributes survive; links open safely."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _record(ticket: Ticket, type_: str, *, actor: User | None, public: bool = False, **payload: Any) -> TicketEvent:
    event = TicketEvent.objects.create(ticket=ticket, type=type_, actor=actor, public=public, payload=payload,
                                       at=now())
    sla_services.on_event(ticket, event)  # every change moves the service-level clocks, in this transaction
    routing_engine.on_event(ticket, event)  # and the queue entry and the agents' loads
    queue_webhooks([webhook_event(ticket, event)])
    return event


def record_ticket_event(ticket: Ticket, type_: str, *, actor: User | None, public: bool = False,
                        **payload: Any) -> TicketEvent:
    """A step taken elsewhere (a collaboration request, a survey, a QA review) on the ticket's timeline.

    The caller holds the transaction of its own write; the event moves the clocks and the routing like any
    other, and is the audit row. ``public`` events are shown to the customer.
    """
    return _record(ticket, type_, actor=actor, public=public, **payload)


def _touch(ticket: Ticket, *fields: str) -> None:
    ticket.updated_at = now()
    ticket.save(update_fields=[*fields, "updated_at"])


def _require_staff_writer(actor: User) -> None:
    if not actor.can_write_tickets:
        raise PermissionDenied(_("Your role cannot change tickets."))


def _require_ticket_customer(ticket: Ticket, actor: User) -> None:
    if ticket.customer.user_id != actor.pk:
        raise PermissionDenied(_("Only the customer of this ticket can do this."))


def _transition(ticket: Ticket, action: Action) -> tuple[str, str]:
    before = ticket.status
    try:
        ticket.status = next_status(Status(before), action)
    except IllegalTransition as exc:
        raise DomainError(_illegal_message(exc), code="illegal_transition") from exc
    return before, ticket.status


def _illegal_message(exc: IllegalTransition) -> str:
    return _("This ticket is “%(status)s”; it cannot be %(action)s now.") % {
        "status": STATUS_LABELS[exc.status],
        "action": ACTION_VERBS[exc.action],
    }


# "This ticket is “%(status)s”; it cannot be %(action)s now." — the context keeps these verbs apart from
# the same English words used as field names ("resolved" as a time column).
ACTION_VERBS = {
    Action.ACCEPT: pgettext_lazy("cannot be … now", "accepted"),
    Action.WAIT_CUSTOMER: pgettext_lazy("cannot be … now", "set to wait on the customer"),
    Action.WAIT_INTERNAL: pgettext_lazy("cannot be … now", "set to wait on an internal team"),
    Action.RESUME: pgettext_lazy("cannot be … now", "resumed"),
    Action.RESOLVE: pgettext_lazy("cannot be … now", "resolved"),
    Action.CONFIRM: pgettext_lazy("cannot be … now", "confirmed"),
    Action.OBJECT: pgettext_lazy("cannot be … now", "objected to"),
    Action.REOPEN: pgettext_lazy("cannot be … now", "reopened"),
    Action.CANCEL: pgettext_lazy("cannot be … now", "cancelled"),
    Action.MERGE: pgettext_lazy("cannot be … now", "merged"),
}


def tracking_url(ticket: Ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL}/t/{ticket.tracking_token}/"


def _customer_language(ticket: Ticket) -> str:
    return ticket.language or ticket.customer.language or settings.LANGUAGE_CODE


def _notify_customer(ticket: Ticket, summary: str, body: str = "") -> None:
    _queue_for_customer(ticket, "ticket_update", summary=summary, body=body)


# Tickets that came by one of these channels are answered there (SMS to the phone number; WeChat and
# other apps to the sender's id there), when the customer is known by it; every other ticket by email.
_REPLY_IDENTITY: dict[str, str] = {Channel.SMS: Channel.PHONE, Channel.WECHAT: Channel.WECHAT,
                                   Channel.WEBHOOK: Channel.WEBHOOK}


def customer_route(ticket: Ticket) -> tuple[str, str]:
    """(channel, recipient) on which the ticket's customer hears from us."""
    identity_channel = _REPLY_IDENTITY.get(ticket.channel)
    if identity_channel is not None:
        value = (CustomerIdentity.objects.filter(customer_id=ticket.customer_id, channel=identity_channel)
                 .order_by("-pk").values_list("value", flat=True).first())
        if value:
            return ticket.channel, value
    if not ticket.customer.email and ticket.customer.phone:  # known by phone only (a chat, a call)
        return Channel.SMS, ticket.customer.phone
    return "email", ticket.customer.email


def _queue_for_customer(ticket: Ticket, template: str, **extra: str) -> None:
    """A message to the ticket's customer; every template gets the same base variables
    (kefu.notifications.models.TEMPLATE_VARIABLES lists them for admins)."""
    channel, recipient = customer_route(ticket)
    queue_notification(
        recipient=recipient, channel=channel, template=template, language=_customer_language(ticket),
        ticket_id=ticket.pk,
        context={"number": ticket.number, "subject": ticket.subject, "customer_name": ticket.customer.name,
                 "tracking_url": tracking_url(ticket), **extra},
    )


def reindex_ticket(ticket: Ticket) -> None:
    """Rebuild the search document from the subject, customer and message texts."""
    bodies = list(
        Message.objects.filter(ticket=ticket).order_by("created_at").values_list("body_text", flat=True)[:50]
    )
    TicketSearchDocument.objects.update_or_create(ticket=ticket, defaults={"tokens": _search_tokens(ticket, bodies)})


def merge_search_segments(pages: int = 500) -> None:
    """SQLite: merge the search index's segments that intake appended (tickets migration 0004 keeps
    merges off the write path); `pages` bounds the work (500 is ~40 ms at 100k tickets). A level is
    merged once it has four segments; with fewer this does nothing."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('merge', %s)", [pages])


def _search_tokens(ticket: Ticket, bodies: Sequence[str]) -> str:
    customer = ticket.customer
    return textsearch.document(
        ticket.number, ticket.subject, customer.name, customer.email, customer.phone, ticket.description,
        *bodies,
    )


def _store_attachments(message: Message, uploads: Iterable[Upload]) -> list[Attachment]:
    stored = []
    for upload in uploads:
        upload = validate_upload(upload)
        digest = hashlib.sha256(upload.content).hexdigest()
        attachment = Attachment(
            message=message, filename=upload.filename, content_type=upload.content_type,
            size=len(upload.content), sha256=digest,
        )
        attachment.file.save(upload.filename, ContentFile(upload.content), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _claimed_type(filename: str, client_type: str) -> str:
    """The type the sender says the file has: by its name's extension, else the type the client sent."""
    guessed, _ = mimetypes.guess_type(filename)
    return (guessed or client_type.split(";")[0].strip() or "application/octet-stream").lower()


def validate_upload(upload: Upload) -> Upload:
    """Check an upload against the deployment's limits (KEFU["ATTACHMENT_MAX_BYTES"], ["ATTACHMENT_TYPES"])
    and return it as it may be stored: its name made safe (kefu.core.filetypes.safe_filename) and its type
    the one its bytes show. Raises DomainError (attachment_too_large, attachment_type, attachment_content).

    The type is what the name (or, without an extension, the client) claims; the bytes must then agree,
    so a web page or a program renamed to ``.png``, ``.pdf`` or ``.txt`` is refused.
    """
    limits = settings.KEFU
    filename = filetypes.safe_filename(upload.filename)
    if len(upload.content) > limits["ATTACHMENT_MAX_BYTES"]:
        raise DomainError(
            _("“%(name)s” is larger than the limit of %(mb)s MB.")
            % {"name": filename, "mb": limits["ATTACHMENT_MAX_BYTES"] // (1024 * 1024)},
            code="attachment_too_large",
        )
    claimed = _claimed_type(filename, upload.content_type)
    if claimed == "application/octet-stream":  # nothing claimed: the bytes may still say what it is
        claimed = filetypes.sniff(upload.content) or claimed
    if claimed not in limits["ATTACHMENT_TYPES"]:
        raise DomainError(
            _("Files of type “%(type)s” cannot be attached.") % {"type": claimed},
            code="attachment_type",
        )
    shown = filetypes.content_matches(claimed, upload.content)
    if shown is None or shown not in limits["ATTACHMENT_TYPES"]:
        raise DomainError(
            _("The content of “%(name)s” is not a file of type “%(type)s”, so it cannot be attached.")
            % {"name": filename, "type": claimed},
            code="attachment_content",
        )
    return Upload(filename=filename, content=upload.content, content_type=shown)


def _add_message(
    ticket: Ticket, kind: str, body: str, *, actor: User | None, channel: str, html: str = "",
    uploads: Sequence[Upload] = (),
) -> Message:
    body = body.strip()
    if not body and not uploads:
        raise DomainError(_("The message is empty."), code="empty_message")
    message = Message.objects.create(
        ticket=ticket, kind=kind, author=actor, channel=channel, body_text=body,
        body_html=sanitize_html(html) if html else "", created_at=now(),
    )
    _store_attachments(message, uploads)
    Ticket.objects.filter(pk=ticket.pk).update(message_count=F("message_count") + 1)
    ticket.message_count += 1
    return message


# ---------------------------------------------------------------------------------------------- intake


def _next_memberships(team_id: int | None = None) -> QuerySet[Any]:
    memberships = User.departments.through.objects.select_related("user", "department").filter(
        user__is_active=True, user__role=Role.AGENT, department__kind=Department.Kind.SUPPORT)
    if team_id is not None:
        memberships = memberships.filter(department_id=team_id)
    return memberships.order_by(F("user__last_assigned_at").asc(nulls_first=True), "user_id", "department_id")[:1]


# Read at every intake: compiled once (kefu.core.prepared).
_next_in_team = Prepared(_next_memberships, [int])
_next_in_any_team = Prepared(_next_memberships, [])
_next_agent = Prepared(lambda: User.objects.filter(is_active=True, role=Role.AGENT)
                       .order_by(F("last_assigned_at").asc(nulls_first=True), "id")[:1], [])


def choose_intake_owner(team: Department | None) -> tuple[User | None, Department | None]:
    """The owner and team of a new ticket: round robin over the active agents of `team` (when it is None,
    over the agents of every support team, the ticket then going to the chosen agent's first team):
    whoever was given a ticket longest ago, or never, gets the next one. Only when no agent is in a
    support team does a ticket without a team go to any active agent.

    Used only where no routing queue is set up (kefu.routing decides otherwise): one indexed query over
    team memberships, whatever the number of tickets.
    """
    first = _next_in_team.first(team.pk) if team is not None else _next_in_any_team.first()
    if first is not None:
        return first.user, first.department
    if team is not None:
        return None, team
    return _next_agent.first(), None


def clean_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        raise DomainError(_("Please give the request a subject."), code="subject_required")
    return subject


def open_ticket(
    *,
    customer: Customer,
    subject: str,
    description: str,
    actor: User | None,
    channel: str = Channel.WEB,
    category: Category | None = None,
    priority: str | None = None,
    complexity: str = Complexity.SIMPLE,
    team: Department | None = None,
    facts: dict[str, str] | None = None,
    tags: Sequence[str] = (),
    uploads: Sequence[Upload] = (),
    language: str = "",
    auto_assign: bool = True,
    html: str = "",
    in_reply_to: str = "",
    customer_words: str | None = None,
) -> Ticket:
    """Open a ticket from a customer contact, acknowledge it with number, owner and tracking link.

    This is the hottest write path (every channel's intake). On SQLite writers take turns, so everything
    that reads or computes (the owner and team, the unsaved rows, the SLA plan) happens before the write
    transaction, which only inserts, each table once (decision 0005). Two tickets opened at
    the same moment may both go to the same agent; the round robin evens it out on the next turns.

    `html` is the message as the channel sent it (sanitised here); `in_reply_to` is the channel's id of
    that message (an email's Message-ID), which the acknowledgement answers so that it threads.
    `customer_words`: what triage reads when the description holds more than the customer wrote (a chat's
    transcript with the assistant's lines); the description by default.
    """
    subject = clean_subject(subject)
    facts = {k: (v or "").strip() for k, v in (facts or {}).items() if k in FIVE_W_ONE_H_FIELDS}
    body = description.strip() or subject
    moment = now()
    words = description if customer_words is None else customer_words
    judged = _triage(customer, subject, words, moment)
    learnt = None if category is not None or judged.category.confidence >= TRIAGE_MIN_CONFIDENCE else \
        _learnt_category(subject, words)
    category = category or learnt or _triaged_category(judged)
    priority = _triaged_priority(judged, priority, category)
    ticket = Ticket(
        subject=subject[:200], description=description.strip(), customer=customer, channel=channel,
        category=category, priority=priority, complexity=complexity, team=team, status=Status.NEW,
        language=language or customer.language, created_at=moment, updated_at=moment,
        last_customer_message_at=moment, message_count=1 if body or uploads else 0,
        triage=triage_record(judged, learnt), escalation_risk=judged.risk.value, **facts,
    )
    route = routing_engine.plan_intake(ticket, tags, moment) if auto_assign else None
    if route is not None:
        ticket.team = route.destination.queue.team
        owner = _agent(route.choice.agent_id) if route.choice is not None else None
    elif auto_assign:
        owner, ticket.team = choose_intake_owner(team)
    else:
        owner = None
    _set_intake_owner(ticket, owner)
    message = Message(ticket=ticket, kind=Message.Kind.CUSTOMER, author=actor, channel=channel, body_text=body,
                      body_html=sanitize_html(html) if html else "", created_at=moment)
    sla_plan = sla_services.plan_for_new_ticket(ticket)
    # Plain inserts (kefu.core.bulk): on SQLite every other writer waits while this transaction runs; on
    # PostgreSQL they go out without waiting for each answer, and all but the ticket's as one statement.
    with transaction.atomic():
        # The claim's row count is its answer, so it goes before the pipelined inserts.
        if route is not None and owner is not None and routing_engine.commit_intake(route) is None:
            # The agent filled up since the decision: the ticket waits in its queue instead.
            owner = None
            _set_intake_owner(ticket, None)
            sla_plan = sla_services.plan_for_new_ticket(ticket)
        with pipelined(), together():
            _write_intake(ticket, message, actor, owner, route, sla_plan, uploads, tags, moment, in_reply_to)
    ticket.opening_message = message  # channels link their own record of the contact to it
    return ticket


def _write_intake(ticket: Ticket, message: Message, actor: User | None, owner: User | None,
                  route: routing_engine.IntakeRoute | None, sla_plan: sla_services.IntakePlan | None,
                  uploads: Sequence[Upload], tags: Sequence[str], moment: dt.datetime, in_reply_to: str) -> None:
    """Intake's inserts, each table once (plain inserts, kefu.core.bulk)."""
    events = _intake_events(ticket, actor, owner, route.choice if route is not None else None)
    if sla_plan is not None:
        events.append(sla_plan.event)
    insert_one(ticket)
    if ticket.escalation_risk == "high":
        _alert_escalation_risk(ticket)
    if tags:
        _set_tags(ticket, tags)
    if owner is not None:
        update_one(User, owner.pk, last_assigned_at=moment)
    if sla_plan is not None:
        sla_services.save_plan(sla_plan)
    if route is not None:
        first_due = min((c.due_at for c in sla_plan.clocks if c.due_at), default=None) if sla_plan else None
        insert_many([routing_engine.save_intake_entry(route, ticket, first_due)])
    insert_many(events)
    queue_webhooks(webhook_event(ticket, event) for event in events)
    insert_many([TicketSearchDocument(ticket=ticket, tokens=_search_tokens(ticket, [message.body_text]))])
    answered = {"in_reply_to": in_reply_to} if in_reply_to else {}
    _queue_for_customer(ticket, "ticket_received", owner_name=owner.name if owner else "", **answered)
    insert_one(message)  # last: with `together()` the writes above go out with it
    _store_attachments(message, uploads)


# ---------------------------------------------------------------------------------------------- triage

TRIAGE_MIN_CONFIDENCE = 0.6  # below it, the machine's category and priority are a suggestion only
REPEAT_CONTACT_DAYS = 7


def _triage(customer: Customer, subject: str, description: str, moment: dt.datetime) -> triage_rules.Triage:
    recent = 0
    if customer.pk is not None:
        # Triage tells two or three recent tickets from more: the newest three are enough to count.
        since = moment - dt.timedelta(days=REPEAT_CONTACT_DAYS)
        recent = sum(1 for t in _newest_tickets_of.all(customer.pk) if t.created_at >= since)
    return triage_rules.triage(subject, description, recent_contacts=recent, tier=customer.tier)


_newest_tickets_of = Prepared(
    lambda customer_id: Ticket.objects.filter(customer_id=customer_id).order_by("-id").only("id", "created_at")[:3],
    [int])


def triage_record(judged: triage_rules.Triage, learnt: Category | None = None) -> dict[str, Any]:
    """The triage as stored on the ticket: per judgement its value, confidence and [code, evidence] reasons;
    the category learnt from past tickets replaces an unsure keyword reading."""
    def finding(f: triage_rules.Finding) -> dict[str, Any]:
        return {"value": f.value, "confidence": f.confidence, "reasons": [[r.code, r.evidence] for r in f.reasons]}

    category = finding(judged.category) if learnt is None else {
        "value": learnt.slug, "confidence": TRIAGE_MIN_CONFIDENCE, "reasons": [["past_tickets", ""]]}
    return {"category": category, "priority": finding(judged.priority),
            "sentiment": {**finding(judged.sentiment), "score": judged.sentiment_score}, "risk": finding(judged.risk)}


def _learnt_category(subject: str, words: str) -> Category | None:
    """When the keyword rules are unsure: the category that past tickets saying the same had, if any."""
    slug = bot_brain.category_from_history(subject, words)
    return _active_categories.get().get(slug) if slug else None


def _triaged_category(judged: triage_rules.Triage) -> Category | None:
    if judged.category.confidence < TRIAGE_MIN_CONFIDENCE:
        return None
    return _active_categories.get().get(judged.category.value)


# Categories change rarely and are read on every intake: each process keeps them for a few seconds.
_active_categories = short_lived(lambda: {c.slug: c for c in Category.objects.filter(active=True)})


def _triaged_priority(judged: triage_rules.Triage, given: str | None, category: Category | None) -> str:
    """The given priority, or the category's; raised to the machine's when it is confident, and to at least
    high when the escalation risk is high (whatever was given)."""
    priority = given or (category.default_priority if category else Priority.NORMAL)
    if given is None and judged.priority.confidence >= TRIAGE_MIN_CONFIDENCE:
        priority = min(priority, judged.priority.value, key=lambda p: PRIORITY_RANK[Priority(p)])
    if judged.risk.value == "high":
        priority = min(priority, Priority.HIGH, key=lambda p: PRIORITY_RANK[Priority(p)])
    return priority


RISK_ALERT_TEXT = gettext_noop("#%(number)s: high escalation risk (%(reasons)s). Please look at it now.")


def _alert_escalation_risk(ticket: Ticket) -> None:
    """Supervisors of the ticket's team (all supervisors when it has none) hear of a high risk at once."""
    supervisors = User.objects.filter(is_active=True, role=Role.SUPERVISOR)
    if ticket.team_id is not None and supervisors.filter(departments=ticket.team_id).exists():
        supervisors = supervisors.filter(departments=ticket.team_id)
    evidence = ", ".join(e for _code, e in ticket.triage["risk"]["reasons"] if e)[:120]
    alert_staff_many([StaffAlertRequest(user, "escalation_risk", ticket.pk, lambda language: _(RISK_ALERT_TEXT) % {
        "number": ticket.number, "reasons": evidence}) for user in supervisors])


def _agent(user_id: int) -> User:
    return _user_by_id.first(user_id)  # type: ignore[return-value]


_user_by_id = Prepared(lambda user_id: User.objects.filter(pk=user_id)[:1], [int])


def _set_intake_owner(ticket: Ticket, owner: User | None) -> None:
    ticket.owner = owner
    ticket.status = Status.OPEN if owner else Status.NEW
    ticket.accepted_at = ticket.created_at if owner else None


def _intake_events(ticket: Ticket, actor: User | None, owner: User | None,
                   choice: routing_strategies.Choice | None = None) -> list[TicketEvent]:
    moment = ticket.created_at
    events = [TicketEvent(ticket=ticket, type="created", actor=actor, public=True, at=moment,
                          payload={"channel": ticket.channel, "subject": ticket.subject})]
    if owner is not None:
        reason = routing_strategies.describe(choice) if choice is not None else {}
        events += [
            TicketEvent(ticket=ticket, type="assigned", actor=None, public=True, at=moment,
                        payload={"before": None, "after": owner.name, "owner_id": owner.pk, "reason": "intake",
                                 **reason}),
            TicketEvent(ticket=ticket, type="status_changed", actor=None, public=True, at=moment,
                        payload={"before": Status.NEW, "after": Status.OPEN, "action": Action.ACCEPT}),
        ]
    return events


# ---------------------------------------------------------------------------------------------- ownership


def _assign(ticket: Ticket, agent: User, *, actor: User | None, reason: str = "",
            routing: dict[str, Any] | None = None) -> None:
    if not agent.is_active or agent.role not in {Role.AGENT, Role.SUPERVISOR, Role.ADMIN}:
        raise DomainError(_("%(name)s cannot own tickets.") % {"name": agent.name}, code="invalid_owner")
    before = ticket.owner.name if ticket.owner is not None else None
    from_owner_id = ticket.owner_id
    ticket.owner = agent
    User.objects.filter(pk=agent.pk).update(last_assigned_at=now())
    fields = ["owner"]
    if ticket.team_id is None:
        team = agent.departments.filter(kind=Department.Kind.SUPPORT).order_by("id").first()
        if team is not None:
            ticket.team = team
            fields.append("team")
    _touch(ticket, *fields)
    _record(ticket, "assigned", actor=actor, public=True, before=before, after=agent.name, owner_id=agent.pk,
            from_owner_id=from_owner_id, reason=reason, **(routing or {}))


def _accept(ticket: Ticket, *, actor: User | None) -> None:
    before, after = _transition(ticket, Action.ACCEPT)
    ticket.accepted_at = now()
    _touch(ticket, "status", "accepted_at")
    _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after, action=Action.ACCEPT)


@transaction.atomic
def assign_ticket(ticket: Ticket, agent: User, *, actor: User, reason: str = "") -> Ticket:
    _require_staff_writer(actor)
    if ticket.owner_id == agent.pk:
        return ticket
    if Status(ticket.status) not in {Status.NEW, *WORKING, Status.RESOLVED}:
        raise DomainError(_("A finished ticket cannot be reassigned."), code="finished")
    _assign(ticket, agent, actor=actor, reason=reason or "manual")
    return ticket


def route_to_agent(ticket: Ticket, agent: User, *, reason: str, detail: dict[str, Any]) -> Ticket:
    """The routing engine's assignment (no human actor): why, and the detail recorded with it, e.g.
    {"strategy": "best_skill", "score": 0.92, "load": "3/25"}; a new ticket is accepted on the way."""
    with transaction.atomic():
        _assign(ticket, agent, actor=None, reason=reason, routing=detail)
        if ticket.status == Status.NEW:
            _accept(ticket, actor=None)
    return ticket


@transaction.atomic
def transfer_ticket(ticket: Ticket, *, actor: User, to_agent: User | None = None, to_team: Department | None = None,
                    note: str = "") -> Ticket:
    """Hand a ticket to another agent and/or team with everything on it; a transfer to a team without an
    agent puts it in that team's queue. Counted as a transfer (the "transferred" event)."""
    _require_staff_writer(actor)
    if to_agent is None and to_team is None:
        raise DomainError(_("Choose an agent or a team to transfer to."), code="transfer_target")
    if Status(ticket.status) not in {Status.NEW, *WORKING}:
        raise DomainError(_("Only a ticket in progress can be transferred."), code="finished")
    if to_agent is not None and (not to_agent.can_write_tickets or to_agent.role == Role.CUSTOMER):
        raise DomainError(_("%(name)s cannot own tickets.") % {"name": to_agent.name}, code="invalid_owner")
    if to_team is not None and to_team.kind != Department.Kind.SUPPORT:
        raise DomainError(_("Tickets can only be transferred to a support team."), code="invalid_team")
    if (to_agent is None or to_agent.pk == ticket.owner_id) and (to_team is None or to_team.pk == ticket.team_id):
        raise DomainError(_("The ticket is already there."), code="same_place")
    before = {"from_owner_id": ticket.owner_id, "from_owner": ticket.owner.name if ticket.owner else None,
              "from_team": ticket.team.name if ticket.team else None}
    if to_team is not None:
        ticket.team = to_team
    ticket.owner = to_agent
    if to_agent is not None:
        User.objects.filter(pk=to_agent.pk).update(last_assigned_at=now())
    _touch(ticket, "owner", "team")
    if note.strip():
        _add_message(ticket, Message.Kind.NOTE, note.strip(), actor=actor, channel=Channel.WEB)
    _record(ticket, "transferred", actor=actor, public=False, **before,
            to_owner=to_agent.name if to_agent else None, to_team=ticket.team.name if ticket.team else None,
            note=note.strip()[:500])
    return ticket


@transaction.atomic
def accept_ticket(ticket: Ticket, *, actor: User) -> Ticket:
    """受理: the ticket gets an owner (the actor if it had none) and becomes open."""
    _require_staff_writer(actor)
    if ticket.owner_id is None:
        _assign(ticket, actor, actor=actor, reason="accepted")
    _accept(ticket, actor=actor)
    return ticket


# ---------------------------------------------------------------------------------------------- messages


@transaction.atomic
def reply_to_customer(
    ticket: Ticket, body: str, *, actor: User, html: str = "", uploads: Sequence[Upload] = ()
) -> Message:
    """A public reply. The first one is the ticket's first response; a new ticket is accepted by it."""
    _require_staff_writer(actor)
    if Status(ticket.status) in {Status.CLOSED, Status.CANCELLED, Status.MERGED}:
        raise DomainError(_("This ticket is finished; reopen it before replying."), code="finished")
    if ticket.status == Status.NEW:
        if ticket.owner_id is None:
            _assign(ticket, actor, actor=actor, reason="replied")
        _accept(ticket, actor=actor)
    message = _add_message(ticket, Message.Kind.REPLY, body, actor=actor, channel=ticket.channel, html=html,
                           uploads=uploads)
    fields = []
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        fields.append("first_response_at")
    _touch(ticket, *fields)
    _record(ticket, "replied", actor=actor, public=True, message_id=message.pk,
            first_response="first_response_at" in fields)
    reindex_ticket(ticket)
    _notify_customer(ticket, _("%(agent)s replied to your request.") % {"agent": actor.name}, message.body_text)
    return message


def send_progress_update(ticket: Ticket, *, progress: str, obstacle: str, next_step: str, actor: User) -> Message:
    """The cadence update (进展/障碍/下一步): a public reply in three parts, in the customer's language."""
    parts = {"progress": progress.strip(), "obstacle": obstacle.strip(), "next_step": next_step.strip()}
    if not parts["progress"] or not parts["next_step"]:
        raise DomainError(_("Say what has progressed and what happens next."), code="update_incomplete")
    with translation.override(_customer_language(ticket)):
        headings = {"progress": _("Progress"), "obstacle": _("Obstacles"), "next_step": _("Next step")}
        body = "\n\n".join(f"{headings[key]}: {text}" for key, text in parts.items() if text)
    return reply_to_customer(ticket, body, actor=actor)


@transaction.atomic
def add_internal_note(ticket: Ticket, body: str, *, actor: User, uploads: Sequence[Upload] = ()) -> Message:
    _require_staff_writer(actor)
    message = _add_message(ticket, Message.Kind.NOTE, body, actor=actor, channel=Channel.WEB, uploads=uploads)
    _touch(ticket)
    _record(ticket, "note_added", actor=actor, message_id=message.pk)
    reindex_ticket(ticket)
    return message


@transaction.atomic
def add_chat_transcript(ticket: Ticket, transcript: str) -> Message:
    """A chat's conversation kept on its ticket as an internal note (the system writes it, not a person)."""
    message = _add_message(ticket, Message.Kind.NOTE, transcript, actor=None, channel=Channel.CHAT)
    _touch(ticket)
    _record(ticket, "note_added", actor=None, message_id=message.pk, source="chat")
    reindex_ticket(ticket)
    return message


@transaction.atomic
def is_finished(ticket: Ticket) -> bool:
    """Closed, cancelled or merged: the customer's next words belong on a new ticket."""
    return Status(ticket.status) in {Status.CLOSED, Status.CANCELLED, Status.MERGED}


@transaction.atomic
def add_customer_message(
    ticket: Ticket, body: str, *, actor: User, channel: str = Channel.WEB, uploads: Sequence[Upload] = (),
    html: str = "",
) -> Message:
    """The customer writes on their ticket; a ticket waiting on them goes back to work."""
    _require_ticket_customer(ticket, actor)
    if is_finished(ticket):
        raise DomainError(_("This ticket is closed. Please open a new request."), code="finished")
    message = _add_message(ticket, Message.Kind.CUSTOMER, body, actor=actor, channel=channel, uploads=uploads,
                           html=html)
    ticket.last_customer_message_at = message.created_at
    fields = ["last_customer_message_at"]
    if ticket.status == Status.WAITING_CUSTOMER:
        before, after = _transition(ticket, Action.RESUME)
        fields.append("status")
        _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after,
                action=Action.RESUME)
    _touch(ticket, *fields)
    # A customer who writes on another channel than the ticket began on: the timeline says so.
    switched = {"channel": channel, "began_on": ticket.channel} if channel != ticket.channel else {}
    _record(ticket, "customer_message", actor=actor, public=True, message_id=message.pk, **switched)
    reindex_ticket(ticket)
    return message


@transaction.atomic
def log_call(ticket: Ticket, *, call_id: str, phase: str, caller: str, agent: User | None = None,
             duration_s: int | None = None, recording_url: str = "") -> None:
    """A phone call on the ticket's timeline (ringing, answered, ended), from the phone system."""
    payload: dict[str, Any] = {"call_id": call_id, "phase": phase, "caller": caller}
    if agent is not None:
        payload["agent"] = agent.name
    if duration_s is not None:
        payload["duration_s"] = duration_s
    if recording_url:
        payload["recording_url"] = recording_url
    _record(ticket, "call", actor=agent, **payload)
    _touch(ticket)


# ---------------------------------------------------------------------------------------------- fields


def tag_names(names: Iterable[str]) -> list[str]:
    """Tags as stored: trimmed, at most 50 characters, no blanks or duplicates, sorted."""
    return sorted({n.strip()[:50] for n in names if n.strip()})


def _set_tags(ticket: Ticket, names: Sequence[str]) -> None:
    clean = tag_names(names)
    existing = {t.name: t for t in Tag.objects.filter(name__in=clean)}
    missing = [Tag(name=n) for n in clean if n not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    ticket.tags.set(Tag.objects.filter(name__in=clean))


@transaction.atomic
def update_ticket(ticket: Ticket, *, actor: User, tags: Sequence[str] | None = None, **changes: Any) -> Ticket:
    """Change classification, team, subject or 5W1H facts; the before/after goes on the timeline."""
    _require_staff_writer(actor)
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if "priority" in changes and changes["priority"] not in Priority.values:
        raise DomainError(_("Unknown priority."), code="invalid_priority")
    if "complexity" in changes and changes["complexity"] not in Complexity.values:
        raise DomainError(_("Unknown complexity."), code="invalid_complexity")
    diff: dict[str, dict[str, Any]] = {}
    for field, value in changes.items():
        current = getattr(ticket, field)
        if isinstance(value, str):
            value = value.strip()
        if current != value:
            diff[field] = {"before": _event_value(current), "after": _event_value(value)}
            setattr(ticket, field, value)
    if "subject" in diff and not ticket.subject:
        raise DomainError(_("Please give the request a subject."), code="subject_required")
    if tags is not None:
        before_tags = sorted(ticket.tags.values_list("name", flat=True))
        _set_tags(ticket, tags)
        after_tags = sorted(ticket.tags.values_list("name", flat=True))
        if before_tags != after_tags:
            diff["tags"] = {"before": before_tags, "after": after_tags}
    if not diff:
        return ticket
    _touch(ticket, *[f for f in diff if f != "tags"])
    _record(ticket, "updated", actor=actor, changes=diff)
    if "subject" in diff:
        reindex_ticket(ticket)
    return ticket


def _event_value(value: Any) -> Any:
    if hasattr(value, "pk"):
        return str(value)
    return value


@transaction.atomic
def verify_customer_identity(ticket: Ticket, method: str, value: str, *, actor: User) -> Ticket:
    """The agent checks who the customer is by order number, phone or account; the ticket shows it."""
    _require_staff_writer(actor)
    customer = ticket.customer
    value = value.strip()
    checks = {
        "order": lambda: customer.orders.filter(number__iexact=value).exists(),
        "phone": lambda: bool(customer.phone) and _digits(customer.phone) == _digits(value),
        "account": lambda: bool(customer.account_ref) and customer.account_ref.lower() == value.lower(),
    }
    if method not in checks:
        raise DomainError(_("Verify by order number, phone or account."), code="invalid_method")
    if not value or not checks[method]():
        _record(ticket, "identity_check_failed", actor=actor, method=method)
        raise DomainError(_("That does not match the customer's record."), code="identity_mismatch")
    ticket.identity_verified_at = now()
    ticket.identity_verified_by = actor
    ticket.identity_verified_method = method
    _touch(ticket, "identity_verified_at", "identity_verified_by", "identity_verified_method")
    _record(ticket, "identity_verified", actor=actor, method=method)
    return ticket


def _digits(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits[-11:]  # compare national numbers with or without the +86 prefix


# ---------------------------------------------------------------------------------------------- closed loop


@transaction.atomic
def change_status(ticket: Ticket, action: Action | str, *, actor: User, reason: str = "") -> Ticket:
    """The staff's plain status moves: wait on customer / internal, resume, cancel, reopen."""
    action = Action(action)
    if action in CUSTOMER_ACTIONS:
        raise PermissionDenied(_("Only the customer can confirm or object to a resolution."))
    if action == Action.RESOLVE:
        return resolve_ticket(ticket, actor=actor, summary=reason)
    if action == Action.ACCEPT:
        return accept_ticket(ticket, actor=actor)
    if action == Action.MERGE:
        raise DomainError(_("Choose the ticket to merge into."), code="merge_target_required")
    _require_staff_writer(actor)
    before, after = _transition(ticket, action)
    fields = ["status"]
    if action == Action.REOPEN:
        ticket.reopened_count += 1
        ticket.closed_at = None
        ticket.fix_verified_at = None
        fields += ["reopened_count", "closed_at", "fix_verified_at"]
    _touch(ticket, *fields)
    _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after, action=action,
            reason=reason)
    if action in {Action.WAIT_CUSTOMER, Action.CANCEL, Action.REOPEN}:
        _notify_customer(ticket, _("Your request is now: %(status)s.") % {"status": STATUS_LABELS[Status(after)]},
                         reason)
    return ticket


@transaction.atomic
def propose_solutions(ticket: Ticket, options: Sequence[dict[str, str]], *, actor: User) -> list[SolutionOption]:
    """Offer the customer one to three options with their trade-offs; a new round replaces the last."""
    _require_staff_writer(actor)
    if Status(ticket.status) not in WORKING and ticket.status != Status.NEW:
        raise DomainError(_("Solutions can only be proposed while the ticket is being worked on."),
                          code="not_working")
    cleaned = [o for o in options if (o.get("title") or "").strip()]
    if not 1 <= len(cleaned) <= MAX_SOLUTIONS:
        raise DomainError(_("Offer between one and three solutions."), code="solution_count")
    if ticket.status == Status.NEW:
        if ticket.owner_id is None:
            _assign(ticket, actor, actor=actor, reason="proposed")
        _accept(ticket, actor=actor)
    last_round = ticket.solutions.order_by("-round").values_list("round", flat=True).first() or 0
    created = SolutionOption.objects.bulk_create([
        SolutionOption(
            ticket=ticket, round=last_round + 1, position=i, title=o["title"].strip()[:200],
            description=(o.get("description") or "").strip(), tradeoffs=(o.get("tradeoffs") or "").strip(),
            proposed_by=actor, created_at=now(),
        )
        for i, o in enumerate(cleaned, start=1)
    ])
    ticket.chosen_solution = None
    _touch(ticket, "chosen_solution")
    _record(ticket, "solutions_proposed", actor=actor, public=True, round=last_round + 1,
            titles=[o.title for o in created])
    _notify_customer(ticket, _("We have proposed solutions for you to choose from."),
                     "\n".join(f"{o.position}. {o.title}" for o in created))
    return created


@transaction.atomic
def choose_solution(ticket: Ticket, option_id: int, *, actor: User) -> SolutionOption:
    _require_ticket_customer(ticket, actor)
    latest = ticket.solutions.order_by("-round").values_list("round", flat=True).first()
    option = ticket.solutions.filter(pk=option_id, round=latest).first() if latest else None
    if option is None:
        raise DomainError(_("That solution is not on offer any more."), code="solution_unavailable")
    if ticket.chosen_solution_id is not None:
        raise DomainError(_("A solution has already been chosen."), code="solution_already_chosen")
    if Status(ticket.status) not in WORKING:
        raise DomainError(_("This ticket is not waiting for a choice."), code="not_working")
    option.chosen_at = now()
    option.save(update_fields=["chosen_at"])
    ticket.chosen_solution = option
    fields = ["chosen_solution"]
    if ticket.status == Status.WAITING_CUSTOMER:
        before, after = _transition(ticket, Action.RESUME)
        fields.append("status")
        _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after,
                action=Action.RESUME)
    _touch(ticket, *fields)
    _record(ticket, "solution_chosen", actor=actor, public=True, option_id=option.pk, title=option.title)
    return option


@transaction.atomic
def verify_fix(ticket: Ticket, *, actor: User, note: str = "") -> Ticket:
    """内部验证: a colleague (or a supervisor, by policy) checks the fix before the customer is asked."""
    _require_staff_writer(actor)
    if settings.KEFU["VERIFICATION_BY"] == "supervisor" and actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("A supervisor must verify fixes."))
    if Status(ticket.status) not in WORKING:
        raise DomainError(_("Only a ticket being worked on can be verified."), code="not_working")
    if ticket.fix_verified_at is not None:
        raise DomainError(_("The fix is already verified."), code="already_verified")
    ticket.fix_verified_at = now()
    ticket.fix_verified_by = actor
    _touch(ticket, "fix_verified_at", "fix_verified_by")
    _record(ticket, "fix_verified", actor=actor, note=note.strip())
    return ticket


@transaction.atomic
def resolve_ticket(ticket: Ticket, *, actor: User, summary: str = "") -> Ticket:
    """Resolved awaits the customer's confirmation; it needs a verified fix first."""
    _require_staff_writer(actor)
    if ticket.fix_verified_at is None and Status(ticket.status) in WORKING:
        raise DomainError(_("Verify the fix internally before resolving."), code="not_verified")
    before, after = _transition(ticket, Action.RESOLVE)
    ticket.resolved_at = now()
    ticket.reevaluation_due_at = None
    _touch(ticket, "status", "resolved_at", "reevaluation_due_at")
    _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after,
            action=Action.RESOLVE, summary=summary.strip())
    _notify_customer(ticket, _("We believe your request is resolved. Please confirm, or tell us what is "
                               "still wrong."), summary)
    return ticket


@transaction.atomic
def confirm_resolution(ticket: Ticket, *, actor: User) -> Ticket:
    """客户确认: the customer agrees the problem is solved; the loop closes."""
    _require_ticket_customer(ticket, actor)
    before, after = _transition(ticket, Action.CONFIRM)
    ticket.closed_at = now()
    _touch(ticket, "status", "closed_at")
    _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after,
            action=Action.CONFIRM)
    return ticket


AUTO_CLOSE_BATCH = 200


def close_unconfirmed_resolutions(limit: int = AUTO_CLOSE_BATCH) -> int:
    """Close resolved tickets whose customer neither confirmed nor objected within RESOLVED_AUTO_CLOSE_DAYS
    (the loop closes by silence; the survey follows closure). Each ticket in its own transaction, so one
    that changed meanwhile is skipped, not lost. Returns how many were closed."""
    cutoff = now() - dt.timedelta(days=settings.KEFU["RESOLVED_AUTO_CLOSE_DAYS"])
    due = list(Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff)
               .order_by("resolved_at").values_list("pk", flat=True)[:limit])
    return sum(_close_unconfirmed(pk, cutoff) for pk in due)


@transaction.atomic
def _close_unconfirmed(ticket_id: int, cutoff: dt.datetime) -> bool:
    ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("customer")
              .filter(pk=ticket_id, status=Status.RESOLVED, resolved_at__lte=cutoff).first())
    if ticket is None:
        return False
    before, after = _transition(ticket, Action.CONFIRM)
    ticket.closed_at = now()
    _touch(ticket, "status", "closed_at")
    _record(ticket, "status_changed", actor=None, public=True, before=before, after=after, action=Action.CONFIRM,
            auto_closed=True)
    with translation.override(_customer_language(ticket)):
        _notify_customer(ticket, _("We have closed your request, as we did not hear back after resolving it. "
                                   "If the problem is still there, just write to us again."))
    return True


@transaction.atomic
def object_to_resolution(ticket: Ticket, reason: str, *, actor: User) -> Ticket:
    """异议: the ticket reopens with a re-evaluation deadline; the fix must be verified again."""
    _require_ticket_customer(ticket, actor)
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Please tell us what is still wrong."), code="reason_required")
    before, after = _transition(ticket, Action.OBJECT)
    ticket.reopened_count += 1
    ticket.fix_verified_at = None
    ticket.fix_verified_by = None
    ticket.resolved_at = None
    ticket.reevaluation_due_at = now() + dt.timedelta(hours=settings.KEFU["REEVALUATION_HOURS"])
    message = _add_message(ticket, Message.Kind.CUSTOMER, reason, actor=actor, channel=Channel.WEB)
    ticket.last_customer_message_at = message.created_at
    _touch(ticket, "status", "reopened_count", "fix_verified_at", "fix_verified_by", "resolved_at",
           "reevaluation_due_at", "last_customer_message_at")
    _record(ticket, "status_changed", actor=actor, public=True, before=before, after=after,
            action=Action.OBJECT, reason=reason, reevaluation_due_at=ticket.reevaluation_due_at.isoformat())
    reindex_ticket(ticket)
    return ticket


@transaction.atomic
def merge_ticket(source: Ticket, target: Ticket, *, actor: User) -> Ticket:
    """Fold a duplicate into the ticket that carries on; the customer keeps one conversation."""
    _require_staff_writer(actor)
    if source.pk == target.pk:
        raise DomainError(_("A ticket cannot be merged into itself."), code="merge_self")
    if Status(target.status) not in {Status.NEW, *WORKING}:
        raise DomainError(_("Merge into a ticket that is still open."), code="merge_target_finished")
    if source.customer_id != target.customer_id:
        raise DomainError(_("Only tickets of the same customer can be merged."), code="merge_other_customer")
    before, after = _transition(source, Action.MERGE)
    source.merged_into = target
    _touch(source, "status", "merged_into")
    _record(source, "status_changed", actor=actor, public=True, before=before, after=after, action=Action.MERGE,
            merged_into=target.pk)
    _add_message(target, Message.Kind.NOTE,
                 _("Ticket #%(number)s was merged into this one: %(subject)s")
                 % {"number": source.number, "subject": source.subject},
                 actor=actor, channel=Channel.WEB)
    _touch(target)
    _record(target, "merged_from", actor=actor, public=False, source=source.pk)
    return target


@transaction.atomic
def cancel_ticket(ticket: Ticket, *, actor: User, reason: str = "") -> Ticket:
    return change_status(ticket, Action.CANCEL, actor=actor, reason=reason)


# ---------------------------------------------------------------------------------------------- bulk


BULK_ACTIONS = ("assign", "priority", "status")


@transaction.atomic
def bulk_update_tickets(tickets: Sequence[Ticket], operation: str, value: Any, *, actor: User) -> int:
    """Apply one change to many tickets in one transaction: all succeed or none does."""
    _require_staff_writer(actor)
    if operation not in BULK_ACTIONS:
        raise DomainError(_("Unknown bulk action."), code="invalid_bulk_action")
    for ticket in tickets:
        try:
            if operation == "assign":
                assign_ticket(ticket, value, actor=actor, reason="bulk")
            elif operation == "priority":
                update_ticket(ticket, actor=actor, priority=value)
            else:
                change_status(ticket, value, actor=actor)
        except DomainError as exc:
            raise DomainError(
                _("Ticket #%(number)s: %(error)s") % {"number": ticket.number, "error": exc.message}, code=exc.code
            ) from exc
    return len(tickets)
