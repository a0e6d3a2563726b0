"""The content rules as pure functions: words found with their offsets and excerpts, links
allowed only to the listed domains (subdomains and the deployment's own host too), template
syntax left unfilled, variables printed empty, a finding named once in its first place; the
marketing hours and the opt-out text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from notifier.config import Settings
from notifier.domain import content_rules as rules
from notifier.domain.message_class import with_opt_out
from notifier.domain.quiet_hours import QuietHours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_word_is_found_each_time_with_its_offset_and_an_excerpt_case_ignored():
    text = "Free 设备补贴，FREE 申报；free"
    found = rules.find_words("body", text, ["free"], code=rules.FORBIDDEN_WORD)
    assert [(f.word, f.offset) for f in found] == [("Free", 0), ("FREE", 10), ("free", 18)]
    assert found[1].excerpt == "Free 设备补贴，FREE 申报；free"
    assert "第 11 个字符" in found[1].message() and "at character 11" in found[1].message()


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("见 https://www.bl.gov.cn/p/1。", []),
        ("见 www.zj.gov.cn/x", []),
        ("见 https://notify.example.cn/p/abc", []),  # the deployment's own host
        ("见 https://gov.cn.evil.com/x", ["gov.cn.evil.com"]),
        ("见 bit.ly/abc 或 t.cn/x", ["bit.ly", "t.cn"]),
        ("邮箱 a@qq.com，文件 申报表.docx", []),
        ("http://1.2.3.4:8080/a", ["1.2.3.4"]),
    ],
)
def test_links_are_allowed_only_to_the_listed_domains_their_subdomains_and_our_host(text, hosts):
    found = rules.find_links("sms", text, ["gov.cn"], own_host="notify.example.cn")
    assert [f.word for f in found] == hosts


def test_an_empty_domain_list_turns_the_link_rule_off():
    assert rules.find_links("sms", "https://bit.ly/x", []) == []


def test_template_syntax_left_in_a_text_is_an_unfilled_variable():
    found = rules.find_placeholders("sms", "您好{{ name }}，请于${date}前{% if x %}")
    expected = [("{{ name }}", 2), ("${date}", 15), ("{% if x %}", 23)]
    assert [(f.word, f.offset) for f in found] == expected


def test_a_variable_printed_as_it_is_and_empty_is_found_in_the_template():
    source = "{{ campaign.title }}详见{{ campaign.url }}{{ x }}"
    values = {"campaign": {"title": "T", "url": None}}
    found = rules.empty_variables("templates.sms", source, values)
    assert [(f.word, f.offset) for f in found] == [("campaign.url", 22)]


def test_a_word_found_in_a_field_is_not_named_again_in_the_messages_that_quote_it():
    title = rules.find_words("title", "稳赚稳赚", ["稳赚"], code=rules.FORBIDDEN_WORD)
    sms = rules.find_words("sms", "【北仑】稳赚稳赚", ["稳赚"], code=rules.FORBIDDEN_WORD)
    kept = rules.deduplicated([*title, *sms])
    assert [(f.place, f.offset) for f in kept.items] == [("title", 0), ("title", 2)]
    assert not kept.clean and kept.warnings == []


def test_the_opt_out_is_appended_once():
    assert with_opt_out("春季对接会报名中", "拒收请回复R") == "春季对接会报名中拒收请回复R"
    assert with_opt_out("报名中，拒收请回复R。", "拒收请回复R") == "报名中，拒收请回复R。"


@pytest.mark.parametrize(
    ("local", "channel", "until"),
    [
        ("2026-12-01 21:00", "email", "2026-12-02 08:00"),
        ("2026-12-01 20:00", "sms", "2026-12-02 08:00"),
        ("2026-12-01 07:30", "webhook", "2026-12-01 08:00"),
        ("2026-12-01 08:00", "sms", None),
        ("2026-12-01 19:59", "email", None),
    ],
)
def test_marketing_waits_for_the_marketing_hours_on_every_channel(local, channel, until):
    hours = QuietHours.from_settings(Settings())
    now = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    expected = None if until is None else datetime.fromisoformat(until).replace(tzinfo=SHANGHAI)
    assert hours.until(channel, now, "marketing") == expected


def test_a_notice_keeps_the_quiet_hours_only(monkeypatch):
    monkeypatch.delenv("NOTIFIER_QUIET_HOURS__SMS")  # the default: no SMS 21:00-08:00
    hours = QuietHours.from_settings(Settings())
    evening = datetime(2026, 12, 1, 20, 30, tzinfo=SHANGHAI)
    assert hours.until("sms", evening, "notice") is None
    assert hours.until("sms", evening.replace(hour=22), "notice") == datetime(
        2026, 12, 2, 8, 0, tzinfo=SHANGHAI
    )


def test_after_a_link_the_opt_out_comes_after_a_space():
    text = "详见 https://notify.example.cn/p/abc"
    assert with_opt_out(text, "拒收请回复R") == f"{text} 拒收请回复R"


def test_marketing_hours_of_00_00_00_00_allow_any_hour():
    hours = QuietHours.from_settings(Settings(content={"marketing_hours": "00:00-00:00"}))
    night = datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI)
    assert hours.until("email", night, "marketing") is None
