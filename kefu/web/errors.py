"""The page for a request that failed on our side (``handler500``): a database that cannot be reached (restarting,
failing over) answers 503 with Retry-After, which browsers, proxies and API clients know to try again; anything
else is the plain 500 page. Both are rendered without a request context: the database may be what failed."""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader

from kefu.core.errors import RETRY_AFTER_SECONDS, database_unavailable

log = logging.getLogger(__name__)


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while the exception is being handled, so sys.exc_info() names it.
    if database_unavailable(sys.exc_info()[1]):
        log.warning("request.database_unavailable", extra={"path": request.path})
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())
