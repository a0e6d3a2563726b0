"""People sign in to the console by name and password, see their name in the header, change
their password; an admin adds, disables and resets accounts there; wrong passwords are counted
and lock the address and the name out; and the audit log names the person, never a password."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.services.access import users
from notifier.store.models import AuditEntry, ConsoleSession

from support.factories import acting
from support.web_harness import console_runtime, csrf_of, make_key, post_login, web_app

CLERK = "大碶街道 李科员"
ADMIN = "北仑区 王管理员"
PASSWORD = "clerk password 1"
ADMIN_PASSWORD = "admin password 1"


@pytest.fixture
def runtime(make_runtime, tmp_path):
    built = console_runtime(make_runtime, tmp_path, web={"failed_auth_limit": 3})
    users.add_user(acting(built), name=CLERK, role="staff", password=PASSWORD)
    users.add_user(acting(built), name=ADMIN, role="admin", password=ADMIN_PASSWORD)
    return built


@pytest.fixture
def app(runtime):
    """One web app: its failure counter is shared by every client of it."""
    return web_app(runtime)


def _client(app, address: str = "192.0.2.1") -> TestClient:
    return TestClient(app, client=(address, 50000))


def _login(client: TestClient, name: str, password: str):
    form = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"name": name, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )


def _signed_in(app, name: str, password: str) -> tuple[TestClient, str]:
    client = _client(app)
    assert _login(client, name, password).status_code == 303
    return client, csrf_of(client.get("/console/account").text)


def _audit(runtime) -> list[AuditEntry]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_clerk_signs_in_by_name_and_the_header_shows_their_name(runtime, app):
    client, _ = _signed_in(app, CLERK, PASSWORD)
    page = client.get("/console/")
    assert page.status_code == 200
    assert f'<a href="/console/account" id="account-link">{CLERK}</a>' in page.text
    assert client.get("/console/admin/users").status_code == 403


def test_key_sign_in_still_works_beside_the_name_form(runtime, app):
    client = _client(app)
    assert post_login(client, make_key(runtime, "staff")).status_code == 303
    assert client.get("/console/").status_code == 200


def test_wrong_passwords_are_counted_and_then_even_the_right_one_waits(runtime, app):
    client = _client(app)
    answers = [_login(client, CLERK, "wrong password") for _ in range(3)]
    assert [a.status_code for a in answers] == [401] * 3
    assert "姓名或密码不对" in answers[0].text
    # Locked out: a right password from this address is refused as well, unchecked.
    locked = _login(client, CLERK, PASSWORD)
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    assert "notifier_console" not in locked.headers.get("set-cookie", "")


def test_failures_count_against_the_name_whatever_address_they_come_from(runtime, app):
    for n in range(3):
        client = _client(app, f"203.0.113.{n}")
        assert _login(client, CLERK, "wrong password").status_code == 401
    assert _login(_client(app), CLERK, PASSWORD).status_code == 429
    # Another name from a fresh address is not held up by the clerk's lock.
    assert _login(_client(app), ADMIN, ADMIN_PASSWORD).status_code == 303


def test_a_disabled_or_unknown_account_is_refused_like_a_wrong_password(runtime, app):
    users.disable_user(acting(runtime), CLERK)
    client = _client(app)
    assert _login(client, CLERK, PASSWORD).status_code == 401
    assert _login(client, "nobody at all", PASSWORD).status_code == 401


def test_changing_ones_password_keeps_this_session_and_ends_the_others(runtime, app):
    elsewhere, _ = _signed_in(app, CLERK, PASSWORD)
    client, csrf = _signed_in(app, CLERK, PASSWORD)
    wrong = client.post(
        "/console/account/password",
        data={
            "csrf": csrf,
            "current": "not it at all",
            "new": "new password 1",
            "repeat": "new password 1",
        },
    )
    assert wrong.status_code == 400
    changed = client.post(
        "/console/account/password",
        data={
            "csrf": csrf,
            "current": PASSWORD,
            "new": "new password 1",
            "repeat": "new password 1",
        },
    )
    assert changed.status_code == 200 and "密码已修改" in changed.text
    assert client.get("/console/").status_code == 200
    assert elsewhere.get("/console/", follow_redirects=False).status_code == 303
    assert _login(_client(app), CLERK, "new password 1").status_code == 303
    entry = _audit(runtime)[-1]
    assert (entry.action, entry.actor_prefix, entry.actor_role, entry.face) == (
        "user.change_password", CLERK, "staff", "console",
    )  # fmt: skip


def test_an_admin_adds_resets_and_disables_and_the_audit_log_names_them(runtime, app, caplog):
    caplog.set_level(logging.DEBUG)
    clerk, _ = _signed_in(app, CLERK, PASSWORD)
    admin, csrf = _signed_in(app, ADMIN, ADMIN_PASSWORD)
    short = admin.post(
        "/console/admin/users",
        data={"csrf": csrf, "name": "新来的", "role": "staff", "password": "short"},
    )
    assert short.status_code == 400 and 'value="新来的"' in short.text
    added = admin.post(
        "/console/admin/users",
        data={"csrf": csrf, "name": "霞浦街道 张科员", "role": "staff", "phone": "13900000000",
              "password": "first password"},
    )  # fmt: skip
    assert added.status_code == 200 and "霞浦街道 张科员" in added.text
    clerk_id = next(r["id"] for r in users.list_users(runtime.sessions) if r["name"] == CLERK)
    reset = admin.post(
        f"/console/admin/users/{clerk_id}/reset", data={"csrf": csrf, "password": "reset password"}
    )
    assert reset.status_code == 200
    # The reset signed the clerk out; they sign in again with the new password.
    assert clerk.get("/console/", follow_redirects=False).status_code == 303
    clerk, _ = _signed_in(app, CLERK, "reset password")
    disabled = admin.post(f"/console/admin/users/{clerk_id}/disable", data={"csrf": csrf})
    assert disabled.status_code == 200 and "已停用" in disabled.text
    assert clerk.get("/console/", follow_redirects=False).status_code == 303
    assert _login(_client(app), CLERK, "reset password").status_code == 401
    with runtime.sessions() as session:
        reasons = set(session.scalars(select(ConsoleSession.ended_reason)))
    assert {"password", "disabled"} <= reasons
    console_rows = [e for e in _audit(runtime) if e.face == "console"]
    assert [(e.action, e.actor_prefix, e.actor_role) for e in console_rows] == [
        ("user.create", ADMIN, "admin"),
        ("user.reset_password", ADMIN, "admin"),
        ("user.disable", ADMIN, "admin"),
    ]
    shown = admin.get("/console/admin").text
    assert ADMIN in shown and "ntf_" not in shown.split('id="audit"')[1].split("</table>")[0]
    written = repr([(e.before, e.after) for e in _audit(runtime)])
    written += " ".join(r.getMessage() for r in caplog.records)
    for secret in ("first password", "reset password", PASSWORD, "$argon2"):
        assert secret not in written


def test_the_account_page_tells_a_key_holder_a_key_has_no_password(runtime, app):
    client = _client(app)
    post_login(client, make_key(runtime, "admin"))
    page = client.get("/console/account")
    assert page.status_code == 200 and "密钥没有密码" in page.text
