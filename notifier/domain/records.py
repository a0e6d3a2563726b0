"""Neutral records: what the input readers (CSV, policy file, API) produce and the store takes.

The store never imports a parser; every reader produces these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from notifier.domain.targets import Targets


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


# The guide fields a firm reads on its page, in the order it reads them.
GUIDE_FIELDS = ("eligibility", "materials", "office_address", "apply_url", "enquiry_phone")


@dataclass(frozen=True)
class PolicyGuide:
    """How a firm applies: 申报条件, 所需材料, 受理地址, 网上办理链接, 咨询电话 (None: not given).

    The phone is stored as written (checked, not reformatted): a clerk's ``0574-86781234``
    reads better to a firm than E.164.
    """

    eligibility: str | None = None
    materials: str | None = None
    office_address: str | None = None
    apply_url: str | None = None
    enquiry_phone: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The fields by name, in :data:`GUIDE_FIELDS` order."""
        return {name: getattr(self, name) for name in GUIDE_FIELDS}


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
    guide: PolicyGuide = field(default_factory=PolicyGuide)
    # Working days after publication to re-send to firms that have not opened the page;
    # () never; None: the ``reach.ladder_working_days`` setting.
    reach_ladder: tuple[int, ...] | None = None
    # Notice (通知) or marketing (营销): see notifier.domain.message_class.
    message_class: str = "notice"


@dataclass(frozen=True)
class InlineTemplate:
    """A campaign file's own template text for one channel (saved as a stored template)."""

    body: str
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class CampaignDraft:
    """A validated campaign, not yet stored.

    ``templates`` names a stored template per channel; ``inline_templates`` carries text that
    is saved under the campaign's name (or the name given in ``templates``). The schedule is
    ``once_at``, or ``cron`` in ``timezone`` until the optional ``ends_at``.
    """

    name: str
    title: str
    channels: tuple[str, ...]
    targets: Targets
    url: str | None = None
    templates: dict[str, str] = field(default_factory=dict)
    inline_templates: dict[str, InlineTemplate] = field(default_factory=dict)
    once_at: datetime | None = None
    cron: str | None = None
    timezone: str = "Asia/Shanghai"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    throttle_per_minute: int | None = None
    author: str | None = None
    # Notice (通知) or marketing (营销): see notifier.domain.message_class.
    message_class: str = "notice"
