"""The stored codes read as words in both languages, and every audit action the services
write has its words (a new action without them fails here, not on a clerk's screen)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notifier.store.models import DeliveryStatus
from notifier.store.models.trigger import TriggerKind
from notifier.web import i18n, words

SERVICES = Path(__file__).resolve().parents[2] / "notifier" / "services"
TARGETS = (
    "policy|deadline|campaign|key|enterprise|template|provider|preferences|calendar"
    "|webhook_secret"
)
# Actions spelled f"deadline.{verb}" / f"campaign.{verb}" (services/deadlines, services/campaigns).
VERBED = ("deadline.move", "deadline.cancel", "deadline.done", "campaign.create",
          "campaign.pause", "campaign.resume", "campaign.cancel", "campaign.test_send",
          "campaign.update")


def _actions() -> set[str]:
    found: set[str] = set(VERBED)
    for source in SERVICES.rglob("*.py"):
        text = source.read_text()
        if "audit" in text:  # a module that writes audit rows (others name template variables)
            found |= set(re.findall(rf'"((?:{TARGETS})\.[a-z_.]+)"', text))
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_audit_action_status_and_trigger_kind_has_words(language):
    t = i18n.translator(language)
    actions = _actions()
    assert "policy.publish" in actions and len(actions) > 20
    for action in actions:
        assert words.action(t, action) != action, action
    for status in DeliveryStatus:
        assert words.status(t, status) != status or language == i18n.EN, status
    for kind in TriggerKind:
        assert words.trigger_kind(t, kind) != kind, kind


def test_codes_read_as_chinese_sentences():
    t = i18n.translator(i18n.ZH)
    assert words.action(t, "policy.publish") == "发布政策"
    assert words.trigger(t, "policy_published:3") == "政策发布 · 政策 #3"
    assert words.trigger(t, "policy_corrected:3:2") == "政策更正 · 政策 #3 · 第 2 次更正"
    assert words.trigger(t, "deadline_reminder:4:5wd:20310620T0100Z") == (
        "办理期限提醒 · 期限 #4 · 截止前 5 个工作日"
    )
    assert words.trigger(t, "campaign:7:2031-01-06T01:00:00Z") == "推送活动 · 活动 #7"
    assert [words.rung(t, r) for r in ("5wd", "3d", "0d")] == [
        "截止前 5 个工作日", "截止前 3 天", "截止当天"
    ]
    why = words.why(t, {"sector": "C3670", "region": "浙江省/宁波市/北仑区", "size": "small",
                        "tags": ["专精特新", "高新"]})
    assert why == (
        "所属行业 C3670（汽车零部件及配件制造）在发送范围内；所在地区为 浙江省/宁波市/北仑区；"
        "企业规模为小型；带有标签 专精特新、高新"
    )
    assert words.why(t, {"all": True}) == "发送给全部企业"


def test_english_under_the_switch_has_no_chinese_but_the_data():
    t = i18n.translator(i18n.EN)
    assert words.why(t, {"sector": "C3670", "size": "small"}) == (
        "sector C3670 is targeted; size is small"
    )
    assert words.rung(t, "0d") == "on the day"
    assert words.trigger(t, "policy_published:3") == "Policy published · policy #3"


def test_a_reach_ladder_and_its_resend_read_in_words():
    t = i18n.translator(i18n.ZH)
    assert words.trigger(t, "policy_resent:3:2:sms") == "政策再次发送 · 政策 #3 · 2个工作日 · 短信"
    assert words.reach_ladder(t, [2, 5]) == "2个工作日、5个工作日"
    assert words.reach_ladder(t, []) == "无" and words.reach_ladder(t, None) == "默认（系统设置）"
    english = i18n.translator(i18n.EN)
    assert words.reach_ladder(english, [2]) == "2 working days"
