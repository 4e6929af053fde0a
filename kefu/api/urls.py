"""Assembles the REST API from each domain's router.

Every operation needs a staff session or bearer token (kefu.api.auth) unless its router marks it
``openapi_extra={"x-kefu-access": "customer"}``, and every operation documents and answers errors in
one shape (kefu.api.errors). The OpenAPI document is at /api/v1/openapi.json, its Swagger page at
/api/v1/docs (no inline script: the page loads ninja/swagger-ui-init.js from static files).
"""

from __future__ import annotations

from ninja import NinjaAPI, Router, Schema
from ninja.openapi.docs import Swagger

from kefu.api import me
from kefu.api.auth import CUSTOMER_ACCESS_KEY, CUSTOMER_AUTH, STAFF_AUTH
from kefu.api.errors import ERROR_STATUSES, ErrorOut, install_error_handlers
from kefu.customers import api as customers_api
from kefu.inbox import api as inbox_api
from kefu.tickets import api as tickets_api

ROUTERS: tuple[Router, ...] = (me.router, tickets_api.router, customers_api.router, inbox_api.router)


def _error_model() -> type[Schema]:
    # The same wrapper Ninja builds for a declared response, so the schema shows ErrorOut.
    return type("NinjaResponseSchema", (Schema,), {"__annotations__": {"response": ErrorOut}})


def prepare(router: Router) -> Router:
    """Documents the error responses on every operation and opens the marked ones to customers."""
    for path_view in router.path_operations.values():
        for operation in path_view.operations:
            for status in ERROR_STATUSES:
                operation.response_models.setdefault(status, _error_model())
            if (operation.openapi_extra or {}).get(CUSTOMER_ACCESS_KEY) == "customer":
                operation.auth_param = CUSTOMER_AUTH
                operation._set_auth(CUSTOMER_AUTH)
    return router


api = NinjaAPI(
    title="kefu API",
    version="1",
    description="The kefu helpdesk: tickets, customers and your account. Errors always look like "
    '`{"error": {"code": "…", "message": "…", "fields": {…}}}`.',
    urls_namespace="api",
    auth=STAFF_AUTH,
    docs=Swagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
for _router in ROUTERS:
    api.add_router("/", prepare(_router))
