"""``/api/v1/audit`` (admin): what staff and admin keys changed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from notifier.services.enterprises.listings import local
from notifier.store import audit as store
from notifier.web.api.schemas import AUDIT_TARGETS, KEY_PREFIX, AuditOut, Page
from notifier.web.auth import Admin
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut], summary="审计日志 / the audit log")
def audit_log(
    runtime: RuntimeDep,
    _: Admin,
    target_type: Annotated[
        str | None, Query(max_length=30, json_schema_extra={"enum": AUDIT_TARGETS})
    ] = None,
    actor: Annotated[
        str | None,
        Query(max_length=20, description="密钥前缀 / key prefix", json_schema_extra=KEY_PREFIX),
    ] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Entries newest first: who (key prefix and role), what, when, before and after."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        entries = store.page(
            session, before_id=cursor, limit=limit, target_type=target_type, actor_prefix=actor
        )
        items = [
            {
                "id": e.id,
                "actor_prefix": e.actor_prefix,
                "actor_role": e.actor_role,
                "actor_owner": e.actor_owner,
                "face": e.face,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "before": e.before,
                "after": e.after,
                "at": local(e.at, zone),
            }
            for e in entries
        ]
    return {"items": items, "next": str(entries[-1].id) if len(entries) == limit else None}
