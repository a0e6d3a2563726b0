"""People's accounts as the services keep them: argon2 hashes only, a right password signs in
and a wrong one or a disabled account does not, every change audited in its transaction by
whoever made it, and no password or hash in any audit row, answer or log line."""

from __future__ import annotations

import json
import logging

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from notifier.errors import ConflictError, InputError, NotFoundError
from notifier.services.access import users
from notifier.services.context import Actor
from notifier.store import users as user_store
from notifier.store.models import AuditEntry, User

from support.factories import acting

NAME = "大碶街道 李科员"
PASSWORD = "correct horse 42"


@pytest.fixture
def runtime(make_runtime, database_url):
    return make_runtime(database_url=database_url)


def _audit(runtime) -> list[AuditEntry]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _stored_hash(runtime, name: str = NAME) -> str:
    with runtime.sessions() as session:
        user = user_store.by_name(session, name)
        assert user is not None
        return user.password_hash


def test_an_added_user_signs_in_with_their_password_and_only_a_hash_is_stored(runtime):
    row = users.add_user(
        acting(runtime), name=NAME, role="staff", password=PASSWORD, phone="13800000000"
    )
    assert row["name"] == NAME and "password_hash" not in row
    assert _stored_hash(runtime).startswith("$argon2id$")
    signed = users.sign_in(runtime.sessions, NAME, PASSWORD)
    assert signed is not None and (signed.name, signed.role) == (NAME, "staff")
    assert users.sign_in(runtime.sessions, NAME, PASSWORD + "x") is None
    assert users.sign_in(runtime.sessions, "nobody", PASSWORD) is None
    assert [r["name"] for r in users.list_users(runtime.sessions)] == [NAME]


def test_a_short_password_a_second_user_of_one_name_and_an_unknown_role_are_refused(runtime):
    context = acting(runtime)
    with pytest.raises(InputError, match="10"):
        users.add_user(context, name=NAME, role="staff", password="short")
    with pytest.raises(InputError, match="role"):
        users.add_user(context, name=NAME, role="enterprise", password=PASSWORD)
    users.add_user(context, name=NAME, role="staff", password=PASSWORD)
    with pytest.raises(ConflictError):
        users.add_user(context, name=NAME, role="admin", password=PASSWORD)


def test_a_disabled_user_cannot_sign_in(runtime):
    users.add_user(acting(runtime), name=NAME, role="staff", password=PASSWORD)
    users.disable_user(acting(runtime), NAME)
    assert users.sign_in(runtime.sessions, NAME, PASSWORD) is None
    with pytest.raises(NotFoundError):
        users.disable_user(acting(runtime), "nobody")


def test_changing_needs_the_current_password_and_a_reset_does_not(runtime):
    row = users.add_user(acting(runtime), name=NAME, role="staff", password=PASSWORD)
    own = runtime.context(Actor(name=NAME, role="staff", face="console"))
    with pytest.raises(InputError, match="current"):
        users.change_password(own, int(row["id"]), current="wrong password", new="another one 1")
    users.change_password(own, int(row["id"]), current=PASSWORD, new="another one 1")
    assert users.sign_in(runtime.sessions, NAME, "another one 1") is not None
    users.reset_password(acting(runtime), NAME, "reset by admin")
    assert users.sign_in(runtime.sessions, NAME, "another one 1") is None
    assert users.sign_in(runtime.sessions, NAME, "reset by admin") is not None


def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(runtime):
    users.add_user(acting(runtime), name=NAME, role="staff", password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with runtime.sessions.begin() as session:
        user = user_store.by_name(session, NAME)
        assert user is not None
        user.password_hash = weak
    assert users.sign_in(runtime.sessions, NAME, PASSWORD) is not None
    renewed = _stored_hash(runtime)
    assert renewed != weak and "m=65536" in renewed
    assert users.sign_in(runtime.sessions, NAME, PASSWORD) is not None


def test_every_change_is_audited_by_its_actor_and_no_row_or_log_holds_a_password(runtime, caplog):
    caplog.set_level(logging.DEBUG)
    admin = runtime.context(Actor(name="经信局 王管理", role="admin", face="console"))
    row = users.add_user(admin, name=NAME, role="staff", password=PASSWORD)
    own = runtime.context(Actor(name=NAME, role="staff", face="console"))
    users.change_password(own, int(row["id"]), current=PASSWORD, new="second password")
    users.reset_password(admin, NAME, "third password")
    users.disable_user(admin, NAME)
    entries = _audit(runtime)
    assert [(e.action, e.actor_prefix, e.face) for e in entries] == [
        ("user.create", "经信局 王管理", "console"),
        ("user.change_password", NAME, "console"),
        ("user.reset_password", "经信局 王管理", "console"),
        ("user.disable", "经信局 王管理", "console"),
    ]
    with runtime.sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    written = json.dumps([[e.before, e.after] for e in entries], ensure_ascii=False)
    written += " ".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, "second password", "third password", "$argon2", stored):
        assert secret not in written
