"""Console activity for routing presence: an agent who works in the console is active; one who does not
for a while goes away (kefu.routing.services.expire_presence)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kefu.accounts.models import Role
from kefu.routing import services as routing_services

ROUTED_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
NOTE_EVERY_S = 60  # at most one write per agent and minute


class AgentActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # Pages that refresh themselves (htmx polling) are not the agent at work.
        if (user is not None and user.is_authenticated and getattr(user, "role", None) in ROUTED_ROLES
                and request.path.startswith("/console/") and "HX-Request" not in request.headers):
            last = request.session.get("kefu_active_at", 0)
            if time.time() - last > NOTE_EVERY_S:
                routing_services.note_activity(user)  # type: ignore[arg-type]
                request.session["kefu_active_at"] = time.time()
        return self.get_response(request)
