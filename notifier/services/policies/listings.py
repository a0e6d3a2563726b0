"""Policies as plain rows: what the API lists, the console shows and the audit log keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from notifier.domain.changes import FIELD_LABELS
from notifier.services.delivery.kinds import local as shown_local
from notifier.services.enterprises.listings import local
from notifier.store.models import Policy


def policy_row(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """A policy as listings show it (times in ``zone``)."""
    return {
        "id": policy.id,
        "title": policy.title,
        "department": policy.department,
        "summary": policy.summary,
        "url": policy.url,
        "published_at": local(policy.published_at, zone),
        "targets": policy.targets.as_dict(),
        "topics": list(policy.topics or []),
        **policy.guide.as_dict(),
        "reach_ladder": reach_ladder_of(policy),
        "held": bool(policy.held),
        "message_class": policy.message_class,
    }


def reach_ladder_of(policy: Policy) -> list[int] | None:
    """The policy's own reach ladder (working days), or None for the setting's default."""
    return None if policy.reach_ladder is None else list(policy.reach_ladder)


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
        "published_at": shown_local(policy.published_at, zone),
        "cancelled_at": shown_local(policy.cancelled_at, zone) if policy.cancelled_at else None,
        "held": bool(policy.held),
        "deadlines": deadline_rows(policy, lambda moment: shown_local(moment, zone)),
        **policy.guide.as_dict(),
        "reach_ladder": reach_ladder_of(policy),
        "message_class": policy.message_class,
    }


def deadline_rows(policy: Policy, shown: Callable[[datetime], str | None]) -> list[dict[str, Any]]:
    """The policy's deadlines, cancelled ones too, their due times as ``shown`` writes them."""
    return [
        {
            "id": d.id,
            "title": d.title,
            "due_at": shown(d.due_at),
            "cancelled": d.cancelled_at is not None,
        }
        for d in policy.deadlines
    ]


def described(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """:func:`policy_state` and the revisions (更正记录), as ``notifier policies show`` shows."""
    return {
        **policy_state(policy, zone),
        "revisions": [
            {
                "number": r.number,
                "revised_at": shown_local(r.revised_at, zone),
                "changed": list(r.changed),
                "changed_words": [FIELD_LABELS.get(name, name) for name in r.changed],
                "previous": r.previous,
            }
            for r in policy.revisions
        ],
    }
