"""What an admin maps to a vendor's approved SMS template, per message kind: the kinds in Chinese,
the variables a parameter may read in each, and a sample context to preview and test-send with.

The variables are the ones the message kind's context holds
(:mod:`notifier.services.delivery.kinds`, :mod:`notifier.services.delivery.messages`), with an
example each. The vendors take no whole link as a parameter (the link's host must be fixed in
the approved text), so a policy kind offers the firm's page both as ``page_url`` and as
``page_token``, the part after ``/p/``.
"""

from __future__ import annotations

from typing import Any

from notifier.rendering.variables import POLICY_VARIABLES, VARIABLES, Variable, sample_context
from notifier.store.models import TriggerKind

KIND_WORDS: dict[str, str] = {
    TriggerKind.POLICY_PUBLISHED.value: "发布 policy published",
    TriggerKind.DEADLINE_REMINDER.value: "提醒 deadline reminder",
    TriggerKind.POLICY_CORRECTED.value: "更正 policy corrected",
    TriggerKind.CAMPAIGN_RUN.value: "推送活动 campaign run",
    TriggerKind.POLICY_RESENT.value: "重发 policy re-sent (reach ladder)",
}

_ENTERPRISE = tuple(v for v in VARIABLES if v.name.startswith("enterprise."))
_CAMPAIGN = tuple(v for v in VARIABLES if v.name.startswith(("campaign.", "run.")))
_POLICY = (
    Variable(
        "policy.title", "政策标题 the policy's title", "关于开展2026年度技术改造项目申报的通知"
    ),
    Variable("policy.department", "发文部门 the issuing department", "区经济和信息化局"),
    Variable("policy.published_at", "发布时间 published at (local)", "2026-12-01 09:00"),
    Variable("policy.url", "原文链接 the policy's link", "https://www.bl.gov.cn/p/1"),
    *POLICY_VARIABLES,
)
_DEADLINE = (
    Variable("deadline.title", "截止事项 the deadline's title", "申报材料提交"),
    Variable("deadline.due_at", "截止时间 due at (local)", "2026-12-20 17:00"),
    Variable("deadline.days_left", "剩余天数 days left", "3"),
)
_CORRECTION = (
    Variable("correction.number", "第几次更正 the revision's number", "1"),
    Variable("correction.revised_at", "更正时间 revised at (local)", "2026-12-02 10:00"),
)
_RESENT = (Variable("resent.working_days", "发布后第几个工作日 working days since", "2"),)

VARIABLES_BY_KIND: dict[str, tuple[Variable, ...]] = {
    TriggerKind.POLICY_PUBLISHED.value: _ENTERPRISE + _POLICY,
    TriggerKind.DEADLINE_REMINDER.value: _ENTERPRISE + _POLICY + _DEADLINE,
    TriggerKind.POLICY_CORRECTED.value: _ENTERPRISE + _POLICY + _CORRECTION,
    TriggerKind.CAMPAIGN_RUN.value: _ENTERPRISE + _CAMPAIGN,
    TriggerKind.POLICY_RESENT.value: _ENTERPRISE + _POLICY + _RESENT,
}


def sample_of(kind: str) -> dict[str, Any]:
    """A context of ``kind`` holding every documented variable's example."""
    return sample_context(VARIABLES_BY_KIND.get(kind, _ENTERPRISE))
