"""Schemathesis over the OpenAPI schema, on PostgreSQL (which, unlike SQLite, refuses a NUL and
an over-long value): no 5xx, every response as the schema says (status, content type, body),
no traceback and no value the database had to refuse in the server's log. Then every operation
again with hostile values in one parameter or body field at a time (NUL, control and invisible
characters, huge numbers and strings), and hostile raw bodies (deep JSON, huge numbers).

Schema-valid input is accepted except where a rule cannot be written in JSON Schema
(:data:`SERVER_ONLY_RULES`); the test fails when another operation starts to refuse it.

Staff and admin routes with an admin key, ``/me`` with an enterprise key. Bounded: a few examples
per operation, so the whole file takes under a minute here. Driven by hypothesis directly
(schemathesis' pytest plugin does not yet run under pytest 9).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from stdnum.cn import uscc

from support.apiclient import Api, make_api
from support.factories import HOSTILE_TEXT
from support.web_harness import log_problems

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 5
HOSTILE_EXAMPLES = 3
# The rules only the server can check; each of these operations may refuse schema-valid input.
SERVER_ONLY_RULES = {
    "POST /api/v1/enterprises": "a phone or email that does not exist, a channel without contact",
    "PUT /api/v1/enterprises/{credit_code}": "as POST, and the body's code must be the path's",
    "POST /api/v1/enterprises/import": "the file's content (a CSV or XLSX register)",
    "POST /api/v1/policies": "the policy file: dates, ladders, regions",
    "POST /api/v1/policies/preview": "the policy file",
    "POST /api/v1/policies/{policy_id}/revise": "the policy file, and its ref must be the id's",
    "POST /api/v1/campaigns": "the campaign file: templates, schedule",
    "POST /api/v1/campaigns/{campaign_id}/test-send": "the address must suit the channel",
    "POST /api/v1/keys": "an enterprise key needs a known credit code, others none",
    "PUT /api/v1/me/subscriptions": "a channel needs a contact",
    "PUT /api/v1/templates/{name}/{channel}": "the template must compile and render",
    "GET /api/v1/deliveries/export": "the range must be 2000-2100",
    "GET /api/v1/deliveries": "the range must be 2000-2100",
    "POST /api/v1/deadlines/{deadline_id}/move": "the day must exist in its month",
}
HOSTILE_VALUES: list[Any] = [*HOSTILE_TEXT, 2**64, -(2**63) - 1, 10**400, 1e308, None, [], {}]
DEEP = 100_000
HOSTILE_BODIES = [
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b'{"title": ' + b"9" * 100_000 + b"}",
    b'{"title": 1e999999}',
    b'{"title": NaN}',
    b'{"title": "\\u0000"}',
    b'{"title": "\\ud800"}',
    b"\xff\xfe",
]


def _credit_codes() -> st.SearchStrategy[str]:
    bases = st.from_regex(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{9}", fullmatch=True)
    return bases.map(lambda base: base + uscc.calc_check_digit(base))


@pytest.fixture(name="fuzz_api")
def fuzz_api_fixture(postgres_database, make_runtime) -> Api:
    """The API on the session's PostgreSQL database, with three firms and a key per role."""
    from conftest import _truncate_postgres

    _truncate_postgres(postgres_database)
    schemathesis.openapi.format("credit-code", _credit_codes())
    return make_api(make_runtime(database_url=postgres_database))


@pytest.fixture(name="operations")
def operations_fixture(fuzz_api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_api.client.app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) > 40
    return found


def _headers(api: Api, operation: Any) -> dict[str, str]:
    role = "enterprise" if operation.path.startswith("/api/v1/me") else "admin"
    return {"Authorization": f"Bearer {api.keys[role]}"}


def _run(strategy: st.SearchStrategy[Any], examples: int, call: Any) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        call(case)

    check()


@pytest.mark.slow
def test_the_api_never_answers_5xx_and_always_as_its_schema_says(fuzz_api, operations, caplog):
    caplog.set_level(logging.WARNING)
    refused: dict[str, str] = {}
    for operation in operations:
        headers = _headers(fuzz_api, operation)

        def call(case: Any, operation: Any = operation, headers: dict[str, str] = headers) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            positive = case.meta is not None and case.meta.generation.mode.is_positive
            if positive and response.status_code in (400, 422):
                refused.setdefault(operation.label, response.text[:200])

        _run(operation.as_strategy(), EXAMPLES, call)
    assert log_problems(caplog.records) == []
    unexpected = {label: why for label, why in refused.items() if label not in SERVER_ONLY_RULES}
    assert unexpected == {}, f"schema-valid input refused (state its rule): {unexpected}"


def _with(value: Any, hostile: Any, index: int) -> tuple[Any, bool]:
    """``value`` with its ``index``-th string or number (depth first) replaced by ``hostile``."""
    seen = 0

    def walk(item: Any) -> Any:
        nonlocal seen
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            seen += 1
            return hostile if seen - 1 == index else item
        return item

    changed = walk(value)
    return changed, seen > index


def test_hostile_values_in_any_field_are_refused_with_a_4xx_never_a_5xx(
    fuzz_api, operations, caplog
):
    caplog.set_level(logging.WARNING)
    for operation in operations:
        headers = _headers(fuzz_api, operation)
        strategy = st.tuples(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            st.sampled_from(HOSTILE_VALUES),
            st.integers(0, 6),
        )

        def call(given: Any, headers: dict[str, str] = headers) -> None:
            case, hostile, index = given
            for part in ("path_parameters", "query", "body"):
                value = getattr(case, part, None)
                if not value:
                    continue
                if part != "body" and not isinstance(hostile, str):
                    hostile = str(hostile)
                changed, done = _with(value, hostile, index)
                if done:
                    setattr(case, part, changed)
                    break
            try:
                response = case.call(headers=headers)
            except (UnicodeEncodeError, ValueError):
                return  # the client cannot even send it (a lone surrogate in a URL)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        _run(strategy, HOSTILE_EXAMPLES, call)
    assert log_problems(caplog.records) == []


def test_hostile_raw_bodies_are_refused_with_a_4xx_never_a_5xx(fuzz_api, operations, caplog):
    caplog.set_level(logging.WARNING)
    with_bodies = [op for op in operations if op.method.upper() in ("POST", "PUT")]
    for operation in with_bodies:
        path = operation.path
        for name in ("policy_id", "campaign_id", "deadline_id"):
            path = path.replace(f"{{{name}}}", "1")
        path = path.replace("{name}", "t").replace("{channel}", "sms").replace("{prefix}", "x")
        path = path.replace("{credit_code}", "x")
        for body in HOSTILE_BODIES:
            response = fuzz_api.client.request(
                operation.method.upper(),
                path,
                content=body,
                headers={**_headers(fuzz_api, operation), "Content-Type": "application/json"},
            )
            assert response.status_code < 500, (operation.label, body[:30], response.text)
            json.loads(response.text)  # always the JSON error, never a bare page
    assert log_problems(caplog.records) == []
