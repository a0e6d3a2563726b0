"""The audit log, written by the services in the transaction of the change they make.

A change and its record commit together or not at all, whichever face asked for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from notifier.services.context import Context
from notifier.store import audit


def record(
    session: Session,
    context: Context,
    *,
    action: str,
    target_type: str,
    target_id: object,
    before: Any = None,
    after: Any = None,
) -> None:
    """Add the audit row for ``action`` to ``session``'s transaction (the caller's change).

    Parameters:
        session: the transaction that makes the change; nothing is committed here.
        context: names the actor (and the owner of its key) and gives the time.
        action: what was done, ``<target>.<verb>`` (``policy.publish``).
        target_type: the kind of thing changed (``policy``, ``api_key``, ...).
        target_id: which one (None when the change has no single target).
        before, after: the state before and after (JSON-able, no secrets).
    """
    actor = context.actor
    audit.record(
        session,
        actor_prefix=actor.name,
        actor_role=actor.role,
        actor_owner=actor.owner,
        face=actor.face,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        now=context.time_source.now(),
    )
