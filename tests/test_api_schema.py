"""Schemathesis over the OpenAPI schema: no 5xx, every response as the schema says (status,
content type, body). Staff and admin routes with an admin key, ``/me`` with an enterprise key.
Bounded: a few examples per operation, on one SQLite database, so it takes about a minute.

Driven by hypothesis directly (schemathesis' pytest plugin does not yet run under pytest 9).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from notifier import migrate

from apiclient import make_api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10


def test_the_api_never_answers_5xx_and_always_as_its_schema_says(make_runtime, tmp_path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    migrate.upgrade(url)
    api = make_api(make_runtime(database_url=url))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        _explore(operation, api.keys)


def _explore(operation, keys: dict[str, str]) -> None:
    role = "enterprise" if operation.path.startswith("/api/v1/me") else "admin"
    headers = {"Authorization": f"Bearer {keys[role]}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
