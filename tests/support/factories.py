"""Test data: valid credit codes, enterprise CSV files and policies."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc

from notifier.channels.vendor_sms import FALLBACK_KINDS
from notifier.inputs.enterprise_csv import HEADER
from notifier.services.calendar.working_days import mark_year
from notifier.services.delivery.kinds import KINDS as MESSAGE_KINDS

REGION = "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区"
# Text that broke an input path before (issue 14): NUL, control, bidi and invisible characters,
# a name of only a filler, tag characters, stacked combining marks, a lone surrogate, length.
HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "\u200b",
    "\u3164",
    "\u202e\u202dx",
    "\ufeff",
    "\U000e0041\U000e0042",
    "e" + "\u0301" * 50,
    "\ud800",
    "专" * 5000,
]


def credit_code(number: int) -> str:
    """A valid unified social credit code, different for every ``number``."""
    base = f"91330206MA2{number:06d}"
    return base + uscc.calc_check_digit(base)


@dataclass
class Firm:
    """One row of an enterprise CSV, with sensible defaults."""

    number: int
    sectors: str = "C3670"
    region: str = REGION
    size: str = "small"
    channels: str = "sms;email;webhook"
    topics: str = ""
    tags: str = ""
    webhook_url: str | None = None
    name: str | None = None

    def row(self) -> list[str]:
        webhook = self.webhook_url or f"https://hooks.example.cn/{self.number}"
        return [
            credit_code(self.number),
            self.name or f"测试企业{self.number}有限公司",
            self.sectors,
            self.region,
            self.size,
            f"1380000{self.number:04d}",
            f"firm{self.number}@example.cn",
            webhook if "webhook" in self.channels else "",
            self.topics,
            self.channels,
            self.tags,
        ]


def enterprise_csv(firms: list[Firm], extra_rows: list[list[str]] | None = None) -> str:
    """An enterprise import file with the given firms (and raw rows, for bad input)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for firm in firms:
        writer.writerow(firm.row())
    for row in extra_rows or []:
        writer.writerow(row)
    return out.getvalue()


def policy(**fields: Any) -> dict[str, Any]:
    """A policy as a publish file holds it; ``fields`` override the defaults."""
    data: dict[str, Any] = {
        "title": "汽车零部件技术改造补助申报通知",
        "department": "北仑区经济和信息化局",
        "summary": "按设备投资额的10%给予补助。",
        "url": "https://www.bl.gov.cn/policy/1",
        "targets": {"sectors": ["C36"]},
    }
    data.update(fields)
    return data


class Enqueued:
    """A Dispatch port that hands queued delivery batches to ``on_batch`` and keeps fan-outs."""

    def __init__(self, on_batch=None) -> None:
        self.fan_outs: list[int] = []
        self.batches: list[list[int]] = []
        self._on_batch = on_batch

    def fan_out(self, trigger_id: int) -> None:
        self.fan_outs.append(trigger_id)

    def deliveries(self, delivery_ids, *, delay=None) -> None:
        self.batches.append(list(delivery_ids))
        if self._on_batch is not None:
            self._on_batch(delivery_ids)


def acting(runtime, dispatch=None):
    """The context of an operation run from the CLI on ``runtime`` (the actor ``cli:<user>``);
    ``dispatch`` (an :class:`Enqueued`) stands in for the broker when given."""
    from dataclasses import replace

    from notifier.services.context import Actor

    process = runtime if dispatch is None else replace(runtime, _queue=dispatch)
    return process.context(Actor.operator())


def send_batch(runtime, ids):
    """Run ``deliver_batch`` with the runtime's own ports, as the deliver actor does."""
    from notifier.domain.number_caps import NumberCaps
    from notifier.domain.quiet_hours import QuietHours
    from notifier.services.delivery.sending import deliver_batch

    return deliver_batch(
        runtime.sessions,
        ids,
        providers=runtime.providers,
        messages=runtime.messages,
        settings=runtime.settings.delivery,
        time_source=runtime.time_source,
        quiet=QuietHours.from_settings(runtime.settings),
        caps=NumberCaps.from_settings(runtime.settings),
        guard=runtime.guard,
    )


def sweep_now(runtime):
    """Run the sweeper with the runtime's own ports, as the clock does."""
    from notifier.services.delivery.sweeper import sweep

    return sweep(
        runtime.sessions, runtime.dispatch, settings=runtime.settings.delivery,
        time_source=runtime.time_source
    )


# --- vendor SMS accounts (tests/support/vendor_peers.py knows these keys) ------------------

KEY_ID = "LTAI5tTestKeyId"
KEY_SECRET = "aliyun-test-secret-never-shown"
SECRET_ID = "AKIDtestSecretId"
SECRET_KEY = "tencent-test-secret-never-shown"
# The kinds an account must map (a re-send falls back to the publication's template).
KINDS = tuple(kind for kind in MESSAGE_KINDS if kind not in FALLBACK_KINDS)

ALIYUN_TEMPLATES = {
    "policy_published": {
        "template_code": "SMS_460001",
        "text": "${name}：${department}发布《${title}》，请登录政务网查看。回TD退订",
        "params": {
            "name": "{{ enterprise.name }}",
            "department": "{{ policy.department }}",
            "title": "{{ policy.title }}",
        },
    },
    "deadline_reminder": {
        "template_code": "SMS_460002",
        "text": "《${title}》${deadline}将于${due}截止。回TD退订",
        "params": {
            "title": "{{ policy.title }}",
            "deadline": "{{ deadline.title }}",
            "due": "{{ deadline.due_at }}",
        },
    },
    "policy_corrected": {
        "template_code": "SMS_460003",
        "text": "更正：${department}《${title}》有更正，以本条为准，请登录政务网查看。回TD退订",
        "params": {"department": "{{ policy.department }}", "title": "{{ policy.title }}"},
    },
    "campaign_run": {
        "template_code": "SMS_460004",
        "text": "${name}：${title}，请登录政务网查看。回TD退订",
        "params": {"name": "{{ enterprise.name }}", "title": "{{ campaign.title }}"},
    },
}
TENCENT_TEMPLATES = {
    "policy_published": {
        "template_code": "2100001",
        "text": "{1}发布《{2}》，请登录政务网查看。回TD退订",
        "params": {
            "1": "{{ policy.department }}",
            "2": "{{ policy.title | truncate(12, true, '…', 0) }}",
        },
    },
    "deadline_reminder": {
        "template_code": "2100002",
        "text": "{1}将于{2}截止。回TD退订",
        "params": {"1": "{{ deadline.title }}", "2": "{{ deadline.due_at }}"},
    },
    "policy_corrected": {
        "template_code": "2100003",
        "text": "更正：《{1}》有更正，以本条为准。回TD退订",
        "params": {"1": "{{ policy.title | truncate(12, true, '…', 0) }}"},
    },
    "campaign_run": {
        "template_code": "2100004",
        "text": "{1}，请登录政务网查看。回TD退订",
        "params": {"1": "{{ campaign.title | truncate(12, true, '…', 0) }}"},
    },
}


def enter_plain_years(runtime, *years: int) -> None:
    """Enter far ``years`` (which tests use so the real clock never passes their dates) into
    the working-day calendar as complete, with no holidays: worked Monday to Friday."""
    for year in years:
        mark_year(acting(runtime), year, complete=True)
