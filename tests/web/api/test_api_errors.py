"""Bad input gets one JSON error naming the field and the reason: never a 500, never HTML."""

from __future__ import annotations

import pytest

from support.apiclient import api_fixture, make_api  # noqa: F401 - fixtures


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def test_a_body_over_the_limit_gets_413_before_it_is_read(database_url, make_runtime):
    api = make_api(make_runtime(database_url=database_url, web={"max_body_bytes": 2048}))
    big = b"x" * 5000
    error = _error(api.post("/api/v1/policies", content=big), 413)
    assert error["field"] == "body" and "2048" in error["reason"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"y" * 1000

    _error(api.post("/api/v1/policies/preview", content=chunks()), 413)
    chunked_json = {"content-type": "application/json"}
    assert _error(api.post("/api/v1/keys", content=chunks(), headers=chunked_json), 413)[
        "field"
    ] == "body"
    upload = api.post("/api/v1/enterprises/import", files={"file": ("a.csv", big)})
    _error(upload, 413)


def test_bad_json_and_wrong_types_get_422_naming_the_field(api):
    error = _error(
        api.post(
            "/api/v1/keys", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert error["field"].startswith("body")
    error = _error(api.post("/api/v1/keys", json={"role": ["admin"], "name": "x"}), 422)
    assert error["field"] == "body.role"
    error = _error(api.post("/api/v1/keys", json={"role": "admin", "name": "x", "extra": 1}), 422)
    assert error["field"] == "body.extra"
    error = _error(api.get("/api/v1/deliveries", params={"limit": "many"}), 422)
    assert error["field"] == "query.limit"
    error = _error(api.get("/api/v1/deliveries/99999999999"), 422)
    assert error["field"] == "path.delivery_id"
    error = _error(api.get("/api/v1/deliveries", params={"from": "yesterday"}), 422)
    assert error["field"] == "query.from"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"title": "a", "title": "b", "department": "d"}', "title"),
        (b'{"title": "t", "department": "d", "targets": {"sizes": ["huge"]}}', "targets.sizes"),
        (b'{"title": "t", "department": "d", "published_at": "1900-01-01"}', "published_at"),
        (b'{"title": "t", "department": "d", "x": NaN}', "file"),
        (b"[1, 2]", None),
        (b"\xff\xfe", "file"),
    ],
)
def test_a_bad_policy_gets_400_naming_the_field_and_nothing_is_stored(api, body, field):
    for path in ("/api/v1/policies", "/api/v1/policies/preview"):
        error = _error(api.post(path, content=body), 400)
        assert error["field"] == field and error["reason"]
    assert api.get("/api/v1/policies").json() == []


def test_unknown_ids_and_codes_get_404_and_conflicts_409(api):
    assert _error(api.get("/api/v1/enterprises/not-a-code"), 404)["field"] == "credit_code"
    assert _error(api.get("/api/v1/policies/5"), 404)["field"] == "policy_id"
    assert _error(api.post("/api/v1/keys/ntf_0000000000/revoke"), 404)["field"] == "prefix"
    wrong = {"role": "enterprise", "name": "x", "enterprise": "91330206MA2000099X"}
    assert _error(api.post("/api/v1/keys", json=wrong), 400)["field"] == "credit_code"
    assert (
        _error(api.post("/api/v1/keys", json={"role": "root", "name": "x"}), 400)["field"] == "role"
    )


def test_a_database_that_went_away_gives_503_not_500(database_url, make_runtime, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite file is what this test removes")
    runtime = make_runtime(database_url=database_url)
    api = make_api(runtime)
    runtime.engine.dispose()
    (tmp_path / "notifier.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"notifier.db{suffix}").unlink(missing_ok=True)
    response = api.get("/api/v1/enterprises", role=None, headers={"X-API-Key": api.keys["admin"]})
    assert response.status_code == 503
    assert api.get("/healthz", role=None).status_code in (200, 503)
