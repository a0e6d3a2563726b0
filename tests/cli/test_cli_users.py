"""``notifier users``: the first admin is added from the shell, the password asked for (never
echoed) or read from standard input; list, disable and reset-password; each audited as the
shell's user, with no password or hash in the audit log or the output."""

from __future__ import annotations

import json

from sqlalchemy import select

from notifier.services.access.users import sign_in
from notifier.services.context import Actor
from notifier.store.db import create_db_engine, create_session_factory
from notifier.store.models import AuditEntry

from support.cli import assert_one_line_error

NAME = "北仑区 王管理员"
PASSWORD = "first admin 1"


def _sessions(notifier):
    return create_session_factory(create_db_engine(notifier.env["NOTIFIER_DATABASE_URL"]))


def test_the_first_admin_is_added_with_a_prompted_password_and_signs_in(notifier):
    added = notifier(
        "users", "add", "--name", NAME, "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert f"已添加 / added: {NAME} (admin)" in added.stdout
    assert PASSWORD not in added.output  # the prompt hides what is typed
    signed = sign_in(_sessions(notifier), NAME, PASSWORD)
    assert signed is not None and signed.role == "admin"


def test_add_list_disable_and_reset_from_standard_input(notifier):
    notifier("users", "add", "--name", NAME, "--password-stdin", input=PASSWORD + "\n")
    notifier(
        "users", "add", "--name", "霞浦街道 张科员", "--phone", "13900000000",
        "--password-stdin", input="clerk password\n",
    )  # fmt: skip
    rows = notifier.json("users", "list")
    assert {(r["name"], r["role"], r["phone"], r["disabled_at"]) for r in rows} == {
        (NAME, "staff", None, None),
        ("霞浦街道 张科员", "staff", "13900000000", None),
    }
    assert all("password_hash" not in r for r in rows)
    reset = notifier("users", "reset-password", NAME, "--password-stdin", input="second one 2\n")
    assert "密码已重置" in reset.stdout
    assert sign_in(_sessions(notifier), NAME, "second one 2") is not None
    assert "已停用" in notifier("users", "disable", NAME).stdout
    assert sign_in(_sessions(notifier), NAME, "second one 2") is None
    assert "disabled" in notifier("users", "list").stdout
    with _sessions(notifier)() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.actor_prefix, e.face) for e in entries] == [
        ("user.create", Actor.operator().name, "cli"),
        ("user.create", Actor.operator().name, "cli"),
        ("user.reset_password", Actor.operator().name, "cli"),
        ("user.disable", Actor.operator().name, "cli"),
    ]
    written = json.dumps([[e.before, e.after] for e in entries], ensure_ascii=False)
    for secret in (PASSWORD, "clerk password", "second one 2", "$argon2"):
        assert secret not in written


def test_a_short_password_or_an_unknown_user_is_one_line_error(notifier):
    short = notifier("users", "add", "--name", NAME, "--password-stdin", input="short\n", status=2)
    assert_one_line_error(short, "password")
    missing = notifier("users", "disable", "nobody", status=2)
    assert_one_line_error(missing, "nobody")


def test_keys_create_with_an_owner_names_them_in_the_list_and_refuses_a_stranger(notifier):
    notifier("users", "add", "--name", NAME, "--password-stdin", input=PASSWORD + "\n")
    made = notifier("keys", "create", "--role", "staff", "--name", "OA 系统", "--owner", NAME)
    assert f"所有人 / owner {NAME}" in made.stderr
    (row,) = notifier.json("keys", "list")
    assert row["owner"] == NAME and row["name"] == "OA 系统"
    assert f"所有人 / owner {NAME}" in notifier("keys", "list").stdout
    stranger = ("--role", "staff", "--name", "x", "--owner", "无此人")
    refused = notifier("keys", "create", *stranger, status=2)
    assert_one_line_error(refused, "owner", "无此人")
    with _sessions(notifier)() as session:
        (created,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "key.create"))
    assert created.after["owner"] == NAME


def test_the_demo_makes_its_people_who_sign_in_by_name_with_new_passwords(
    make_runtime, sqlite_url
):
    from notifier.cli.demo import demo_people

    runtime = make_runtime(database_url=sqlite_url)
    first = demo_people(runtime)
    people = [(name, role) for name, role, _ in first]
    assert people == [
        ("演示科员", "staff"), ("灵峰 演示社区科员", "staff"), ("经信局 演示发布人", "publisher"),
        ("演示审核员", "approver"), ("演示管理员", "admin"),
    ]  # fmt: skip
    for name, role, password in first:
        signed = sign_in(runtime.sessions, name, password)
        assert signed is not None and signed.role == role
    again = demo_people(runtime)  # the next demo: the same people, new passwords
    assert [p for *_, p in again] != [p for *_, p in first]
    assert sign_in(runtime.sessions, "演示科员", first[0][2]) is None
    assert sign_in(runtime.sessions, "演示科员", again[0][2]) is not None
