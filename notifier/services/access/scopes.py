"""The scope of a user, or of a key (its owner's): what of the district they may see."""

from __future__ import annotations

from notifier.domain.scope import Scope, scope_of
from notifier.errors import InputError
from notifier.store.models import User


def scope_for(role: str, user: User | None, *, enterprise_id: int | None = None) -> Scope:
    """The scope of ``role`` held by ``user`` (a key's owner; None: a key without one, which
    keeps the district's scope as staff)."""
    community = None
    department = None
    if user is not None and user.community is not None:
        community = (user.community.name, tuple(user.community.regions or ()))
    if user is not None and user.department is not None:
        department = user.department.name
    return scope_of(role, community=community, department=department, enterprise_id=enterprise_id)


def check_department(scope: Scope, department: str) -> None:
    """Refuse a policy a publisher would publish for another department than its own.

    Raises:
        InputError: (field ``department``) another department's.
    """
    if not scope.sees_department(department):
        raise InputError(
            f"department: 只能以本部门（{scope.department}）名义发布 / a publisher publishes "
            f"for its own department ({scope.department}), not {department!r}",
            field="department",
        )
