"""A policy as the faces list and show it, and as the audit log records it."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from notifier.domain.changes import FIELD_LABELS
from notifier.services.delivery.kinds import local
from notifier.services.enterprises.listings import local as iso_local
from notifier.store.models import Policy


def policy_row(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """A policy as listings show it (ISO 8601 times in ``zone``)."""
    return {
        "id": policy.id,
        "title": policy.title,
        "department": policy.department,
        "summary": policy.summary,
        "url": policy.url,
        "published_at": iso_local(policy.published_at, zone),
        "targets": policy.targets.as_dict(),
        "topics": list(policy.topics or []),
    }


def ref_of(policy: Policy) -> str | None:
    """The ref the policy was published with, if its file had one."""
    key = policy.source_key
    return key.removeprefix("ref:") if key.startswith("ref:") else None


def policy_state(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """The policy as it stands and its deadlines: what the audit log keeps before and after."""
    return {
        "id": policy.id,
        "ref": ref_of(policy),
        "title": policy.title,
        "department": policy.department,
        "summary": policy.summary,
        "url": policy.url,
        "targets": policy.targets.as_dict(),
        "published_at": local(policy.published_at, zone),
        "cancelled_at": local(policy.cancelled_at, zone) if policy.cancelled_at else None,
        "deadlines": [
            {
                "id": d.id,
                "title": d.title,
                "due_at": local(d.due_at, zone),
                "cancelled": d.cancelled_at is not None,
            }
            for d in policy.deadlines
        ],
    }


def described(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """:func:`policy_state` and the revisions (更正记录), as ``notifier policies show`` shows."""
    return {
        **policy_state(policy, zone),
        "revisions": [
            {
                "number": r.number,
                "revised_at": local(r.revised_at, zone),
                "changed": list(r.changed),
                "changed_words": [FIELD_LABELS.get(name, name) for name in r.changed],
                "previous": r.previous,
            }
            for r in policy.revisions
        ],
    }
