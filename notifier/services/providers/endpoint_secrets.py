"""A signing secret per webhook endpoint: made when the endpoint is added, shown once to its
firm, rotated with an overlap in which the old and the new secret both sign.

Secrets are Standard Webhooks keys (``whsec_`` + base64 of 32 random bytes), stored encrypted
with the secret box (``secrets.keys``); staff never see them. What signs a message
(:func:`signing_secrets`):

- an endpoint with no secret of its own (it existed before secrets per endpoint, or was added
  while no key was configured): the shared ``webhook.secret``, as before;
- otherwise its own secret, and during an overlap also the previous one (the shared secret
  when the firm took its first own secret), until the overlap ends or the firm ends it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from notifier.channels.robots import parse_endpoint
from notifier.domain.secret_box import SecretBox
from notifier.errors import ConflictError, InputError, NotFoundError
from notifier.services import audit
from notifier.services.context import Context
from notifier.store import endpoint_secrets as store
from notifier.store.db import SessionFactory
from notifier.store.models import Contact, EndpointSecret

PREFIX = "whsec_"
SECRET_BYTES = 32
# How the box names what it opens, in its error messages (never the secret).
WHAT = "webhook endpoint secret"
# In a message's list of secrets, the provider's own (shared) secret.
SHARED = None


def new_secret() -> str:
    """A fresh Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _is_signed_endpoint(address: str) -> bool:
    """True for a Standard Webhooks endpoint (chat robots are signed as the robot wants)."""
    try:
        return not parse_endpoint(address).is_robot
    except InputError:
        return False


def provision(session: Session, box: SecretBox, credit_codes: Sequence[str], now: datetime) -> int:
    """Give the new webhook endpoints of these enterprises their own secret (the caller commits).

    An endpoint whose URL changed is a new contact row, so it gets a new secret too. With no
    key configured the endpoint is marked as signed with the shared secret instead, so that
    configuring a key later does not switch a receiver to a secret its firm never saw.

    Returns:
        How many endpoints got a secret of their own.
    """
    found = store.without_secret(session, credit_codes)
    new = [contact_id for contact_id, address in found if _is_signed_endpoint(address)]
    own = box.configured
    made = [box.encrypt({"secret": new_secret()}, what=WHAT) if own else None for _ in new]
    store.add_many(session, list(zip(new, made, strict=True)), now)
    return len(new) if own else 0


def _open(box: SecretBox, token: bytes) -> str:
    return box.decrypt(token, what=WHAT)["secret"]


def signing_secrets(
    row: EndpointSecret | None, box: SecretBox, now: datetime
) -> tuple[str | None, ...]:
    """The secrets that sign a message to the endpoint now, newest first; ``None`` stands for
    the provider's shared secret.

    Raises:
        ConfigError: the secret cannot be decrypted with any configured key.
    """
    if row is None or row.secret_encrypted is None:
        return (SHARED,)
    current = _open(box, row.secret_encrypted)
    if row.overlap_until is None or now >= row.overlap_until:
        return (current,)
    previous = SHARED if row.previous_encrypted is None else _open(box, row.previous_encrypted)
    return (current, previous)


@dataclass(frozen=True)
class SecretState:
    """What the firm (never staff) may know of its endpoint's secret, short of the secret."""

    endpoint: str
    own: bool  # False: still signed with the shared secret
    taken_at: datetime | None  # when the firm was shown the current secret
    previous_until: datetime | None  # the previous secret signs too until then

    @property
    def can_reveal(self) -> bool:
        """True when the current secret was never shown (the next take shows it, no rotation)."""
        return self.own and self.taken_at is None


@dataclass(frozen=True)
class TakenSecret:
    """A secret shown to its firm, once."""

    state: SecretState
    secret: str


def _state(contact: Contact, now: datetime) -> SecretState:
    row = contact.signing_secret
    own = row is not None and row.secret_encrypted is not None
    overlap = row.overlap_until if row is not None else None
    return SecretState(
        endpoint=parse_endpoint(contact.address).url,
        own=own,
        taken_at=row.revealed_at if row is not None and own else None,
        previous_until=overlap if overlap is not None and overlap > now else None,
    )


