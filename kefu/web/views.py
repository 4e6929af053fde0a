from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.accounts.models import Role, User
from kefu.accounts.selectors import time_zone_choices, tokens_of
from kefu.accounts.services import issue_api_token, revoke_api_token, set_preferences
from kefu.core.errors import DomainError
from kefu.core.ratelimit import RateLimit, client_ip


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff_member:  # type: ignore[union-attr]
        return redirect("web:console_tickets")
    if request.user.role == Role.DEPARTMENT:  # type: ignore[union-attr]
        return redirect("web:console_requests")
    return redirect("web:portal_home")


# Failed sign-ins: past either limit, even the right password waits for the window to end (guessing stops).
LOGIN_FAILURES_PER_USERNAME = RateLimit("login_username", limit=10, window=900)
LOGIN_FAILURES_PER_IP = RateLimit("login_ip", limit=30, window=900)


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "").strip()
        if LOGIN_FAILURES_PER_IP.exceeded(client_ip(request)) or (
                username and LOGIN_FAILURES_PER_USERNAME.exceeded(username)):
            context = self.get_context_data(form=self.get_form_class()(request), locked=True)
            return render(request, self.template_name, context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        LOGIN_FAILURES_PER_IP.hit(client_ip(self.request))
        username = self.request.POST.get("username", "").strip()
        if username:
            LOGIN_FAILURES_PER_USERNAME.hit(username)
        return super().form_invalid(form)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return "/"
    return target


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user keeps the choice in their profile."""
    language = request.POST.get("language", "")
    response = redirect(_safe_next(request))
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        try:
            set_preferences(request.user, language=language)  # type: ignore[arg-type]
        except DomainError as exc:
            messages.error(request, exc.message)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Language and time zone for everyone; personal API tokens for staff."""
    user = cast(User, request.user)  # LoginRequiredMiddleware let only signed-in users through
    if request.method == "POST":
        try:
            set_preferences(user, language=request.POST.get("language", ""),
                            time_zone=request.POST.get("time_zone", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your preferences are saved."))
            response = redirect("web:preferences")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, max_age=365 * 24 * 3600,
                                samesite="Lax")
            return response
        return redirect("web:preferences")
    context = {
        "time_zones": time_zone_choices(),
        "tokens": tokens_of(user) if user.is_staff_member else [],
        "new_token_secret": request.session.pop("new_token_secret", None),
    }
    return render(request, "web/preferences.html", context)


@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff_member:  # type: ignore[union-attr]
        raise Http404
    _token, secret = issue_api_token(request.user, request.POST.get("name", ""),  # type: ignore[arg-type]
                                     actor=request.user)  # type: ignore[arg-type]
    # Shown once on the next page, then gone: only its hash is stored.
    request.session["new_token_secret"] = secret
    return redirect("web:preferences")


@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = next((t for t in tokens_of(request.user) if t.pk == token_id), None)  # type: ignore[arg-type]
    if token is None:
        raise Http404
    revoke_api_token(token, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The token is revoked."))
    return redirect("web:preferences")
