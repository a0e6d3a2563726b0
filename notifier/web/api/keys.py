"""``/api/v1/keys`` (admin): make, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from notifier.apikeys import create_key, list_keys, revoke_key
from notifier.web.api.schemas import KeyIn, KeyOut, NewKeyOut
from notifier.web.auditing import record_change
from notifier.web.auth import Admin
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/keys", tags=["keys"])

Prefix = Annotated[str, Path(max_length=20, description="密钥前缀 / the key's prefix")]


@router.get("", response_model=list[KeyOut], summary="密钥列表 / keys (prefixes only)")
def keys(runtime: RuntimeDep, _: Admin) -> list[dict[str, object]]:
    """Every key by prefix, newest first; a key's secret part is never shown again."""
    return list_keys(runtime.sessions)


@router.post("", response_model=NewKeyOut, status_code=201, summary="新建密钥 / make a key")
def make_key(runtime: RuntimeDep, principal: Admin, body: KeyIn) -> dict[str, Any]:
    """Make a key; the answer holds it this once (only its hash is stored)."""
    new = create_key(
        runtime.sessions,
        role=body.role,
        name=body.name,
        credit_code=body.enterprise,
        secret=runtime.settings.secret_key.get_secret_value(),
        clock=runtime.clock,
    )
    record_change(
        runtime,
        principal,
        action="key.create",
        target_type="api_key",
        target_id=new.prefix,
        after={
            "prefix": new.prefix,
            "role": new.role,
            "name": new.name,
            "credit_code": new.credit_code,
        },
    )
    return {
        "key": new.key,
        "prefix": new.prefix,
        "role": new.role,
        "name": new.name,
        "credit_code": new.credit_code,
    }


@router.post("/{prefix}/revoke", response_model=KeyOut, summary="吊销密钥 / revoke a key")
def revoke(runtime: RuntimeDep, principal: Admin, prefix: Prefix) -> dict[str, object]:
    """Revoke a key by prefix: it stops working at once."""
    row = revoke_key(runtime.sessions, prefix, clock=runtime.clock)
    record_change(
        runtime,
        principal,
        action="key.revoke",
        target_type="api_key",
        target_id=prefix,
        before={"revoked_at": None},
        after={"revoked_at": row["revoked_at"]},
    )
    return row
