"""What admins do with API keys, from the CLI, the API or the console: make one, revoke one;
each change and its audit row in one transaction (a key itself is never logged)."""

from __future__ import annotations

from notifier.services import audit
from notifier.services.access.api_keys import NewKey, add_key, revoke_key
from notifier.services.context import Context


def make_key(
    context: Context, *, role: str, name: str, credit_code: str | None, owner: str | None = None
) -> NewKey:
    """Make a key owned by the user named ``owner`` (if given), audited ``key.create``; the
    answer holds the key this once.

    Raises:
        InputError: as :func:`notifier.services.access.api_keys.add_key`.
    """
    secret = context.settings.secret_key.get_secret_value()
    with context.sessions.begin() as session:
        new = add_key(
            session, role=role, name=name, credit_code=credit_code, secret=secret,
            now=context.time_source.now(), owner=owner,
        )  # fmt: skip
        audit.record(
            session, context, action="key.create", target_type="api_key", target_id=new.prefix,
            after=new.described(),
        )  # fmt: skip
    return new


def revoke(context: Context, prefix: str) -> dict[str, object]:
    """Revoke the key with ``prefix``, audited ``key.revoke``; the key as listed after.

    Raises:
        NotFoundError: no key has this prefix.
    """
    with context.sessions.begin() as session:
        row = revoke_key(session, prefix, now=context.time_source.now())
        audit.record(
            session, context, action="key.revoke", target_type="api_key", target_id=row["prefix"],
            before={"revoked_at": None}, after={"revoked_at": row["revoked_at"]},
        )  # fmt: skip
    return row
