"""Policies published by departments, and their deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.domain.records import GUIDE_FIELDS, PolicyGuide
from notifier.domain.targets import Targets
from notifier.store.models.base import Base, utcnow


class Policy(Base):
    """A policy and whom it targets. Empty target lists mean everyone."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identifies "the same policy" across re-publishing: the file's ref, or a content digest.
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    department: Mapped[str] = mapped_column(String(100))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_sizes: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Unified social credit codes the policy names (``targets.credit_codes``); empty: any.
    target_credit_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when staff withdrew the policy before its publication time: it is never sent.
    cancelled_at: Mapped[datetime | None]
    # The guide a firm reads on its page (申报条件, 所需材料, 受理地址, 网上办理链接, 咨询电话).
    eligibility: Mapped[str | None] = mapped_column(Text)
    materials: Mapped[str | None] = mapped_column(Text)
    office_address: Mapped[str | None] = mapped_column(String(300))
    apply_url: Mapped[str | None] = mapped_column(String(2000))
    enquiry_phone: Mapped[str | None] = mapped_column(String(40))
    # The reach ladder: working days after publication at which firms that have not opened
    # the page get the policy again on another channel; [] none; None the setting's default.
    reach_ladder: Mapped[list[int] | None] = mapped_column(JSON)
    # Notice (通知) or marketing (营销): see notifier.domain.message_class.
    message_class: Mapped[str] = mapped_column(
        String(16), server_default="notice"
    )
    # Waiting for approval (待审核) or returned: not sent, not shown to firms, not followed.
    # (A server default only: inserts written for older schemas in tests name no such column.)
    held: Mapped[bool] = mapped_column(server_default=false())

    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="Deadline.due_at"
    )
    revisions: Mapped[list[PolicyRevision]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="PolicyRevision.number"
    )

    @property
    def targets(self) -> Targets:
        """Whom the policy is for, as one value (its topics included)."""
        return Targets(
            sectors=tuple(self.target_sectors or ()),
            regions=tuple(self.target_regions or ()),
            sizes=tuple(self.target_sizes or ()),
            tags=tuple(self.target_tags or ()),
            topics=tuple(self.topics or ()),
            credit_codes=tuple(self.target_credit_codes or ()),
        )

    @targets.setter
    def targets(self, value: Targets) -> None:
        self.target_sectors = list(value.sectors)
        self.target_regions = list(value.regions)
        self.target_sizes = list(value.sizes)
        self.target_tags = list(value.tags)
        self.topics = list(value.topics)
        self.target_credit_codes = list(value.credit_codes)

    @property
    def guide(self) -> PolicyGuide:
        """How a firm applies, as one value."""
        return PolicyGuide(**{name: getattr(self, name) for name in GUIDE_FIELDS})

    @guide.setter
    def guide(self, value: PolicyGuide) -> None:
        for name, given in value.as_dict().items():
            setattr(self, name, given)


class Deadline(Base):
    """An application or filing date attached to a policy."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime] = mapped_column(index=True)
    # The reminder ladder (``["5wd", "2wd", "0d"]``); None: the ``reminders.ladder`` setting.
    remind: Mapped[list[str] | None] = mapped_column(JSON)
    # Set when staff cancel the deadline: nothing more is sent for it.
    cancelled_at: Mapped[datetime | None]

    policy: Mapped[Policy] = relationship(back_populates="deadlines")


class DeadlineDone(Base):
    """An enterprise said it has done a deadline: it gets no more reminders for it."""

    __tablename__ = "deadline_done"
    __table_args__ = (UniqueConstraint("deadline_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    done_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyRevision(Base):
    """One correction of a policy: what it said before, and which of its fields changed."""

    __tablename__ = "policy_revisions"
    __table_args__ = (UniqueConstraint("policy_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    # 1 for the first correction, then 2, 3...
    number: Mapped[int]
    # The policy's content before this revision (``store.policies.content``).
    previous: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The content fields it changed (``title``, ``deadlines``...).
    changed: Mapped[list[str]] = mapped_column(JSON)
    revised_at: Mapped[datetime] = mapped_column(default=utcnow)

    policy: Mapped[Policy] = relationship(back_populates="revisions")
