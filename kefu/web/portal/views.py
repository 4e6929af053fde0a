"""The customer portal: submit a request, follow it, answer, choose, confirm or object.

Every ticket page and action exists twice: for a signed-in customer (``/portal/tickets/<id>/``, loaded
through ``get_ticket_for``) and for the tracking link (``/t/<token>/``, the token being the bearer
secret; the actor is then the ticket's customer). Views parse, call one service or selector, render.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.models import Role, User
from kefu.accounts.services import create_login_link, redeem_login_link, set_password
from kefu.core.downloads import download_response
from kefu.core.errors import DomainError, NotFound
from kefu.core.ratelimit import RateLimit, client_ip
from kefu.customers.services import find_customer_by_email, find_or_create_customer
from kefu.notifications.services import queue_notification
from kefu.sla import selectors as sla_selectors
from kefu.tickets import selectors, services
from kefu.tickets.models import Message, SolutionOption, Ticket, TicketEvent
from kefu.tickets.states import TERMINAL, WORKING, Action, Status
from kefu.web.portal.forms import LoginLinkForm, SubmitForm, to_uploads

LOGIN_BACKEND = "kefu.accounts.backends.EmailOrUsernameBackend"
SUBMITTED_SESSION_KEY = "portal_submitted_token"

ANONYMOUS_SUBMISSIONS = RateLimit("portal_submit_ip", limit=10, window=3600)
LOGIN_LINKS_PER_IP = RateLimit("login_link_ip", limit=10, window=3600)
LOGIN_LINKS_PER_EMAIL = RateLimit("login_link_email", limit=3, window=3600)
# Tracking links that lead nowhere, per address: a token cannot be guessed, and trying is stopped early.
TRACKING_MISSES_PER_IP = RateLimit("tracking_miss_ip", limit=20, window=3600)

# The customer's words for the status, and the five steps of the progression they see.
CUSTOMER_STATUS = {
    Status.NEW: gettext_lazy("Received"),
    Status.OPEN: gettext_lazy("In progress"),
    Status.WAITING_INTERNAL: gettext_lazy("In progress"),
    Status.WAITING_CUSTOMER: gettext_lazy("Waiting for you"),
    Status.RESOLVED: gettext_lazy("Resolved — please confirm"),
    Status.CLOSED: gettext_lazy("Closed"),
    Status.CANCELLED: gettext_lazy("Cancelled"),
    Status.MERGED: gettext_lazy("Merged into another request"),
}
STEPS = (
    gettext_lazy("Received"),
    gettext_lazy("In progress"),
    gettext_lazy("Waiting for you"),
    gettext_lazy("Resolved"),
    gettext_lazy("Closed"),
)
STEP_OF_STATUS = {
    Status.NEW: 0, Status.OPEN: 1, Status.WAITING_INTERNAL: 1, Status.WAITING_CUSTOMER: 2,
    Status.RESOLVED: 3, Status.CLOSED: 4,
}


def customer_status(status: str) -> str:
    return str(CUSTOMER_STATUS[Status(status)])


# ---------------------------------------------------------------------------------------------- access


def customer_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Portal pages are for customers; staff belong in the console (sign-in is enforced globally)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.role != Role.CUSTOMER:  # type: ignore[union-attr]
            return redirect("web:console_tickets")
        return view(request, *args, **kwargs)

    return wrapper


@dataclass
class TicketAccess:
    """A ticket as one path reached it: who acts, and the URL prefix its actions hang under."""

    ticket: Ticket
    actor: User
    base_url: str
    tracking: bool


def _by_id(request: HttpRequest, ticket_id: int, *, for_update: bool = False) -> TicketAccess:
    try:
        ticket = selectors.get_ticket_for(request.user, ticket_id, for_update=for_update)
    except NotFound:
        raise Http404 from None
    return TicketAccess(ticket, request.user, reverse("web:portal_ticket", args=[ticket.pk]),  # type: ignore[arg-type]
                        tracking=False)


def _tracking_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A tracking-link view that refuses an address after too many links that led nowhere (counted on 404)."""

    @functools.wraps(view)
    def limited(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        address = client_ip(request)
        if TRACKING_MISSES_PER_IP.exceeded(address):
            return render(request, "web/portal/too_many.html", status=429)
        try:
            return view(request, token, *args, **kwargs)
        except Http404:
            TRACKING_MISSES_PER_IP.hit(address)
            raise

    return limited


def _by_token(token: str, *, for_update: bool = False) -> TicketAccess:
    try:
        ticket = selectors.get_ticket_by_tracking_token(token, for_update=for_update)
    except NotFound:
        raise Http404 from None
    return TicketAccess(ticket, ticket.customer.user, reverse("web:track", args=[token]), tracking=True)


# ---------------------------------------------------------------------------------------------- list


@customer_required
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    tickets = list(
        selectors.visible_tickets(request.user).select_related("category").order_by("-id")[:200]
    )
    rows = [{"ticket": t, "status": customer_status(t.status)} for t in tickets]
    return render(request, "web/portal/home.html", {"rows": rows})


# ---------------------------------------------------------------------------------------------- intake


def _current_customer(request: HttpRequest) -> Any:
    user = request.user
    if user.is_authenticated and user.role == Role.CUSTOMER:  # type: ignore[union-attr]
        return user.customer_profile  # type: ignore[union-attr]
    return None


@login_not_required
@require_http_methods(["GET", "POST"])
def portal_submit(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.role != Role.CUSTOMER:  # type: ignore[union-attr]
        return redirect("web:console_tickets")
    customer = _current_customer(request)
    anonymous = customer is None
    if request.method != "POST":
        return render(request, "web/portal/submit.html", {"form": SubmitForm(anonymous=anonymous)})
    form = SubmitForm(request.POST, request.FILES, anonymous=anonymous)
    if anonymous and not ANONYMOUS_SUBMISSIONS.hit(client_ip(request)):
        form.is_valid()  # keep showing what was typed, with the field errors it has
        form.add_error(None, _("Too many requests were submitted from your network in the last hour. "
                               "Please try again later, or sign in to submit."))
        return render(request, "web/portal/submit.html", {"form": form}, status=429)
    if not form.is_valid():
        return render(request, "web/portal/submit.html", {"form": form}, status=400)
    data = form.cleaned_data
    uploads = to_uploads(data["attachments"])
    try:
        for upload in uploads:
            services.validate_upload(upload)
        if anonymous:
            customer = find_or_create_customer(email=data["email"], name=data["name"], phone=data["phone"],
                                               language=translation.get_language() or "")
        ticket = services.open_ticket(
            customer=customer, subject=data["subject"], description=data["description"],
            actor=None if anonymous else customer.user,  # a visitor's claimed address is not a signed-in actor
            channel="web", category=data["category"], facts=form.facts, uploads=uploads,
            language=translation.get_language() or "",
        )
    except DomainError as exc:
        form.add_error("attachments" if exc.code.startswith("attachment") else None, exc.message)
        return render(request, "web/portal/submit.html", {"form": form}, status=400)
    request.session[SUBMITTED_SESSION_KEY] = ticket.tracking_token
    return redirect("web:portal_submitted")


@login_not_required
@require_GET
def portal_submitted(request: HttpRequest) -> HttpResponse:
    """The acknowledgement: number, owner and tracking link, all at once (POST-redirect-GET target)."""
    token = request.session.get(SUBMITTED_SESSION_KEY, "")
    try:
        ticket = selectors.get_ticket_by_tracking_token(token)
    except NotFound:
        return redirect("web:portal_submit")
    return render(request, "web/portal/submitted.html",
                  {"ticket": ticket, "tracking_url": services.tracking_url(ticket)})


# ---------------------------------------------------------------------------------------------- ticket page


def _event_sentence(event: TicketEvent) -> str:
    payload = event.payload or {}
    who = event.actor.name if event.actor_id and event.actor else ""
    if event.type == "created":
        return _("We received your request.")
    if event.type == "assigned":
        return _("%(name)s is looking after your request.") % {"name": payload.get("after", "")}
    if event.type == "replied":
        return _("%(name)s replied.") % {"name": who or _("Support")}
    if event.type == "customer_message":
        return _("You sent a message.")
    if event.type == "solutions_proposed":
        return _("Solutions were proposed for you to choose from.")
    if event.type == "solution_chosen":
        return _("You chose: %(title)s.") % {"title": payload.get("title", "")}
    if event.type == "status_changed":
        action = payload.get("action")
        if action == Action.CONFIRM:
            return _("You confirmed that the problem is solved.")
        if action == Action.OBJECT:
            return _("You told us the problem is not solved yet; we are looking at it again.")
        after = payload.get("after")
        if isinstance(after, str) and after in {s.value for s in Status}:
            return _("Status: %(status)s.") % {"status": customer_status(after)}
    return _("Your request was updated.")


def _ticket_page(request: HttpRequest, access: TicketAccess) -> HttpResponse:
    ticket, actor = access.ticket, access.actor
    status = Status(ticket.status)
    thread = list(selectors.visible_messages(actor, ticket))
    events = selectors.timeline(actor, ticket)
    solutions: list[SolutionOption] = list(ticket.solutions.all())
    latest_round = max((o.round for o in solutions), default=0)
    step = STEP_OF_STATUS.get(status)
    context = {
        "ticket": ticket,
        "access": access,
        "status_text": customer_status(ticket.status),
        "steps": [{"label": label, "done": step is not None and i < step, "current": i == step}
                  for i, label in enumerate(STEPS)] if step is not None else [],
        "timeline": [{"at": e.at, "text": _event_sentence(e)} for e in events],
        "thread": [{"message": m, "mine": m.kind == Message.Kind.CUSTOMER,
                    "author": ticket.customer.name if m.kind == Message.Kind.CUSTOMER
                    else (m.author.name if m.author else _("Support"))} for m in thread],
        "solutions": [o for o in solutions if o.round == latest_round],
        "can_choose": ticket.chosen_solution_id is None and status in WORKING,
        "can_reply": status not in TERMINAL,
        "awaiting_confirmation": status == Status.RESOLVED,
        "promise": sla_selectors.customer_promise(ticket),
    }
    return render(request, "web/portal/ticket.html", context)


@customer_required
@require_GET
def portal_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _ticket_page(request, _by_id(request, ticket_id))


@login_not_required
@require_GET
@_tracking_limited
def track(request: HttpRequest, token: str) -> HttpResponse:
    return _ticket_page(request, _by_token(token))


# ---------------------------------------------------------------------------------------------- actions


def _act(load: Callable[[], TicketAccess], work: Callable[[TicketAccess], str], request: HttpRequest) -> HttpResponse:
    """Load the ticket locked, run one service, and go back to the ticket page with the outcome."""
    base_url = ""
    try:
        with transaction.atomic():
            access = load()
            base_url = access.base_url
            messages.success(request, work(access))
    except DomainError as exc:
        if not base_url:
            raise Http404 from None
        messages.error(request, exc.message)
    return redirect(base_url)


def _reply(request: HttpRequest) -> Callable[[TicketAccess], str]:
    def work(access: TicketAccess) -> str:
        uploads = to_uploads(request.FILES.getlist("attachments"))
        services.add_customer_message(access.ticket, request.POST.get("body", ""), actor=access.actor,
                                      uploads=uploads)
        return _("Your message was sent.")

    return work


def _choose(request: HttpRequest) -> Callable[[TicketAccess], str]:
    def work(access: TicketAccess) -> str:
        try:
            option_id = int(request.POST.get("option", ""))
        except ValueError:
            raise DomainError(_("Please choose one of the solutions.")) from None
        option = services.choose_solution(access.ticket, option_id, actor=access.actor)
        return _("You chose: %(title)s. We will carry it out and keep you posted.") % {"title": option.title}

    return work


def _confirm(request: HttpRequest) -> Callable[[TicketAccess], str]:
    def work(access: TicketAccess) -> str:
        services.confirm_resolution(access.ticket, actor=access.actor)
        return _("Thank you for confirming. Your request is closed.")

    return work


def _object(request: HttpRequest) -> Callable[[TicketAccess], str]:
    def work(access: TicketAccess) -> str:
        services.object_to_resolution(access.ticket, request.POST.get("reason", ""), actor=access.actor)
        return _("Thank you. We have reopened your request and will look at it again.")

    return work


ACTIONS = {"reply": _reply, "choose": _choose, "confirm": _confirm, "object": _object}


def _portal_action(name: str) -> Callable[..., HttpResponseBase]:
    @customer_required
    @require_POST
    def view(request: HttpRequest, ticket_id: int) -> HttpResponse:
        return _act(lambda: _by_id(request, ticket_id, for_update=True), ACTIONS[name](request), request)

    view.__name__ = f"portal_{name}"
    return view


def _track_action(name: str) -> Callable[..., HttpResponseBase]:
    @login_not_required
    @require_POST
    @_tracking_limited
    def view(request: HttpRequest, token: str) -> HttpResponse:
        return _act(lambda: _by_token(token, for_update=True), ACTIONS[name](request), request)

    view.__name__ = f"track_{name}"
    return view


portal_reply, track_reply = _portal_action("reply"), _track_action("reply")
portal_choose, track_choose = _portal_action("choose"), _track_action("choose")
portal_confirm, track_confirm = _portal_action("confirm"), _track_action("confirm")
portal_object, track_object = _portal_action("object"), _track_action("object")


# ---------------------------------------------------------------------------------------------- files


def _serve_attachment(access: TicketAccess, attachment_id: int) -> HttpResponseBase:
    try:
        attachment = selectors.get_attachment_for(access.actor, attachment_id, ticket=access.ticket)
        return download_response(attachment.file, attachment.filename, attachment.content_type)
    except NotFound:
        raise Http404 from None


@customer_required
@require_GET
def portal_attachment(request: HttpRequest, ticket_id: int, attachment_id: int) -> HttpResponseBase:
    return _serve_attachment(_by_id(request, ticket_id), attachment_id)


@login_not_required
@require_GET
@_tracking_limited
def track_attachment(request: HttpRequest, token: str, attachment_id: int) -> HttpResponseBase:
    return _serve_attachment(_by_token(token), attachment_id)


# ---------------------------------------------------------------------------------------------- sign-in


@login_not_required
@require_http_methods(["GET", "POST"])
def portal_login_link(request: HttpRequest) -> HttpResponse:
    """Ask for a one-time sign-in link. The answer never says whether the address is known."""
    form = LoginLinkForm(request.POST or None)
    if request.method != "POST":
        return render(request, "web/portal/login_link.html", {"form": form})
    if not LOGIN_LINKS_PER_IP.hit(client_ip(request)):
        form.add_error(None, _("Too many sign-in links were requested from your network. Please try again in "
                               "an hour."))
        return render(request, "web/portal/login_link.html", {"form": form}, status=429)
    if not form.is_valid():
        return render(request, "web/portal/login_link.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    # Counted for every address, known or not, so the limit itself reveals nothing either.
    if LOGIN_LINKS_PER_EMAIL.hit(email):
        _send_login_link(email)
    messages.success(request, _("If the address is known to us, a sign-in link is on its way. It works once "
                                "and expires in %(minutes)s minutes.")
                     % {"minutes": settings.KEFU["MAGIC_LINK_MINUTES"]})
    return redirect("web:portal_login_link")


def _send_login_link(email: str) -> None:
    customer = find_customer_by_email(email)
    if customer is None or not customer.user.is_active or customer.user.role != Role.CUSTOMER:
        return
    user = customer.user
    with transaction.atomic():
        secret = create_login_link(user)
        queue_notification(
            recipient=customer.email or user.email, template="login_link",
            language=user.language or customer.language or translation.get_language() or "",
            context={"url": settings.PUBLIC_BASE_URL + reverse("web:portal_login_link_confirm", args=[secret]),
                     "minutes": settings.KEFU["MAGIC_LINK_MINUTES"]},
        )


@login_not_required
@require_http_methods(["GET", "POST"])
def portal_login_link_confirm(request: HttpRequest, secret: str) -> HttpResponse:
    """GET only shows a button: mail scanners that follow links must not use up the link."""
    if request.method != "POST":
        return render(request, "web/portal/login_link_confirm.html", {})
    try:
        user, next_path = redeem_login_link(secret)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:portal_login_link")
    login(request, user, backend=LOGIN_BACKEND)
    if next_path and url_has_allowed_host_and_scheme(next_path, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return redirect(next_path)
    return redirect("web:portal_home")


@customer_required
@require_http_methods(["GET", "POST"])
def portal_password(request: HttpRequest) -> HttpResponse:
    form = SetPasswordForm(cast(User, request.user), request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = set_password(form.user, form.cleaned_data["new_password1"], actor=form.user)
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password is set. You can now also sign in with it."))
        return redirect("web:portal_home")
    return render(request, "web/portal/password.html", {"form": form},
                  status=400 if request.method == "POST" else 200)
