"""A trigger's message rendered once for all its firms is the message each firm got before.

Each message built through one factory (which keeps the trigger's shared rendering) is compared
with the same delivery built by a new factory, which renders it in full.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from notifier.channels.base import Message
from notifier.channels.dryrun import DryRunProvider
from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.errors import TemplateError
from notifier.rendering.messages import Renderer
from notifier.rendering.shared import Limits, prepare
from notifier.services.delivery.messages import FIRM_NAMES, MessageFactory
from notifier.store.models import (
    Campaign,
    Contact,
    Deadline,
    Delivery,
    Enterprise,
    EnterpriseSector,
    Policy,
    Trigger,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")

# Names a firm may really have, and ones that print differently in HTML, in robot markdown
# and after the text is stripped or the subject squashed.
FIRM_NAMES_SEEN = (
    "宁波灵峰汽车零部件有限公司",
    "A&B <贸易> \"有限\" 'co'",
    "**粗体** [链接](http://evil.example) <@all> #标题 _x_ `c`",
    "  前后有空格\n换行的公司  ",
    "{{ policy.title }} {% if x %}",
    "http://looks.like/a/link",
    "名" * 300,
)


def _policy(policy_id: int = 42, *, url: str | None = None) -> Policy:
    policy = Policy(
        id=policy_id,
        title="关于2026年度技术改造项目补助资金申报的通知 <b>&</b>",
        summary="对符合条件的项目给予设备投资额10%的补助。*重点*支持_智能化_改造。",
        body="第一条 …\n第二条 <script>alert(1)</script>",
        url=url,
        department="区经信局",
        topics=["技改", "补助"],
        published_at=NOW,
    )
    policy.deadlines = [Deadline(id=9, title="申报截止", due_at=NOW + timedelta(days=20))]
    return policy


def _delivery(trigger: Trigger, channel: str, number: int, name: str) -> Delivery:
    enterprise = Enterprise(
        id=1000 + number,
        credit_code=f"91330206MA2AG{number:05d}",
        name=name,
        region="浙江省/宁波市/北仑区/大碶街道",
        size="micro",
    )
    enterprise.sectors = [EnterpriseSector(code="C3670")]
    address = {
        SMS: f"1380000{number:04d}",
        EMAIL: f"e{number}@firm.example",
        WEBHOOK: f"http://127.0.0.1:9/hook/{number}",
    }[channel]
    enterprise.contacts = [Contact(channel=channel, address=address)]
    return Delivery(
        id=5000 + number,
        idempotency_key=f"key-{trigger.id}-{channel}-{number}",
        trigger=trigger,
        trigger_id=trigger.id,
        enterprise=enterprise,
        enterprise_id=enterprise.id,
        channel=channel,
        address=address,
        reason={"sectors": ["C36"]},
        message_class="notice",
    )


def _factory(renderer: Renderer) -> MessageFactory:
    return MessageFactory(
        renderer=renderer,
        zone=ZONE,
        secret_key="k" * 32,
        public_url="https://notifier.example",
    )


def _provider(channel: str, tmp_path: Path) -> DryRunProvider:
    return DryRunProvider(name="d", channel=channel, outbox_dir=tmp_path)


def _outcome(factory: MessageFactory, delivery: Delivery, provider: DryRunProvider) -> object:
    """The message, or the error that refused it (an SMS too long for a long name)."""
    try:
        return factory.build(delivery, provider)
    except TemplateError as exc:
        return f"TemplateError: {exc}"


def _built_both_ways(
    trigger: Trigger,
    channel: str,
    tmp_path: Path,
    renderer: Renderer | None = None,
) -> list[tuple[object, object]]:
    renderer = renderer or Renderer()
    shared = _factory(renderer)
    provider = _provider(channel, tmp_path)
    pairs = []
    for number, name in enumerate(FIRM_NAMES_SEEN * 2):
        delivery = _delivery(trigger, channel, number, name)
        pairs.append(
            (_outcome(shared, delivery, provider), _outcome(_factory(renderer), delivery, provider))
        )
    assert any(isinstance(shared, Message) for shared, _ in pairs)
    return pairs


def _published() -> Trigger:
    policy = _policy()
    return Trigger(
        id=7,
        key="policy_published:42",
        kind="policy_published",
        policy=policy,
        policy_id=policy.id,
        due_at=NOW,
    )


def _reminder() -> Trigger:
    policy = _policy(url="https://www.bl.gov.cn/art/2026/3/2/1.html?a=1&b=(2)")
    deadline = policy.deadlines[0]
    return Trigger(
        id=8,
        key="deadline_reminder:9:3",
        kind="deadline_reminder",
        policy=policy,
        policy_id=policy.id,
        deadline=deadline,
        deadline_id=deadline.id,
        due_at=NOW,
    )


@pytest.mark.parametrize("channel", [SMS, EMAIL, WEBHOOK])
@pytest.mark.parametrize("make_trigger", [_published, _reminder], ids=["published", "reminder"])
def test_every_firm_gets_the_message_a_full_render_gives(
    channel: str, make_trigger: object, tmp_path: Path
) -> None:
    assert callable(make_trigger)
    for shared, fresh in _built_both_ways(make_trigger(), channel, tmp_path):
        assert shared == fresh


# Campaign templates staff write: firm values printed as they are, and read other ways.
CAMPAIGN_TEMPLATES = {
    "printed": {
        "body": "{{ enterprise.name }}：{{ campaign.title }}（{{ run.date }}）"
        "{{ unsubscribe_url }}",
        "subject": "【{{ enterprise.region }}】{{ campaign.title }}",
        "html": "<p>{{ enterprise.name }} {{ enterprise['credit_code'] }}</p>"
        '<a href="{{ unsubscribe_url }}">退订</a>',
    },
    # Only long names take the other branch: the first firm's message cannot tell.
    "branches": {
        "body": "{% if enterprise.name|length > 100 %}贵公司{% else %}{{ enterprise.name }}"
        "{% endif %}：{{ campaign.title }}",
        "subject": "{{ campaign.title }}"
        "{% if enterprise.name|length > 100 %}（请核对名称）{% endif %}",
        "html": "{% for c in enterprise.name if enterprise.name|length > 100 %}{% endfor %}"
        "<p>{{ enterprise.name }}</p>",
    },
    "read": {
        # Long names only: the first firm's message (rendered both ways) cannot tell.
        "body": "{% if enterprise.name|length > 100 %}（名称过长）{% endif %}{{ enterprise.name }}"
        "{% if enterprise.size == '微型' %}小微企业{% endif %}{{ enterprise.name|upper }}"
        "{% set n = enterprise.name %}{{ n|length }} {{ campaign.title }}",
        "subject": "{{ enterprise.name[:4] }} {{ campaign.title|truncate(10) }}",
        "html": "{% filter upper %}<p>{{ enterprise.name }}</p>{% endfilter %}"
        "{% macro hi(n) %}{{ n }}{% endmacro %}{{ hi(enterprise.credit_code) }}",
    },
}


@pytest.mark.parametrize("channel", [SMS, EMAIL, WEBHOOK])
@pytest.mark.parametrize("templates", sorted(CAMPAIGN_TEMPLATES))
def test_a_campaign_s_stored_templates_render_alike_for_every_firm(
    channel: str, templates: str, tmp_path: Path
) -> None:
    parts = CAMPAIGN_TEMPLATES[templates]
    pinned = {"name": f"tech-{templates}", "version": 3, "body": parts["body"]}
    if channel == EMAIL:
        pinned.update(subject=parts["subject"], html=parts["html"])
    campaign = Campaign(
        id=3,
        name="2026-tech",
        title="2026年技术改造补助申报提醒",
        url="https://www.bl.gov.cn/demo?x=1&y=2",
    )
    trigger = Trigger(
        id=11,
        key="campaign_run:3:1",
        kind="campaign_run",
        campaign=campaign,
        campaign_id=3,
        templates={channel: pinned},
        due_at=NOW,
    )
    for shared, fresh in _built_both_ways(trigger, channel, tmp_path):
        assert shared == fresh


def test_a_file_template_that_reads_a_firm_s_name_is_rendered_per_firm(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "policy_published"
    folder.mkdir(parents=True)
    (folder / "email.txt").write_text(
        "{% if enterprise.name|length > 100 %}贵公司{% else %}{{ enterprise.name }}{% endif %}："
        "{{ policy.title }} {{ unsubscribe_url }}"
    )
    (folder / "email_subject.txt").write_text(
        "{{ enterprise.name|truncate(8) }} {{ policy.title }}"
    )
    renderer = Renderer(templates_dir=tmp_path / "templates")
    for shared, fresh in _built_both_ways(_published(), EMAIL, tmp_path, renderer):
        assert shared == fresh
    entry = _prepared(renderer, _delivery(_published(), EMAIL, 1, "宁波灵峰"), "policy_published")
    text, subject, html = entry.splits
    assert text is None and subject is None and html is not None  # the shipped HTML is shared


def _prepared(renderer: Renderer, delivery: Any, kind: str) -> Any:
    """The shared-rendering entry of ``kind``'s templates for the delivery's channel."""
    _, entry = prepare(
        renderer.parts(kind, delivery.channel),
        _factory(renderer).context(delivery),
        FIRM_NAMES,
        limits=Limits(delivery.channel),
        resolve=renderer.template,
    )
    assert entry is not None
    return entry


@pytest.mark.parametrize("channel", [SMS, EMAIL, WEBHOOK])
def test_the_shipped_templates_are_rendered_once_for_all_firms(channel: str) -> None:
    renderer = Renderer()
    entry = _prepared(renderer, _delivery(_reminder(), channel, 1, "宁波灵峰"), "deadline_reminder")
    assert all(
        split is not None
        for split, (_, template) in zip(entry.splits, entry.parts.fields(), strict=True)
        if template is not None
    )


def test_a_corrected_policy_is_rendered_anew_for_the_firms_still_to_come(tmp_path: Path) -> None:
    trigger = _published()
    factory = _factory(Renderer())
    provider = _provider(EMAIL, tmp_path)
    before = factory.build(_delivery(trigger, EMAIL, 1, "甲公司"), provider)
    assert trigger.policy is not None
    trigger.policy.title = "关于2026年度技术改造项目补助资金申报的补充通知"
    after = factory.build(_delivery(trigger, EMAIL, 2, "乙公司"), provider)
    assert "补充通知" not in (before.subject or "")
    assert "补充通知" in (after.subject or "") and "补充通知" in (after.html or "")


def test_a_firm_name_over_the_output_limit_fails_as_a_full_render_does(tmp_path: Path) -> None:
    renderer = Renderer(max_chars=3_000)
    factory = _factory(renderer)
    provider = _provider(EMAIL, tmp_path)
    factory.build(_delivery(_published(), EMAIL, 1, "甲公司"), provider)
    long_name = _delivery(_published(), EMAIL, 2, "名" * 3_000)
    with pytest.raises(TemplateError) as shared:
        factory.build(long_name, provider)
    with pytest.raises(TemplateError) as fresh:
        _factory(renderer).build(long_name, provider)
    assert str(shared.value) == str(fresh.value)


def test_threads_building_one_trigger_s_messages_each_get_their_own(tmp_path: Path) -> None:
    trigger = _published()
    factory = _factory(Renderer())
    provider = _provider(WEBHOOK, tmp_path)
    deliveries = [_delivery(trigger, WEBHOOK, n, f"公司{n}") for n in range(200)]
    built: dict[int, Message] = {}

    def build(part: list[Delivery]) -> None:
        for delivery in part:
            built[delivery.id] = factory.build(delivery, provider)

    threads = [threading.Thread(target=build, args=(deliveries[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for delivery in deliveries:
        assert built[delivery.id] == _factory(Renderer()).build(delivery, provider)
