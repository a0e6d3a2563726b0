"""Writing the audit log from routes: who (key prefix and role), what, before and after."""

from __future__ import annotations

from typing import Any

from notifier.runtime import Runtime
from notifier.services.access.api_keys import Principal
from notifier.store import audit


def record_change(
    runtime: Runtime,
    principal: Principal,
    *,
    action: str,
    target_type: str,
    target_id: object,
    before: Any = None,
    after: Any = None,
) -> None:
    """Add one audit entry for a change a staff or admin key made."""
    with runtime.sessions.begin() as session:
        audit.record(
            session,
            actor_prefix=principal.prefix,
            actor_role=principal.role,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=before,
            after=after,
            now=runtime.time_source.now(),
        )
