"""Who may call the API: a signed-in session (CSRF enforced) or a personal bearer token.

Staff use the whole API. Customers may use only operations marked
``openapi_extra={"x-kefu-access": "customer"}`` (reading and answering their own tickets); the access
layer then limits them to their own tickets. Everybody else gets 401 (no credentials) or 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from kefu.accounts.models import Role, User
from kefu.accounts.services import user_for_api_token
from kefu.core.errors import PermissionDenied

CUSTOMER_ACCESS_KEY = "x-kefu-access"
CUSTOMER_ACCESS = {CUSTOMER_ACCESS_KEY: "customer"}
"""``openapi_extra`` for operations that customers may call on their own tickets."""


def _admit(user: User, *, customers: bool) -> User:
    if user.is_staff_member:
        return user
    if customers and user.is_active and user.role == Role.CUSTOMER:
        return user
    raise PermissionDenied(_("Your account cannot use this part of the API."))


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer kefu_…`` — a token issued at POST /me/tokens."""

    def __init__(self, *, customers: bool = False) -> None:
        self.customers = customers
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_api_token(token.strip())
        if user is None:
            return None
        request.user = user
        return _admit(user, customers=self.customers)


class SessionAuth(APIKeyCookie):
    """The browser's signed-in session. Unsafe methods need the CSRF token (X-CSRFToken header)."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self, *, customers: bool = False) -> None:
        self.customers = customers
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # anonymous: 401, not a CSRF complaint
        return super().__call__(request)

    def _get_key(self, request: HttpRequest) -> str | None:
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDenied(_("The CSRF check failed. Reload the page and try again."), code="csrf_failed")
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return _admit(request.user, customers=self.customers)  # type: ignore[arg-type]


# The bearer token goes first: a token request carries no CSRF token and must not fail that check.
STAFF_AUTH = [ApiTokenAuth(), SessionAuth()]
CUSTOMER_AUTH = [ApiTokenAuth(customers=True), SessionAuth(customers=True)]