def _endpoint(session: Session, enterprise_id: int, *, lock: bool = False) -> Contact:
    for contact in store.endpoints_of(session, enterprise_id, lock=lock):
        if _is_signed_endpoint(contact.address):
            return contact
    raise NotFoundError(
        "webhook_url: 没有网络回调地址（机器人地址不用此密钥）/ no webhook endpoint (chat robots "
        "are not signed with it)",
        field="webhook_url",
    )


def state_of(sessions: SessionFactory, enterprise_id: int, *, now: datetime) -> SecretState:
    """The state of the enterprise's webhook endpoint's secret.

    Raises:
        NotFoundError: the enterprise has no webhook endpoint (chat robots do not count).
    """
    with sessions() as session:
        return _state(_endpoint(session, enterprise_id), now)


def find_state(
    sessions: SessionFactory, enterprise_id: int, *, now: datetime
) -> SecretState | None:
    """As :func:`state_of`, None when the enterprise has no webhook endpoint."""
    try:
        return state_of(sessions, enterprise_id, now=now)
    except NotFoundError:
        return None


def take(context: Context, enterprise_id: int) -> TakenSecret:
    """Show the firm its endpoint's secret: the current one if it was never shown, else a new
    one (a rotation), audited ``webhook_secret.take`` (never the secret). After a rotation, or
    when the firm leaves the shared secret, the previous secret keeps signing for
    ``webhook.secret_overlap_days``, so the firm can switch its receiver without a gap.

    Raises:
        NotFoundError: no webhook endpoint.
        ConflictError: no key is configured, so no secret can be stored.
        ConfigError: no configured key opens the stored secret.
    """
    box = context.box
    if not box.configured:
        raise ConflictError(
            "webhook_secret: 平台尚未配置加密密钥，暂不能生成签名密钥，请联系管理员 / signing "
            "secrets are not available: the platform has no encryption key; ask its administrators",
            field="webhook_secret",
        )
    now = context.time_source.now()
    overlap = timedelta(days=context.settings.webhook.secret_overlap_days)
    with context.sessions.begin() as session:
        contact = _endpoint(session, enterprise_id, lock=True)
        row = contact.signing_secret
        rotated = not (
            row is not None and row.secret_encrypted is not None and row.revealed_at is None
        )
        if row is not None and not rotated:
            assert row.secret_encrypted is not None
            secret = _open(box, row.secret_encrypted)  # made with the endpoint, never shown
        else:
            secret = new_secret()
            encrypted = box.encrypt({"secret": secret}, what=WHAT)
            if row is None:
                row = store.add(session, contact.id, secret_encrypted=None, now=now)
            # From the shared secret: None stays as the previous one (it means the shared).
            row.previous_encrypted = row.secret_encrypted
            row.secret_encrypted = encrypted
            row.overlap_until = now + overlap
            row.rotated_at = now
        row.revealed_at = now
        session.flush()
        state = _state(contact, now)
        _audit(session, context, "webhook_secret.take", contact, {"rotated": rotated})
        return TakenSecret(state=state, secret=secret)


def end_overlap(context: Context, enterprise_id: int) -> SecretState:
    """Stop signing with the previous secret now (the firm's receiver has switched), audited
    ``webhook_secret.end_overlap`` when there was an overlap to end.

    Raises:
        NotFoundError: no webhook endpoint.
    """
    now = context.time_source.now()
    with context.sessions.begin() as session:
        contact = _endpoint(session, enterprise_id, lock=True)
        row = contact.signing_secret
        if row is not None and row.overlap_until is not None and row.overlap_until > now:
            row.overlap_until = now
            row.previous_encrypted = None
            _audit(session, context, "webhook_secret.end_overlap", contact, None)
        return _state(contact, now)


def _audit(
    session: Session, context: Context, action: str, contact: Contact, after: object
) -> None:
    # The endpoint by its row id: its URL may carry a token of the firm's.
    audit.record(
        session, context, action=action, target_type="webhook_endpoint", target_id=contact.id,
        after=after,
    )  # fmt: skip
