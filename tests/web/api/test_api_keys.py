"""``notifier keys``: a key printed once, listed by prefix, revoked; bad input in one line.
And failed-key counts shared through Redis."""

from __future__ import annotations

import json

import pytest

from support.apiclient import make_api
from support.cli import assert_one_line_error
from support.factories import Firm, credit_code, enterprise_csv


def test_keys_create_prints_the_key_once_and_list_shows_only_prefixes(sqlite_notifier):  # noqa: F811
    notifier = sqlite_notifier
    notifier("enterprises", "import", notifier.file("f.csv", enterprise_csv([Firm(1)])))
    made = notifier("keys", "create", "--role", "staff", "--name", "经信局 王科员")
    key = made.stdout.strip()
    assert key.startswith("ntf_") and len(key) == 4 + 10 + 1 + 43
    assert "shown this once" in made.stderr
    mine = notifier.json(
        "keys",
        "create",
        "--role",
        "enterprise",
        "--name",
        "灵峰",
        "--enterprise",
        credit_code(1).lower(),
    )
    assert mine["credit_code"] == credit_code(1)
    listed = notifier.json("keys", "list")
    assert {k["role"] for k in listed} == {"staff", "enterprise"}
    assert key not in json.dumps(listed) and key[:14] in json.dumps(listed)
    assert "revoked" in notifier("keys", "revoke", key[:14]).stdout
    assert notifier.json("keys", "list")[-1]["revoked_at"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--role", "root", "--name", "x"], "--role"),
        (["--role", "enterprise", "--name", "x"], "--enterprise"),
        (["--role", "staff", "--name", "x", "--enterprise", credit_code(1)], "enterprise"),
        (["--role", "enterprise", "--name", "x", "--enterprise", credit_code(9)], "no enterprise"),
        (["--role", "staff", "--name", " "], "name"),
    ],
)
def test_a_bad_key_request_is_one_line_naming_the_field(sqlite_notifier, args, needle):  # noqa: F811
    result = sqlite_notifier("keys", "create", *args, status=2)
    if needle != "--role":
        assert_one_line_error(result, needle)
    assert "ntf_" not in result.stdout


def test_revoking_an_unknown_prefix_says_so(sqlite_notifier):  # noqa: F811
    assert_one_line_error(sqlite_notifier("keys", "revoke", "ntf_nothing", status=2), "no key")


def test_failed_key_attempts_are_counted_in_redis_across_web_processes(
    redis_url, make_runtime, tmp_path
):
    from notifier.store import migrate
    url = f"sqlite:///{tmp_path / 'n.db'}"
    migrate.upgrade(url)
    web = {"failed_auth_limit": 2, "failed_auth_window_seconds": 30}
    one = make_api(make_runtime(database_url=url, broker_url=redis_url, web=web))
    two = make_api(make_runtime(database_url=url, broker_url=redis_url, web=web))
    bad = {"X-API-Key": "ntf_0123456789_" + "y" * 43}
    assert one.get("/api/v1/policies", role=None, headers=bad).status_code == 401
    assert two.get("/api/v1/policies", role=None, headers=bad).status_code == 401
    refused = one.get("/api/v1/policies", role=None, headers=bad)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 30
    # Failures are limited, not the address: a right key still passes.
    assert two.get("/api/v1/policies", role="admin").status_code == 200
