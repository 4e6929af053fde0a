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
        # Only console pages count (the API and the portal never load the session's user here); pages that
        # refresh themselves (htmx polling) are not the agent at work.
        user = getattr(request, "user", None) if request.path.startswith("/console/") else None
        if (user is not None and "HX-Request" not in request.headers and user.is_authenticated
                and getattr(user, "role", None) in ROUTED_ROLES):
            last = request.session.get("kefu_active_at", 0)
            if time.time() - last > NOTE_EVERY_S:
                routing_services.note_activity(user)  # type: ignore[arg-type]
                request.session["kefu_active_at"] = time.time()
        return self.get_response(request)
