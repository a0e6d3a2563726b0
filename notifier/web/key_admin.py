"""Making and revoking API keys from the API or the console, each audited the same way."""

from __future__ import annotations

from notifier.runtime import Runtime
from notifier.services.access.api_keys import NewKey, Principal, create_key, revoke_key
from notifier.web.auditing import record_change


def make_key_audited(
    runtime: Runtime, principal: Principal, *, role: str, name: str, credit_code: str | None
) -> NewKey:
    """Make a key for ``principal`` (an admin) and log it; the key itself is never logged.

    Raises:
        InputError: as ``create_key``.
    """
    new = create_key(
        runtime.sessions,
        role=role,
        name=name,
        credit_code=credit_code,
        secret=runtime.settings.secret_key.get_secret_value(),
        time_source=runtime.time_source,
    )
    record_change(
        runtime,
        principal,
        action="key.create",
        target_type="api_key",
        target_id=new.prefix,
        after=new.described(),
    )
    return new


def revoke_key_audited(runtime: Runtime, principal: Principal, prefix: str) -> dict[str, object]:
    """Revoke a key by prefix for ``principal`` and log it.

    Raises:
        NotFoundError: no key has this prefix.
    """
    row = revoke_key(runtime.sessions, prefix, time_source=runtime.time_source)
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
