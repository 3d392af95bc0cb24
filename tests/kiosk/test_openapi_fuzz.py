"""Schemathesis against the station's OpenAPI description: every ``/api/v1`` operation, with
generated valid and invalid input, answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from edge.kiosk.openapi import spec

OPERATIONS = [
    (method.upper(), path)
    for path, item in spec()["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_operation_answers_with_a_server_error(app, token, method, path) -> None:
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    check()
