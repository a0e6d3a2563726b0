"""``/api/v1/keys`` (admin): make, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from notifier.inputs.api import KeyIn
from notifier.services.access import key_admin
from notifier.services.access.api_keys import list_keys
from notifier.web.api.schemas import KEY_PREFIX, KeyOut, NewKeyOut
from notifier.web.auth import Admin, acting
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/keys", tags=["keys"])

Prefix = Annotated[
    str,
    Path(max_length=20, description="密钥前缀 / the key's prefix", json_schema_extra=KEY_PREFIX),
]


@router.get("", response_model=list[KeyOut], summary="密钥列表 / keys (prefixes only)")
def keys(runtime: RuntimeDep, _: Admin) -> list[dict[str, object]]:
    """Every key by prefix with its owner, newest first; a key's secret part is never shown
    again."""
    return list_keys(runtime.sessions)


@router.post("", response_model=NewKeyOut, status_code=201, summary="新建密钥 / make a key")
def make_key(runtime: RuntimeDep, principal: Admin, body: KeyIn) -> dict[str, Any]:
    """Make a key, owned by the user named ``owner`` when given; the answer holds it this once
    (only its hash is stored)."""
    context = acting(runtime, principal)
    new = key_admin.make_key(
        context, role=body.role, name=body.name, credit_code=body.enterprise, owner=body.owner
    )
    return {"key": new.key, **new.described()}


@router.post("/{prefix}/revoke", response_model=KeyOut, summary="吊销密钥 / revoke a key")
def revoke(runtime: RuntimeDep, principal: Admin, prefix: Prefix) -> dict[str, object]:
    """Revoke a key by prefix: it stops working at once."""
    return key_admin.revoke(acting(runtime, principal), prefix)
