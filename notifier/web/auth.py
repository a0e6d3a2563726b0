"""API keys in, a :class:`Principal` out; every route declares the roles it admits.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key: 401. A wrong,
unknown or revoked key: 401, counted against the client's address (``X-Forwarded-For`` only
from ``web.trusted_proxies``); past ``web.failed_auth_limit`` failures in
``web.failed_auth_window_seconds`` a wrong key from that address gets 429 with ``Retry-After``
until the window ends. A right key still passes: failures are what is limited, and a key of
256 random bits cannot be guessed. A key whose role the route does not admit: 403.

Every route depends on :func:`require` (or :data:`PUBLIC`):
``tests/web/api/test_api_roles.py`` fails for a route that declares neither.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from notifier.guards.sign_in import ClientAddress, FailedAttempts
from notifier.runtime import Runtime
from notifier.services.access.api_keys import Principal, authenticate
from notifier.services.context import Actor, Context, Face
from notifier.store.models import Role
from notifier.web.deps import RuntimeDep
from notifier.web.forms import deployment_keys

__all__ = [
    "PUBLIC", "Author", "CampaignReader", "Principal", "Reader", "RoleRequirement", "Staff",
    "acting", "require",
]  # fmt: skip

_bearer = HTTPBearer(auto_error=False, description="API 密钥 / API key: `Bearer ntf_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥 / API key")


def _client(request: Request) -> str:
    address: ClientAddress = request.app.state.client_address
    return address(request)


def _limiter(request: Request) -> FailedAttempts:
    limiter: FailedAttempts | None = request.app.state.failed_attempts
    assert limiter is not None
    return limiter


def _too_many(seconds: int) -> HTTPException:
    return HTTPException(
        429,
        f"失败次数过多，请 {seconds} 秒后再试 / too many failed attempts; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _authenticated(runtime: Runtime, key: str) -> Principal | None:
    """The principal of ``key``, peppered with the deployment's keys (None: no such key)."""
    return authenticate(
        runtime.sessions, key, peppers=deployment_keys(runtime.settings),
        time_source=runtime.time_source,
    )  # fmt: skip


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    """The caller, from its API key.

    Raises:
        HTTPException: 401 without a valid key, 429 after too many failures.
    """
    key = bearer.credentials if bearer else header
    if not key:
        raise HTTPException(
            401,
            "需要 API 密钥 / an API key is needed (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # The key's lookup reads the database: in a worker thread, off the event loop.
    principal = await run_in_threadpool(_authenticated, runtime, key)
    if principal is None:
        limiter = _limiter(request)
        address = _client(request)
        wait = await run_in_threadpool(limiter.retry_after, address)
        if wait is not None:
            raise _too_many(wait)
        await run_in_threadpool(limiter.failed, address)
        raise HTTPException(
            401,
            "API 密钥无效或已吊销 / invalid or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


class RoleRequirement:
    """A dependency admitting the given roles; its ``roles`` are what the route declares."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    async def __call__(
        self, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        if principal.role not in self.roles:
            raise HTTPException(403, "此密钥无权访问 / this key may not do this")
        return principal


def require(*roles: Role) -> RoleRequirement:
    """The dependency a route takes to admit only ``roles``."""
    return RoleRequirement(tuple(roles))


class Public:
    """The dependency of a route anyone may call (``/healthz``, ``/metrics``)."""

    roles: tuple[Role, ...] = ()

    def __call__(self) -> None:
        return None


PUBLIC = Public()

# The register (firms one by one, deliveries with addresses, follow-ups): admins and staff.
Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.STAFF))]
# Policies, campaigns and their numbers: also publishers and approvers (scoped).
Reader = Annotated[
    Principal, Depends(require(Role.ADMIN, Role.STAFF, Role.PUBLISHER, Role.APPROVER))
]
# Campaigns and their progress: also approvers (they sign off mass sends).
CampaignReader = Annotated[Principal, Depends(require(Role.ADMIN, Role.STAFF, Role.APPROVER))]
# Writing and publishing policies and templates: also publishers.
Author = Annotated[Principal, Depends(require(Role.ADMIN, Role.STAFF, Role.PUBLISHER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
EnterpriseKey = Annotated[Principal, Depends(require(Role.ENTERPRISE))]


def acting(runtime: Runtime, principal: Principal, face: Face = "api") -> Context:
    """The context of an operation ``principal`` asks for on ``face`` (the API or the console):
    the audit log names the key's prefix, role and owner; its scope is the key's owner's."""
    actor = Actor(
        name=principal.prefix, role=str(principal.role), face=face, owner=principal.owner,
        scope=principal.scope,
    )  # fmt: skip
    return runtime.context(actor)
