"""The variables a campaign template may use: one table, read by the save-time check, the
``notifier templates variables`` command and docs/campaigns.md.

The shapes follow what policy templates get today (``notifier.services.delivery.messages``):
``enterprise`` is a
mapping of plain strings, times are local and already formatted, links are full URLs. Whoever
builds a campaign message's context gives every name below (``campaign.url`` may be ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variable:
    """One documented variable: its dotted name, what it holds and an example value."""

    name: str
    meaning: str
    example: str | None
    optional: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        """``("enterprise", "name")`` for ``enterprise.name``."""
        return tuple(self.name.split("."))


VARIABLES: tuple[Variable, ...] = (
    Variable("enterprise.name", "企业名称 the enterprise's name", "宁波灵峰汽车零部件有限公司"),
    Variable("enterprise.credit_code", "统一社会信用代码 unified social credit code",
             "91330206MA2AGQ1P5L"),
    Variable("enterprise.sector", "行业代码 GB/T 4754-2017 sector codes, joined by 、",
             "C3670"),
    Variable("enterprise.region", "所在区域 region: district/community/park",
             "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区"),
    Variable("enterprise.size", "企业规模 size: 大型, 中型, 小型 or 微型", "中型"),
    Variable("campaign.name", "活动代号 the campaign's name", "2026-tech-upgrade"),
    Variable("campaign.title", "活动标题 the campaign's title", "2026年技术改造补助申报提醒"),
    Variable("campaign.url", "活动链接 the campaign's link; empty (None) when it has none",
             "https://www.bl.gov.cn/demo/campaign", optional=True),
    Variable("run.date", "发送日期 the run's local date, YYYY-MM-DD", "2026-12-01"),
    Variable("unsubscribe_url", "退订链接 one-click unsubscribe link",
             "https://notifier.example/u/TOKEN"),
)


# What policy messages (published, corrected, deadline reminders) get beyond a campaign's
# variables; not offered to campaign templates, whose runs concern no one policy.
# The examples are as long as real ones (a policy and a firm numbered in the thousands), so a
# preview counts an SMS's length and billed parts as the firms will get it.
POLICY_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "page_url",
        "政策办理页面链接 the firm's own page of the policy: what it says, "
        "what to prepare, deadlines and its buttons (已知晓, 已办理...)",
        "https://notifier.example/p/ya-i3k.9Sz6Dd-85hs1PigN",
    ),
    Variable(
        "page_token",
        "页面链接末段 the last part of page_url (after /p/), for an approved "
        "SMS text that holds the fixed https://host/p/",
        "ya-i3k.9Sz6Dd-85hs1PigN",
    ),
)


def objects(variables: tuple[Variable, ...] = VARIABLES) -> dict[str, frozenset[str]]:
    """The top-level names that hold mappings, with the keys each has (``enterprise``: name...)."""
    keys: dict[str, set[str]] = {}
    for variable in variables:
        if len(variable.parts) == 2:
            keys.setdefault(variable.parts[0], set()).add(variable.parts[1])
    return {name: frozenset(found) for name, found in keys.items()}


def top_names(variables: tuple[Variable, ...] = VARIABLES) -> frozenset[str]:
    """Every top-level name a template may read (``enterprise``, ``unsubscribe_url``...)."""
    return frozenset(variable.parts[0] for variable in variables)


def filled_context(value: str, variables: tuple[Variable, ...] = VARIABLES) -> dict[str, Any]:
    """A context in which every variable holds ``value``: the save-time check's adversarial values.

    A template that behaves with the examples may branch on what a real firm's values are
    (``{% if enterprise.name|length > 20 %}``, ``{% if enterprise.size == '微型' %}``), so it is
    also rendered with every value one character, every value long, and every value equal to
    each string the template itself compares against.
    """
    context: dict[str, Any] = {}
    for variable in variables:
        *path, last = variable.parts
        target = context
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return context


def sample_context(
    variables: tuple[Variable, ...] = VARIABLES, *, optional_missing: bool = False
) -> dict[str, Any]:
    """A context holding every variable's example: what a saved template is test-rendered with.

    With ``optional_missing`` the optional variables are ``None``, as a real context may have.
    """
    context: dict[str, Any] = {}
    for variable in variables:
        *path, last = variable.parts
        target = context
        for part in path:
            target = target.setdefault(part, {})
        target[last] = None if optional_missing and variable.optional else variable.example
    return context
