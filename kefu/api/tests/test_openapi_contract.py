"""The API document is a contract: what is routed is documented, and the docs page works under CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from ninja.operation import PathView

from kefu.api.tests.openapi import PREFIX, spec
from kefu.api.urls import api

ERROR_STATUSES = {"400", "401", "403", "404", "409", "422", "500"}


def _routed_operations() -> tuple[set[tuple[str, str]], set[str]]:
    operations: set[tuple[str, str]] = set()
    other_views: set[str] = set()
    for pattern in api.urls[0]:
        cells = [c.cell_contents for c in (getattr(pattern.callback, "__closure__", None) or ())]
        path_view = next((c for c in cells if isinstance(c, PathView)), None)
        if path_view is None:
            other_views.add(str(getattr(pattern, "name", "")))
            continue
        template = PREFIX + "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for operation in path_view.operations:
            operations |= {(template, method.lower()) for method in operation.methods}
    return operations, other_views


def _documented_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, ops in spec()["paths"].items() for method in ops}


def test_every_routed_operation_is_documented_and_every_documented_one_is_routed():
    routed, _ = _routed_operations()
    assert routed == _documented_operations()
    assert len(routed) >= 25


def test_only_the_schema_and_docs_pages_are_routes_outside_the_authenticated_operations():
    _, other_views = _routed_operations()
    assert other_views == {"openapi-json", "openapi-view", "api-root"}  # api-root points to the docs


def test_every_operation_requires_authentication_and_documents_the_error_shape():
    for path, operations in spec()["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), f"{method} {path} is open"
            assert set(operation["responses"]) >= ERROR_STATUSES, f"{method} {path}"
            for status in ERROR_STATUSES:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}


@pytest.mark.django_db
def test_openapi_document_is_served_at_a_stable_url():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/tickets" in document["paths"]
    assert set(document["components"]["securitySchemes"]) == {"ApiTokenAuth", "SessionAuth"}


@pytest.mark.django_db
def test_docs_page_loads_swagger_from_static_files_without_inline_script():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "ninja/swagger-ui-init.js" in html
    assert "ninja/swagger-ui-bundle.js" in html
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        # Either an external script, or JSON data that the browser never executes.
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        if "src=" in attributes:
            assert not body.strip()
    assert not re.search(r"\son\w+=", html), "inline event handler"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    static = Client().get("/static/ninja/swagger-ui-init.js")
    assert static.status_code == 200
    assert b"SwaggerUIBundle" in static.getvalue()
