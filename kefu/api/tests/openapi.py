"""Checks every API response in the tests against the OpenAPI document the API serves."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
from django.test import Client

from kefu.api.urls import api

PREFIX = "/api/v1"


@cache
def spec() -> dict[str, Any]:
    # Through JSON, as clients see it (integer status keys become strings).
    return json.loads(json.dumps(api.get_openapi_schema()))


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def operation_for(path: str, method: str) -> dict[str, Any] | None:
    for template, operations in spec()["paths"].items():
        if _template_regex(template).match(path) and method.lower() in operations:
            return operations[method.lower()]
    return None


def validate_response(method: str, path: str, response: Any) -> None:
    """The status is documented for the operation, and a JSON body matches its schema."""
    operation = operation_for(path, method)
    assert operation is not None, f"{method} {path} is not in the OpenAPI document"
    responses = operation["responses"]
    assert str(response.status_code) in responses, (
        f"{method} {path} answered {response.status_code}, documented: {sorted(responses)}"
    )
    content = responses[str(response.status_code)].get("content") or {}
    if "application/json" not in content:
        return
    assert response["Content-Type"].startswith("application/json")
    schema = {**content["application/json"]["schema"], "components": spec()["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(response.content)
    )


class ApiClient(Client):
    """A test client whose every answer from the API is validated against the OpenAPI document."""

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        path = request.get("PATH_INFO", "")
        if path.startswith(PREFIX + "/") and path not in {PREFIX + "/openapi.json", PREFIX + "/docs"}:
            validate_response(request["REQUEST_METHOD"], path, response)
        return response
