"""Chat pages: the widget's frame and the portal's full-page chat (both start a chat from a pre-chat
form, then talk over the WebSocket), the console's chat desk, and chat files."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from kefu.accounts.models import Role
from kefu.chat import selectors, services
from kefu.core.downloads import download_response
from kefu.core.errors import DomainError, NotFound
from kefu.core.middleware import FRAMEABLE_CONTENT_SECURITY_POLICY
from kefu.core.ratelimit import RateLimit, client_ip

CHATS_PER_IP = RateLimit("chat_start_ip", limit=20, window=3600)


def _start_form(request: HttpRequest, template: str, *, embedded: bool) -> HttpResponse:
    # The embedded widget takes posts without a CSRF token (a frame in another site has none), so it must not
    # act for whoever is signed in: the pre-chat form says who the visitor is. The portal's chat page may.
    signed_in = request.user.is_authenticated and request.user.role == Role.CUSTOMER
    user = request.user if signed_in and not embedded else None
    error = ""
    if request.method == "POST":
        if not CHATS_PER_IP.hit(client_ip(request)):
            return render(request, template, {"session": None, "embedded": embedded, "known": user,
                                              "error": _("Too many chats from your network. Please try later.")},
                          status=429)
        pre = services.PreChat(name=request.POST.get("name", ""), phone=request.POST.get("phone", ""),
                               email=request.POST.get("email", ""), order_number=request.POST.get("order", ""))
        try:
            session = services.start_chat(pre, user=user)  # type: ignore[arg-type]
        except DomainError as exc:
            error = exc.message
        else:
            return render(request, template, {"session": session, "embedded": embedded})
    return render(request, template, {"session": None, "error": error, "embedded": embedded,
                                      "known": user})


@csrf_exempt  # a frame in another site gets no CSRF cookie; starting a chat acts for nobody signed in
@login_not_required
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def widget(request: HttpRequest) -> HttpResponse:
    """The chat inside the embeddable widget's frame (any site may frame it; it holds no one's session)."""
    response = _start_form(request, "chat/widget.html", embedded=True)
    response["Content-Security-Policy"] = FRAMEABLE_CONTENT_SECURITY_POLICY
    return response


@login_not_required
@xframe_options_exempt
@require_GET
def resume(request: HttpRequest, chat_token: str) -> HttpResponse:
    """The widget's frame again, for a chat already started (after a reload of the host page)."""
    try:
        session = selectors.get_chat_by_token(chat_token)
    except NotFound:
        raise Http404 from None
    response = render(request, "chat/widget.html", {"session": session, "embedded": True})
    response["Content-Security-Policy"] = FRAMEABLE_CONTENT_SECURITY_POLICY
    return response


@require_http_methods(["GET", "POST"])
def portal_chat(request: HttpRequest) -> HttpResponseBase:
    if request.user.role != Role.CUSTOMER:  # type: ignore[union-attr]
        return redirect("web:console_tickets")  # as every portal page does for staff
    return _start_form(request, "chat/portal_chat.html", embedded=False)


@login_not_required
@require_GET
def chat_file(request: HttpRequest, signed: str) -> HttpResponseBase:
    try:
        message = selectors.get_chat_file(signed)
        return download_response(message.file, message.filename, message.content_type)
    except NotFound:
        raise Http404 from None
