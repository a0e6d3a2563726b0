"""Campaigns: staff-scheduled outreach with its own templates, audience, schedule and throttle."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.domain.targets import Targets
from notifier.store.models.base import Base, utcnow


class CampaignStatus(enum.StrEnum):
    """Where a campaign stands; ``paused`` holds its unsent deliveries, ``cancelled`` ends it."""

    # Waits for an approver (待审核); ``returned``: an approver sent it back, it never runs.
    HELD = "held"
    RETURNED = "returned"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class Campaign(Base):
    """A campaign: templates per channel (by name), an audience, a schedule and a throttle.

    The schedule is ``once_at``, or ``cron`` (five fields) read in ``timezone``, optionally
    ending at ``ends_at``. Each run is a trigger of kind ``campaign_run``.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The Targets value as JSON (see Targets.as_dict); explicit credit codes included.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # channel -> stored template name
    templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    once_at: Mapped[datetime | None]
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    throttle_per_minute: Mapped[int | None]
    # Notice (通知) or marketing (营销): see notifier.domain.message_class.
    message_class: Mapped[str] = mapped_column(
        String(16), server_default="notice"
    )
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.SCHEDULED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def targets(self) -> Targets:
        """Whom the campaign reaches, on its channels only."""
        return Targets.from_dict({**(self.audience or {}), "channels": self.channels or []})
