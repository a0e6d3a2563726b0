"""An unknown key in any API body is refused naming the field and the nearest known key,
Chinese first: the policy file's reader (400) and a body FastAPI reads (422) alike."""

from __future__ import annotations

import json

import pytest

from notifier.store import migrate

from support.apiclient import Api, make_api
from support.factories import policy


@pytest.fixture(name="api")
def api_fixture(make_runtime, tmp_path) -> Api:
    """The API on a migrated SQLite database (what is checked here is input, not storage)."""
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    migrate.upgrade(url)
    return make_api(make_runtime(database_url=url))


def test_an_unknown_key_in_a_policy_body_names_the_nearest_known_one(api):
    body = policy(targets={"sectr": ["C36"]})

    answer = api.post(
        "/api/v1/policies/preview",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "field": "targets.sectr",
        "reason": "targets.sectr: 未知字段，是否为 sectors？/ unknown key; did you mean 'sectors'?",
    }


def test_an_unknown_key_in_a_model_body_names_the_nearest_known_one(api):

    answer = api.post("/api/v1/keys", json={"rol": "staff", "name": "值班"})

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "body.rol"
    assert error["reason"].endswith("未知字段，是否为 role？/ unknown key; did you mean 'role'?")
