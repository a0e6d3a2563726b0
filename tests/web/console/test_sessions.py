"""Sessions and limits: the client address comes from trusted proxies only, a right key is
never locked out, console sessions live server-side (sign-out, revocation and expiry end
them), the sign-in form carries a CSRF value, and every answer carries the security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.domain.time_source import ManualTime
from notifier.runtime import Runtime
from notifier.store import apikeys
from notifier.web.console.session import COOKIE
from notifier.web.server import start_in_thread
from notifier.web.views import STATIC_DIR, TEMPLATES_DIR

from support.web_harness import console_runtime, make_key, post_login, signed_in, web_app

WRONG = {"Authorization": "Bearer ntf_0123456789_" + "x" * 43}


@pytest.fixture
def time_source() -> ManualTime:
    return ManualTime(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))


@pytest.fixture
def runtime(make_runtime, tmp_path: Path, time_source) -> Runtime:
    return console_runtime(make_runtime, tmp_path, time_source=time_source)


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _served(runtime: Runtime) -> Iterator[str]:
    running = start_in_thread(runtime, host="127.0.0.1", port=0)
    try:
        yield running.address
    finally:
        running.stop()


# ---- the client address ----------------------------------------------------------------


def _status(url: str, forwarded: str) -> int:
    """A wrong key's answer, sent as if through proxies that wrote ``forwarded``."""
    headers = {**WRONG, "X-Forwarded-For": forwarded}
    return httpx.get(f"{url}/api/v1/policies", headers=headers, timeout=60).status_code


def test_a_forged_x_forwarded_for_does_not_escape_the_failed_key_limit(make_runtime, tmp_path):
    limited = console_runtime(make_runtime, tmp_path, web={"failed_auth_limit": 20})
    for url in _served(limited):  # the real server: uvicorn as `notifier run` configures it
        codes = [_status(url, f"203.0.113.{n}") for n in range(60)]
    # Before: uvicorn believed the header from 127.0.0.1, and 60 of 60 got 401.
    assert codes.count(401) == 20 and codes.count(429) == 40


def test_a_trusted_proxy_names_the_client_and_each_client_is_counted_apart(
    make_runtime, tmp_path
):
    limited = console_runtime(
        make_runtime,
        tmp_path,
        web={"failed_auth_limit": 2, "trusted_proxies": ["127.0.0.1", "10.1.0.0/16"]},
    )
    for url in _served(limited):
        assert [_status(url, "198.51.100.7") for _ in range(3)] == [401, 401, 429]
        assert _status(url, "198.51.100.8") == 401  # another client behind the same proxy
        # What the client itself wrote left of the proxies does not matter: the rightmost
        # address that is not a trusted proxy is the client.
        assert _status(url, "1.2.3.4, 198.51.100.7, 10.1.2.3") == 429


def test_behind_an_untrusted_peer_the_header_is_ignored(make_runtime, tmp_path):
    limited = console_runtime(
        make_runtime, tmp_path, web={"failed_auth_limit": 2, "trusted_proxies": ["10.0.0.5"]}
    )
    app = web_app(limited)
    outsider = TestClient(app, client=("192.0.2.9", 4000))
    proxy = TestClient(app, client=("10.0.0.5", 4000))
    codes = [
        outsider.get("/api/v1/policies", headers={**WRONG, "X-Forwarded-For": f"10.9.9.{n}"})
        for n in range(3)
    ]
    assert [c.status_code for c in codes] == [401, 401, 429]
    forwarded = proxy.get("/api/v1/policies", headers={**WRONG, "X-Forwarded-For": "10.9.9.1"})
    assert forwarded.status_code == 401


def test_a_proxy_setting_that_is_no_address_is_refused_naming_it(make_settings):
    from notifier.errors import ConfigError

    with pytest.raises(ConfigError, match="trusted_proxies"):
        make_settings(web={"trusted_proxies": ["*"]})


# ---- server-side sessions --------------------------------------------------------------


def _session_rows(runtime: Runtime) -> list:
    from notifier.store.models import ConsoleSession

    with runtime.sessions() as session:
        return list(session.scalars(select(ConsoleSession).order_by(ConsoleSession.id)))


