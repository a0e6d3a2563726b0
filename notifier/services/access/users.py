"""What is done with people's accounts, from the CLI or the console: add one, sign in, change
one's own password, and an admin's disable and reset; each change and its audit row in one
transaction. No audit row, answer or log line holds a password or its hash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from notifier.domain.paging import Paged
from notifier.domain.text_rules import check_line
from notifier.errors import ConflictError, InputError, NotFoundError
from notifier.services import audit
from notifier.services.access import passwords
from notifier.services.context import Context
from notifier.store import communities as places
from notifier.store import console_sessions, users
from notifier.store.db import SessionFactory
from notifier.store.models import Role, User
from notifier.store.paging import paged

# People sign in to the console; enterprises have their keys and their pages.
USER_ROLES = (Role.STAFF.value, Role.ADMIN.value, Role.PUBLISHER.value, Role.APPROVER.value)


@dataclass(frozen=True)
class SignedInUser:
    """Who a right name and password name."""

    user_id: int
    name: str
    role: str


def user_row(user: User) -> dict[str, object]:
    """A user as listings and the audit log show them: never the password hash."""
    return {
        "id": user.id,
        "name": user.name,
        "phone": user.phone,
        "role": user.role,
        "community": user.community.name if user.community else None,
        "department": user.department.name if user.department else None,
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 64:
        raise InputError("name: 需要 1-64 个字符 / needs 1 to 64 characters", field="name")
    return check_line(name, "name")


def _role(value: str) -> str:
    if value not in USER_ROLES:
        raise InputError(
            f"role: 用户角色只能是 {'、'.join(USER_ROLES)} / a user's role is one of "
            f"{', '.join(USER_ROLES)}",
            field="role",
        )
    return value


def _optional(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip()
    return check_line(text, field, limit=limit) if text else None


def _place_id(
    session: Session, role: str, field: str, name: str | None, *, holder: Role, words: str
) -> int | None:
    """The id of the community or department (``field``) named ``name`` (None: none named);
    only ``holder``'s role belongs to one (``words``: who, in Chinese and English)."""
    if not name:
        return None
    if role != holder.value:
        raise InputError(f"{field}: {words}", field=field)
    lookup = places.community_by_name if field == "community" else places.department_by_name
    found = lookup(session, " ".join(name.split()))
    if found is None:
        raise InputError(f"{field}: 没有该{'社区' if field == 'community' else '部门'} / no "
                         f"{field} {name!r}", field=field)  # fmt: skip
    return found.id


def _places(
    session: Session, role: str, community: str | None, department: str | None
) -> tuple[int | None, int | None]:
    """The ids of the named community and department (None: none named).

    A community is for staff (without one: the district office), a department for a
    publisher.

    Raises:
        InputError: (field ``community`` or ``department``) unknown, or not for this role.
    """
    return (
        _place_id(session, role, "community", community, holder=Role.STAFF,
                  words="只有工作人员属于社区 / only staff belong to a community"),
        _place_id(session, role, "department", department, holder=Role.PUBLISHER,
                  words="只有发布人属于部门 / only publishers belong to a department"),
    )  # fmt: skip


def add_user(
    context: Context,
    *,
    name: str,
    role: str,
    password: str,
    phone: str | None = None,
    community: str | None = None,
    department: str | None = None,
) -> dict[str, object]:
    """Add a user, audited ``user.create``; the user as listed. Staff with a ``community`` see
    its firms only (without one: the district office, every firm); a publisher's
    ``department`` is whose policies it publishes and sees.

    Raises:
        InputError: a bad name, role, phone, community or department, or a password under 10
            characters.
        ConflictError: a user has this name already.
    """
    label, chosen = _name(name), _role(role)
    phone_number = _optional(phone, "phone", 20)
    password_hash = passwords.hashed(password)  # slow: outside the transaction
    with context.sessions.begin() as session:
        if users.by_name(session, label) is not None:
            raise ConflictError(f"name: 已有同名用户 / a user named {label!r} exists", field="name")
        community_id, department_id = _places(session, chosen, community, department)
        user = users.add(
            session, name=label, phone=phone_number, role=chosen, community_id=community_id,
            department_id=department_id, password_hash=password_hash,
            now=context.time_source.now(),
        )  # fmt: skip
        row = user_row(user)
        audit.record(
            session, context, action="user.create", target_type="user", target_id=user.id,
            after=row,
        )  # fmt: skip
    return row


def list_users(sessions: SessionFactory) -> list[dict[str, object]]:
    """Every user, by name."""
    with sessions() as session:
        return [user_row(u) for u in users.listed(session)]


def page_of_users(sessions: SessionFactory, *, number: int, size: int) -> Paged[dict[str, object]]:
    """Page ``number`` of every user, by name (a number past the end: the last page)."""
    with sessions() as session:
        found = paged(session, users.by_name_order(), number=number, size=size)
        rows = [user_row(u) for u in found.rows]
        return Paged(rows=rows, number=found.number, size=found.size, total=found.total)


