"""Schemathesis against the hub's OpenAPI description: every ``/api/v1`` operation, with
generated valid and invalid input, answers without a server error — on SQLite and on
PostgreSQL."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cloud.config import load_hub_config
from cloud.db import make_engine, migrate
from cloud.web.app import create_app
from tests.hub.conftest import hub_toml

METHODS = {"get", "post", "put", "patch", "delete"}


def test_no_hub_operation_answers_with_a_server_error(tmp_path, db_url) -> None:
    config = load_hub_config(hub_toml(tmp_path / "hub", db_url, "mqtt://127.0.0.1:9"))
    engine = make_engine(config.hub.database)
    migrate(engine)
    app = create_app(config, engine)
    headers = {"Authorization": f"Bearer {app.config['API_TOKEN']}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, headers=headers)
    paths = app.test_client().get("/api/openapi.json", headers=headers).get_json()["paths"]
    failures: list[str] = []
    for path, item in paths.items():
        for method in METHODS & set(item):
            operation = schema[path][method.upper()]

            @given(case=operation.as_strategy())
            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            try:
                check()
            except Exception as err:  # collected, reported together below
                failures.append(f"{method.upper()} {path}: {err}")
    engine.dispose()
    assert not failures, "\n\n".join(failures)
