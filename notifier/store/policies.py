"""Policies and their deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from notifier.domain.records import PolicyDraft
from notifier.domain.scope import DISTRICT, Scope
from notifier.store import added
from notifier.store.models import Deadline, Policy, PolicyRevision, Trigger, TriggerKind
from notifier.store.scope import policies_in


def get(session: Session, policy_id: int, *, for_update: bool = False) -> Policy | None:
    """The policy with this id, or None; ``for_update`` locks its row (PostgreSQL) until the
    transaction ends, so two revisions of one policy take turns."""
    return session.get(Policy, policy_id, with_for_update=for_update or None)


def get_by_source_key(
    session: Session, source_key: str, *, for_update: bool = False
) -> Policy | None:
    """The policy published earlier from the same ref or content, or None (``for_update``:
    see :func:`get`)."""
    query = select(Policy).where(Policy.source_key == source_key)
    return session.scalar(query.with_for_update() if for_update else query)


def get_by_key_suffix(session: Session, prefix: str, suffix: str) -> Policy | None:
    """The policy whose source key starts with ``prefix`` and ends with ``suffix`` (a
    generated ref, whose date part varies), or None."""
    query = select(Policy).where(
        Policy.source_key.startswith(prefix, autoescape=True),
        Policy.source_key.endswith(suffix, autoescape=True),
    )
    return session.scalars(query.order_by(Policy.id).limit(1)).first()


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
        message_class=draft.message_class,
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
    policy.guide = draft.guide
    policy.reach_ladder = _ladder(draft)
    return policy


def _ladder(draft: PolicyDraft) -> list[int] | None:
    return None if draft.reach_ladder is None else list(draft.reach_ladder)


def update(policy: Policy, draft: PolicyDraft) -> None:
    """Take the draft's texts, link, targets, guide and publication time (deadlines aside)."""
    policy.title = draft.title
    policy.department = draft.department
    policy.summary = draft.summary
    policy.body = draft.body
    policy.url = draft.url
    policy.targets = draft.targets
    policy.guide = draft.guide
    policy.reach_ladder = _ladder(draft)
    policy.message_class = draft.message_class
    policy.published_at = draft.published_at or policy.published_at


def create(session: Session, draft: PolicyDraft, *, now: datetime) -> Policy:
    """Store a new policy and its deadlines."""
    policy = build(draft, now=now)
    return added(session, policy)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def content(policy: Policy) -> dict[str, Any]:
    """What the policy says, as plain JSON values: what a revision compares and keeps.

    Deadlines are its live ones (cancelled ones left out), soonest first; times in UTC.
    """
    live = [d for d in policy.deadlines if d.cancelled_at is None]
    return {
        "title": policy.title,
        "department": policy.department,
        "summary": policy.summary,
        "body": policy.body,
        "url": policy.url,
        "targets": policy.targets.as_dict(),
        "published_at": _utc(policy.published_at),
        "deadlines": [
            {"title": d.title, "due_at": _utc(d.due_at), "remind": d.remind}
            for d in sorted(live, key=lambda d: (d.due_at, d.title))
        ],
        # A field not given is left out, so revisions kept before the guide compare equal.
        **{name: value for name, value in policy.guide.as_dict().items() if value},
        # Left out when the setting's default applies, as the guide above.
        **({} if policy.reach_ladder is None else {"reach_ladder": list(policy.reach_ladder)}),
        # Left out for a notice, the class every policy had before classes were kept.
        **({"message_class": policy.message_class} if policy.message_class == "marketing" else {}),
    }


def draft_content(draft: PolicyDraft, *, published_at: datetime) -> dict[str, Any]:
    """The content a draft would store (``published_at`` when the draft names no time)."""
    return content(build(draft, now=published_at))


def add_revision(
    session: Session,
    policy: Policy,
    *,
    previous: dict[str, Any],
    changed: list[str],
    now: datetime,
) -> PolicyRevision:
    """Keep the policy's previous content as its next revision (numbered from 1)."""
    last = session.scalar(
        select(func.max(PolicyRevision.number)).where(PolicyRevision.policy_id == policy.id)
    )
    revision = PolicyRevision(
        policy_id=policy.id,
        number=(last or 0) + 1,
        previous=previous,
        changed=changed,
        revised_at=now,
    )
    return added(session, revision)


def published_without_trigger(session: Session, *, now: datetime, limit: int = 100) -> list[Policy]:
    """Policies whose publication time has come but that have no publish trigger yet (one
    waiting for approval, ``held``, is left out)."""
    has_trigger = (
        select(Trigger.id)
        .where(Trigger.policy_id == Policy.id, Trigger.kind == TriggerKind.POLICY_PUBLISHED)
        .exists()
    )
    query = (
        select(Policy)
        .where(
            Policy.published_at <= now,
            Policy.cancelled_at.is_(None),
            Policy.held.is_(False),
            ~has_trigger,
        )
        .order_by(Policy.published_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def newest_first(scope: Scope = DISTRICT) -> Select[Policy]:
    """Every policy (in ``scope``), the newest first (for paging)."""
    return select(Policy).where(policies_in(scope)).order_by(Policy.id.desc())


def list_recent(session: Session, *, limit: int = 50, scope: Scope = DISTRICT) -> list[Policy]:
    """The newest policies (in ``scope``) first."""
    return list(session.scalars(newest_first(scope).limit(limit)))


def get_in_scope(session: Session, policy_id: int, scope: Scope) -> Policy | None:
    """The policy with this id if ``scope`` sees it, else None."""
    return session.scalar(select(Policy).where(Policy.id == policy_id, policies_in(scope)))


def revision_counts(session: Session, policy_ids: list[int]) -> dict[int, int]:
    """How many revisions each of these policies has (only those with any)."""
    if not policy_ids:
        return {}
    query = (
        select(PolicyRevision.policy_id, func.count())
        .where(PolicyRevision.policy_id.in_(policy_ids))
        .group_by(PolicyRevision.policy_id)
    )
    return {policy_id: number for policy_id, number in session.execute(query)}


def titles(session: Session, policy_ids: set[int]) -> dict[int, str]:
    """The title of each of ``policy_ids`` (an export puts it beside each delivery)."""
    if not policy_ids:
        return {}
    rows = session.execute(select(Policy.id, Policy.title).where(Policy.id.in_(policy_ids)))
    return {policy_id: title for policy_id, title in rows}


def followed(*, now: datetime, days: int) -> ColumnElement[bool]:
    """A policy whose reach is followed: published in the last ``days`` days (by ``now``), not
    withdrawn and not held for approval."""
    return and_(
        Policy.cancelled_at.is_(None),
        Policy.held.is_(False),
        Policy.published_at <= now,
        Policy.published_at >= now - timedelta(days=days),
    )
