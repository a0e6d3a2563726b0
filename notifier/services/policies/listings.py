"""Policies as plain rows: what the API lists, the console shows and the audit log keeps."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

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
    }
