"""Who decides from the command line: the operator acts as a named approver user.

The CLI is run by whoever can read the settings (and so the database), so this names a person
for the record rather than proving one: the audit log keeps the shell's user beside the
name given, and the self-approval rule compares that name with the request's author.
"""

from __future__ import annotations

from notifier.errors import InputError
from notifier.services.context import Actor
from notifier.store import users
from notifier.store.db import SessionFactory


def acting_as(sessions: SessionFactory, operator: Actor, name: str) -> Actor:
    """``operator`` (``cli:<user>``) acting for the active user ``name``, with their role.

    Raises:
        InputError: (field ``as``) no active user has this name.
    """
    with sessions() as session:
        user = users.by_name(session, name.strip())
        if user is None or user.disabled_at is not None:
            raise InputError(
                f"--as: 没有名为“{name}”的在用账户 / no active user is named {name!r} "
                "(`notifier users list`)",
                field="as",
            )
        return Actor(name=operator.name, role=user.role, face="cli", owner=user.name)
