"""The OpenAPI document states the policy and campaign bodies from the models their readers
validate with: a client reads the same limits the server enforces."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from notifier.inputs import campaign, policy
from notifier.web.app import OPENAPI_URL, create_app


@pytest.fixture(name="document")
def document_fixture(make_runtime, tmp_path) -> dict[str, Any]:
    runtime = make_runtime(database_url=f"sqlite:///{tmp_path / 'notifier.db'}")
    response = TestClient(create_app(runtime)).get(OPENAPI_URL)
    assert response.status_code == 200
    return response.json()


def _body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = document["paths"][f"/api/v1{path}"][method]
    return operation["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("path", ["/policies", "/policies/preview", "/policies/{policy_id}/revise"])
def test_the_policy_body_carries_the_policy_files_limits(document, path):
    body = _body(document, "post", path)
    fields = body["properties"]
    targets = fields["targets"]["properties"]

    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"title", "department"}
    assert fields["title"]["maxLength"] == policy.MAX_TITLE_LENGTH
    assert fields["topics"]["maxItems"] == policy.MAX_TOPICS
    assert fields["topics"]["items"]["maxLength"] == policy.MAX_TOPIC_LENGTH
    assert targets["sectors"]["maxItems"] == policy.MAX_SECTORS
    assert targets["sectors"]["items"]["maxLength"] == policy.MAX_SECTOR_LENGTH
    assert targets["credit_codes"]["maxItems"] == policy.MAX_CREDIT_CODES
    assert fields["targets"]["additionalProperties"] is False
    deadline = fields["deadlines"]["items"]
    assert fields["deadlines"]["maxItems"] == policy.MAX_DEADLINES
    assert deadline["additionalProperties"] is False
    remind_days = deadline["properties"]["remind_days"]["anyOf"][0]
    assert remind_days["maxItems"] == policy.MAX_REMIND_DAYS
    assert remind_days["items"]["maximum"] == policy.MAX_REMIND_DAY


def test_the_campaign_body_carries_the_campaign_files_limits(document):
    body = _body(document, "post", "/campaigns")
    fields = body["properties"]

    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"name", "title", "channels", "templates", "schedule"}
    assert fields["name"]["maxLength"] == campaign.MAX_NAME_LENGTH
    assert fields["title"]["maxLength"] == policy.MAX_TITLE_LENGTH
    assert fields["targets"]["properties"]["sectors"]["maxItems"] == policy.MAX_SECTORS
    assert fields["schedule"]["additionalProperties"] is False
    throttle = fields["throttle_per_minute"]["anyOf"][0]
    assert throttle["maximum"] == campaign.MAX_THROTTLE
    inline = fields["templates"]["additionalProperties"]["oneOf"][1]
    assert inline["properties"]["body"]["maxLength"] == campaign.MAX_TEMPLATE_CHARS


def test_the_document_holds_no_reference_a_body_cannot_resolve(document):
    assert "$defs" not in str(document)
