"""Triggers: one row per "this should go out now", unique on what, which and when."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.store.models.base import Base, utcnow
from notifier.store.models.campaign import Campaign
from notifier.store.models.policy import Deadline, Policy


class TriggerKind(enum.StrEnum):
    """What set a fan-out going; also the name of the template folder it uses."""

    POLICY_PUBLISHED = "policy_published"
    DEADLINE_REMINDER = "deadline_reminder"
    POLICY_CORRECTED = "policy_corrected"
    CAMPAIGN_RUN = "campaign_run"
    # A reach ladder's rung: the policy again, on another channel, to firms that had not opened.
    POLICY_RESENT = "policy_resent"


class TriggerStatus(enum.StrEnum):
    """Fan-out progress of a trigger."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    # Never fanned out: staff moved or cancelled its deadline before it ran.
    CANCELLED = "cancelled"
    # Fell due while the clock was down, longer ago than clock.catch_up_hours: not sent late.
    MISSED = "missed"


class Trigger(Base):
    """A due piece of outreach. Its unique ``key`` makes re-running it harmless."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    deadline_id: Mapped[int | None] = mapped_column(
        ForeignKey("deadlines.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=TriggerStatus.PENDING, index=True)
    recipients: Mapped[int] = mapped_column(default=0)
    # Fan-out runs started; a trigger that keeps failing stops as failed after a few.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Last sign of life: set when queued and on every page of the fan-out; the sweeper
    # re-queues a pending or running trigger whose heartbeat has gone quiet.
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    # A campaign run: its campaign, and the template versions it pinned (channel -> name,
    # version and text), so a template saved later does not change a run under way.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    templates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The audience the trigger was made for (``Targets.as_dict()``), when its kind keeps one:
    # a reach ladder's re-send names the firms that had not opened, on one channel.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    policy: Mapped[Policy | None] = relationship()
    deadline: Mapped[Deadline | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
