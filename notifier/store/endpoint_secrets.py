"""Webhook endpoints' own signing secrets (already encrypted): find, add, lock for a change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from notifier.domain.channel_names import WEBHOOK
from notifier.store import added, insert_ignoring_conflicts, table_of
from notifier.store.models import Contact, EndpointSecret, Enterprise


def without_secret(session: Session, credit_codes: Sequence[str]) -> list[tuple[int, str]]:
    """The webhook contacts of these enterprises that have no secret row yet (new endpoints),
    as (contact id, address)."""
    if not credit_codes:
        return []
    query = (
        select(Contact.id, Contact.address)
        .join(Enterprise, Enterprise.id == Contact.enterprise_id)
        .outerjoin(EndpointSecret, EndpointSecret.contact_id == Contact.id)
        .where(
            Enterprise.credit_code.in_(credit_codes),
            Contact.channel == WEBHOOK,
            EndpointSecret.id.is_(None),
        )
        .order_by(Contact.id)
    )
    return [(contact_id, address) for contact_id, address in session.execute(query)]


def add_many(session: Session, secrets: Sequence[tuple[int, bytes | None]], now: datetime) -> None:
    """Give contacts their secret rows, ``(contact id, encrypted secret or None)``, in one
    statement; a contact that got one meanwhile (another import) keeps it."""
    if secrets:
        rows = [{"contact_id": c, "secret_encrypted": s, "created_at": now} for c, s in secrets]
        session.execute(insert_ignoring_conflicts(session, table_of(EndpointSecret)), rows)


def add(
    session: Session, contact_id: int, *, secret_encrypted: bytes | None, now: datetime
) -> EndpointSecret:
    """Give a contact its secret row (None: signed with the shared secret); the caller commits."""
    row = EndpointSecret(contact_id=contact_id, secret_encrypted=secret_encrypted, created_at=now)
    return added(session, row)


def endpoints_of(session: Session, enterprise_id: int, *, lock: bool = False) -> list[Contact]:
    """The enterprise's webhook contacts with their secret rows, oldest first; ``lock`` holds
    them (``FOR UPDATE`` on PostgreSQL) so two rotations cannot interleave."""
    query = (
        select(Contact)
        .where(Contact.enterprise_id == enterprise_id, Contact.channel == WEBHOOK)
        .order_by(Contact.id)
        .options(selectinload(Contact.signing_secret))
    )
    if lock:
        query = query.with_for_update(of=Contact)
    return list(session.scalars(query))