def prepare_sign_in() -> None:
    """Make what a sign-in compares against once, before the first sign-in (its timing then
    tells no one whether a name exists, from the first attempt on)."""
    passwords.decoy()


def sign_in(sessions: SessionFactory, name: str, password: str) -> SignedInUser | None:
    """The user a name and password name, or None (unknown, wrong, disabled). A right password
    stored under older parameters is rehashed. Unaudited: failures are counted per address by
    the face, and a sign-in changes nothing."""
    with sessions() as session:
        user = users.by_name(session, " ".join(name.split()))
        stored = user.password_hash if user is not None else None
        if not passwords.matches(stored, password) or user is None or user.disabled_at:
            return None
        found = SignedInUser(user_id=user.id, name=user.name, role=user.role)
    if stored is not None and passwords.outdated(stored):
        rehashed = passwords.hashed(password)
        with sessions.begin() as session:
            fresh = users.by_id(session, found.user_id)
            if fresh is not None and fresh.password_hash == stored:
                fresh.password_hash = rehashed  # the same password: not a change to audit
    return found


def phone_of(sessions: SessionFactory, user_id: int | None) -> str | None:
    """The phone on the user's account (None: none, or no user: an API key's holder)."""
    if user_id is None:
        return None
    with sessions() as session:
        user = users.by_id(session, user_id)
        return user.phone if user is not None else None


def _user(session: Session, name_or_id: str | int) -> User:
    user = (
        users.by_id(session, name_or_id)
        if isinstance(name_or_id, int)
        else users.by_name(session, " ".join(name_or_id.split()))
    )
    if user is None:
        raise NotFoundError(f"user: 没有该用户 / no user {name_or_id!r}", field="user")
    return user


def disable_user(context: Context, name_or_id: str | int) -> dict[str, object]:
    """Disable a user, audited ``user.disable``: they cannot sign in, their sessions end.

    Raises:
        NotFoundError: no such user.
    """
    now = context.time_source.now()
    with context.sessions.begin() as session:
        user = _user(session, name_or_id)
        before = user.disabled_at
        users.disable(session, user, now=now)
        console_sessions.end_for_user(session, user.id, now=now, reason="disabled")
        row = user_row(user)
        audit.record(
            session, context, action="user.disable", target_type="user", target_id=user.id,
            before={"disabled_at": before.isoformat() if before else None},
            after={"disabled_at": row["disabled_at"]},
        )  # fmt: skip
    return row


def reset_password(context: Context, name_or_id: str | int, password: str) -> dict[str, object]:
    """Give a user a new password (an admin's reset), audited ``user.reset_password``; their
    sessions end, so whoever knew the old one is signed out.

    Raises:
        NotFoundError: no such user.
        InputError: the password is under 10 characters.
    """
    password_hash = passwords.hashed(password)
    now = context.time_source.now()
    with context.sessions.begin() as session:
        user = _user(session, name_or_id)
        users.set_password_hash(session, user, password_hash, now=now)
        console_sessions.end_for_user(session, user.id, now=now, reason="password")
        audit.record(
            session, context, action="user.reset_password", target_type="user",
            target_id=user.id, after={"name": user.name},
        )  # fmt: skip
        return user_row(user)


def change_password(
    context: Context, user_id: int, *, current: str, new: str, keep_session: str | None = None
) -> None:
    """Change one's own password, audited ``user.change_password``; one's other sessions end
    (``keep_session``, the hash of the session asking, stays).

    Raises:
        InputError: the current password is wrong, or the new one under 10 characters.
    """
    password_hash = passwords.hashed(new)
    now = context.time_source.now()
    with context.sessions.begin() as session:
        user = _user(session, user_id)
        if not passwords.matches(user.password_hash, current):
            raise InputError(
                "current: 当前密码不对 / the current password is wrong", field="current"
            )
        users.set_password_hash(session, user, password_hash, now=now)
        console_sessions.end_for_user(
            session, user.id, now=now, reason="password", keep=keep_session
        )
        audit.record(
            session, context, action="user.change_password", target_type="user",
            target_id=user.id, after={"name": user.name},
        )  # fmt: skip


def place_user(
    context: Context, name_or_id: str | int, *, community: str | None, department: str | None
) -> dict[str, object]:
    """Set (or clear, with empty values) a user's community and department, audited
    ``user.place``; their sessions end, so their next sign-in carries the new scope.

    Raises:
        NotFoundError: no such user. InputError: as :func:`add_user`.
    """
    now = context.time_source.now()
    with context.sessions.begin() as session:
        user = _user(session, name_or_id)
        before = user_row(user)
        community_id, department_id = _places(session, user.role, community, department)
        user.community_id, user.department_id = community_id, department_id
        session.flush()
        session.expire(user, ["community", "department"])
        console_sessions.end_for_user(session, user.id, now=now, reason="scope")
        row = user_row(user)
        audit.record(
            session, context, action="user.place", target_type="user", target_id=user.id,
            before={k: before[k] for k in ("community", "department")},
            after={k: row[k] for k in ("community", "department")},
        )  # fmt: skip
        return row