def test_signing_out_ends_the_session_so_a_copied_cookie_is_worthless(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    copied = client.cookies[COOKIE]
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    thief = TestClient(client.app, cookies={COOKIE: copied})
    answer = thief.get("/console/", follow_redirects=False)
    # Before: the signed cookie alone was the session, good for 8 hours after sign-out.
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    (row,) = _session_rows(runtime)
    assert row.ended_reason == "logout" and row.ended_at is not None
    assert copied not in row.token_hash  # the table holds a hash, not the cookie's id


def test_a_session_ends_after_eight_hours_by_the_deployments_clock(runtime, client, time_source):
    signed_in(client, make_key(runtime, "staff"))
    time_source.advance(timedelta(hours=7, minutes=59))
    assert client.get("/console/", follow_redirects=False).status_code == 200
    time_source.advance(timedelta(minutes=2))
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_the_session_row_keeps_who_when_last_seen_and_why_it_ended(runtime, client, time_source):
    key = make_key(runtime, "staff")
    signed_in(client, key)
    time_source.advance(timedelta(minutes=5))
    client.get("/console/")
    (row,) = _session_rows(runtime)
    assert row.created_at == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert row.last_seen_at == datetime(2026, 12, 7, 1, 5, tzinfo=UTC)
    assert row.expires_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with runtime.sessions.begin() as session:
        apikeys.revoke(session, key[:14], now=time_source.now())
    (row,) = _session_rows(runtime)
    assert row.ended_reason == "revoked"
    assert client.get("/console/", follow_redirects=False).status_code == 303


# ---- the sign-in form ------------------------------------------------------------------


def test_a_sign_in_without_the_forms_csrf_value_is_refused(runtime, client):
    key = make_key(runtime, "staff")
    # Another site's form posting its own key into this browser (login CSRF).
    forged = client.post("/console/login", data={"key": key}, follow_redirects=False)
    assert forged.status_code == 403 and "登录表单已过期" in forged.text
    assert COOKIE not in forged.cookies
    # A value from another browser's form does not fit this browser's pre-session cookie.
    other = TestClient(client.app)
    value = re.search(r'name="csrf" value="([^"]+)"', other.get("/console/login").text)
    assert value is not None
    client.get("/console/login")
    crossed = client.post(
        "/console/login", data={"key": key, "csrf": value[1]}, follow_redirects=False
    )
    assert crossed.status_code == 403
    assert _session_rows(runtime) == []
    signed = post_login(client, key)
    assert signed.status_code == 303 and COOKIE in signed.cookies
    # The pre-session cookie has done its work: it goes.
    assert any(
        c.startswith("notifier_login=") and "Max-Age=0" in c
        for c in signed.headers.get_list("set-cookie")
    )


# ---- security headers ------------------------------------------------------------------


def _assert_secured(answer: httpx.Response) -> None:
    headers = answer.headers
    policy = headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, answer.url
    assert "frame-ancestors 'none'" in policy, answer.url
    assert headers.get("x-content-type-options") == "nosniff", answer.url
    assert headers.get("x-frame-options") == "DENY", answer.url
    assert headers.get("referrer-policy") == "same-origin", answer.url


def test_every_answer_carries_the_security_headers(runtime, client):
    csrf = signed_in(client, make_key(runtime, "admin"))
    for answer in (
        client.get("/console/login"),
        client.get("/console/"),
        client.get("/console/admin"),
        client.get("/console/no-such-page"),
        client.get("/static/console.js"),
        client.get("/healthz"),
        client.get("/api/v1/policies"),  # 401 without a key
        client.get("/u/not-a-token"),
        client.post("/console/policies/preview", data={"csrf": csrf, "title": "x"}),
        client.post("/api/v1/policies", content=b"x" * 11_000_000),  # 413 before reading
    ):
        _assert_secured(answer)


def test_the_api_docs_run_only_the_inline_script_whose_hash_the_policy_names(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    for script in re.findall(r"<script>(.*?)</script>", page.text, re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy.split(";")[1]


def test_no_page_holds_inline_script_or_event_handlers():
    """The policy allows script files of ours only: inline script would silently stop."""
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), template.name
        assert "javascript:" not in text and " style=" not in text, template.name
    assert "confirm(" in (STATIC_DIR / "console.js").read_text(encoding="utf-8")
