"""Policies and their deadlines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.models import Deadline, Policy, Trigger, TriggerKind
from notifier.records import PolicyDraft


def get(session: Session, policy_id: int) -> Policy | None:
    """The policy with this id, or None."""
    return session.get(Policy, policy_id)


def get_by_source_key(session: Session, source_key: str) -> Policy | None:
    """The policy published earlier from the same ref or content, or None."""
    return session.scalar(select(Policy).where(Policy.source_key == source_key))


def build(draft: PolicyDraft, *, now: datetime) -> Policy:
    """The policy a draft describes, not yet stored (a preview renders it as it is)."""
    policy = Policy(
        source_key=draft.source_key,
        title=draft.title,
        summary=draft.summary,
        body=draft.body,
        url=draft.url,
        department=draft.department,
        published_at=draft.published_at or now,
        deadlines=[
            Deadline(
                title=d.title,
                due_at=d.due_at,
                remind=None if d.remind is None else list(d.remind),
            )
            for d in draft.deadlines
        ],
    )
    policy.targets = draft.targets
    return policy


def create(session: Session, draft: PolicyDraft, *, now: datetime) -> Policy:
    """Store a new policy and its deadlines."""
    policy = build(draft, now=now)
    session.add(policy)
    session.flush()
    return policy


def published_without_trigger(session: Session, *, now: datetime, limit: int = 100) -> list[Policy]:
    """Policies whose publication time has come but that have no publish trigger yet."""
    has_trigger = (
        select(Trigger.id)
        .where(Trigger.policy_id == Policy.id, Trigger.kind == TriggerKind.POLICY_PUBLISHED)
        .exists()
    )
    query = (
        select(Policy)
        .where(Policy.published_at <= now, ~has_trigger)
        .order_by(Policy.published_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def list_recent(session: Session, *, limit: int = 50) -> list[Policy]:
    """The newest policies first."""
    return list(session.scalars(select(Policy).order_by(Policy.id.desc()).limit(limit)))
