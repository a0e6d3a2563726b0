"""Neutral records: what the input readers (CSV, policy file, API) produce and the store takes.

The store never imports a parser; every reader produces these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from notifier.targets import Targets


@dataclass(frozen=True)
class EnterpriseRecord:
    """One valid enterprise, normalized and ready to be stored (``row``: where it came from)."""

    row: int
    credit_code: str
    name: str
    sectors: tuple[str, ...]
    region: str
    size: str
    phone: str | None
    email: str | None
    webhook_url: str | None
    topics: tuple[str, ...]
    channels: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class DeadlineDraft:
    """A deadline of a policy, validated, not yet stored."""

    title: str
    due_at: datetime
    # Rungs such as "5wd" or "3d"; None: the ``reminders.ladder`` setting.
    remind: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PolicyDraft:
    """A validated policy, not yet stored. ``targets.topics`` are the policy's topics."""

    source_key: str
    title: str
    department: str
    summary: str = ""
    body: str = ""
    url: str | None = None
    targets: Targets = field(default_factory=Targets)
    published_at: datetime | None = None
    deadlines: tuple[DeadlineDraft, ...] = ()
