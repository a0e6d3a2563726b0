"""Reading a policy file: every bad input is one InputError naming the field and the problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from stdnum.cn import uscc

from notifier.domain.targets import Targets
from notifier.errors import InputError
from notifier.inputs import policy_file
from notifier.inputs.policy_file import parse_policy, read_policy_file

ZONE = ZoneInfo("Asia/Shanghai")


def credit_code(serial: int) -> str:
    base = f"91330206MA2{serial:06d}"
    return base + uscc.calc_check_digit(base)


def policy(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ref": "2026-auto-parts-subsidy",
        "title": "北仑区汽车零部件产业技术改造补助申报通知",
        "department": "北仑区经济和信息化局",
        "summary": "按设备投资额的10%给予补助",
        "body": "第一条\n\t内容",
        "url": "https://example.gov.cn/p/1",
        "topics": ["补贴"],
        "targets": {"sectors": ["C36"], "regions": ["浙江省/宁波市/北仑区"], "sizes": ["small"]},
        "deadlines": [{"title": "申报截止", "due_at": "2026-12-31T17:00:00+08:00"}],
    }
    data.update(changes)
    return data


def refusal(data: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_policy(data, zone=ZONE)
    return caught.value


def file_refusal(content: bytes) -> InputError:
    with pytest.raises(InputError) as caught:
        read_policy_file(content, zone=ZONE)
    return caught.value


def test_a_good_policy_becomes_a_draft_with_its_targets():
    draft = parse_policy(policy(), zone=ZONE)

    assert draft.targets == Targets(
        sectors=("C36",), regions=("浙江省/宁波市/北仑区",), sizes=("small",), topics=("补贴",)
    )
    assert draft.body == "第一条\n\t内容"
    assert draft.source_key == "ref:2026-auto-parts-subsidy"


def test_an_unknown_top_level_key_is_refused_with_the_nearest_known_one():
    data = policy()
    data["target"] = data.pop("targets")

    error = refusal(data)

    assert str(error) == "target: 未知字段，是否为 targets？/ unknown key; did you mean 'targets'?"
    assert error.field == "target"


def test_an_unknown_key_inside_targets_names_the_nearest_known_one():
    error = refusal(policy(targets={"sector": ["C36"]}))

    assert str(error) == (
        "targets.sector: 未知字段，是否为 sectors？/ unknown key; did you mean 'sectors'?"
    )


def test_an_unknown_key_without_a_near_one_lists_the_known_keys():
    error = refusal(policy(colour="red"))

    assert str(error).startswith("colour: 未知字段，应为 ref, title")
    assert "/ unknown key; expected one of ref, title" in str(error)
    assert "targets" in str(error)


def test_an_unknown_key_inside_a_deadline_is_refused():
    error = refusal(policy(deadlines=[{"title": "申报截止", "due": "2026-12-31"}]))

    assert str(error).startswith("deadlines[0].due: 未知字段，是否为 due_at？")
    assert error.field == "deadlines[0].due"


def test_credit_codes_are_validated_and_normalized():
    code = credit_code(7)

    draft = parse_policy(policy(targets={"credit_codes": [f" {code.lower()} "]}), zone=ZONE)

    assert draft.targets.credit_codes == (code,)
    error = refusal(policy(targets={"credit_codes": [code[:-1] + "0" if code[-1] != "0" else "1"]}))
    assert error.field == "targets.credit_codes"
    assert "unified social credit code" in str(error)


@pytest.mark.parametrize("word", ["small", "Small", "小型", "小型企业", " SMALL "])
def test_sizes_are_read_as_the_enterprise_csv_reads_them(word):
    draft = parse_policy(policy(targets={"sizes": [word]}), zone=ZONE)

    assert draft.targets.sizes == ("small",)


def test_a_date_only_deadline_is_the_end_of_that_day_in_the_deployment_zone():
    draft = parse_policy(policy(deadlines=[{"title": "截止", "due_at": "2026-12-31"}]), zone=ZONE)

    due = draft.deadlines[0].due_at
    assert due == datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZONE)
    assert due.astimezone(UTC) == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


def test_a_date_time_without_zone_is_local():
    draft = parse_policy(policy(published_at="2026-05-01T09:00"), zone=ZONE)

    assert draft.published_at == datetime(2026, 5, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"topics": [f"t{i}" for i in range(21)]}, "topics", "21 items, at most 20"),
        ({"targets": {"tags": [f"t{i}" for i in range(21)]}}, "targets.tags", "at most 20"),
        ({"targets": {"regions": ["区"] * 101}}, "targets.regions", "101 items, at most 100"),
        ({"targets": {"sizes": ["small"] * 5}}, "targets.sizes", "5 items, at most 4"),
        ({"targets": {"sectors": ["C36"] * 201}}, "targets.sectors", "at most 200"),
        ({"targets": {"credit_codes": ["x"] * 10_001}}, "targets.credit_codes", "at most 10000"),
        ({"deadlines": [{"title": "t", "due_at": "2026-12-31"}] * 21}, "deadlines", "at most 20"),
        (
            {"deadlines": [{"title": "t", "due_at": "2026-12-31", "remind_days": [1] * 11}]},
            "deadlines[0].remind_days",
            "11 items, at most 10",
        ),
        ({"topics": ["长" * 51]}, "topics", "51 characters, at most 50"),
        ({"targets": {"tags": ["长" * 51]}}, "targets.tags", "at most 50"),
        ({"targets": {"regions": ["区" * 201]}}, "targets.regions", "at most 200"),
    ],
)
def test_every_list_and_item_has_a_maximum_named_in_the_refusal(changes, field, needle):
    error = refusal(policy(**changes))

    assert error.field == field
    assert needle in str(error)
    assert str(error).startswith(field)


def test_the_documented_maximums_are_module_constants():
    assert policy_file.MAX_TOPICS == 20
    assert policy_file.MAX_CREDIT_CODES == 10_000
    assert policy_file.MAX_REMIND_DAYS == 10


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"[" * 200_000, "nested"),
        (b'{"title": "t", "department": "d", "targets": ' + b"[" * 900 + b"]" * 900 + b"}",
         "targets: must be an object"),
        (b'{"title": ' + b"1" * 5000 + b"}", "digits"),
        (json.dumps(policy(summary=10**30)).encode(), "31 digits, at most 15"),
        (b'{"title": NaN}', "NaN"),
        (b'{"title": -Infinity}', "Infinity"),
        (b'{"title": 1e999}', "too large"),
        (b'{"title": "a", "title": "b"}', "title: appears twice"),
        (b'{"targets": {"tags": [], "tags": []}}', "tags: appears twice"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b" " * 1_000_001, "at most 1000000"),
        ("标题".encode("gbk"), "not UTF-8"),
        (b"{", "not valid JSON"),
    ],
    ids=[
        "deep",
        "deep-but-json",
        "huge-int",
        "long-int",
        "nan",
        "infinity",
        "float-overflow",
        "duplicate-key",
        "duplicate-nested-key",
        "array",
        "string",
        "too-large",
        "gbk",
        "truncated",
    ],
)
def test_a_hostile_file_gives_one_input_error(content, needle):
    error = file_refusal(content)

    assert needle in str(error)


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"published_at": "0001-01-01"}, "published_at", "between 2000 and 2100"),
        ({"published_at": "9999-12-31T00:00-12:00"}, "published_at", "between 2000 and 2100"),
        ({"published_at": "tomorrow"}, "published_at", "ISO 8601"),
        ({"published_at": 20260101}, "published_at", "ISO 8601"),
        (
            {"deadlines": [{"title": "t", "due_at": "2026-12-31", "remind_days": [True]}]},
            "deadlines[0].remind_days",
            "whole days",
        ),
        (
            {"deadlines": [{"title": "t", "due_at": "2026-12-31", "remind_days": [1.5]}]},
            "deadlines[0].remind_days",
            "whole days",
        ),
        (
            {"deadlines": [{"title": "t", "due_at": "2026-12-31", "remind_days": [10**5000]}]},
            "deadlines[0].remind_days",
            "whole days",
        ),
        ({"targets": {"regions": ["/"]}}, "targets.regions", "empty"),
        ({"targets": {"regions": ["浙江省//北仑区"]}}, "targets.regions", "empty segment"),
        ({"targets": {"sectors": "C36"}}, "targets.sectors", "list"),
        ({"targets": {"tags": [1]}}, "targets.tags", "strings"),
        ({"targets": ["C36"]}, "targets", "object"),
        ({"deadlines": ["2026-12-31"]}, "deadlines[0]", "object"),
        ({"title": "通知\x00"}, "title", "control characters"),
        ({"title": "通知\x1b[2J"}, "title", "control characters"),
        ({"department": "局\u0085"}, "department", "control characters"),
        ({"title": "通知\u202e"}, "title", "control characters"),
        ({"title": "通知\u2066"}, "title", "control characters"),
        ({"title": "第一行\n第二行"}, "title", "control characters"),
        ({"summary": "a\x07b"}, "summary", "control characters"),
        ({"topics": ["补贴\x00"]}, "topics", "control characters"),
        ({"targets": {"tags": ["\u202e专精特新"]}}, "targets.tags", "control characters"),
        ({"ref": "a\udc80"}, "ref", "control characters"),
        ({"url": "http://[::1"}, "url", "http"),
    ],
)
def test_a_bad_value_is_one_input_error_naming_its_field(changes, field, needle):
    error = refusal(policy(**changes))

    assert error.field == field
    assert str(error).startswith(field)
    assert needle in str(error)


def test_a_message_never_echoes_control_characters_of_an_unknown_key():
    error = refusal(policy(**{"x\x1b[31m": 1}))

    assert "\x1b" not in str(error)


def test_huge_python_integers_do_not_break_the_message():
    error = refusal(policy(title=10**5000))

    assert str(error) == "title: must be a string"


def test_the_remind_days_keep_their_order_without_repeats():
    draft = parse_policy(
        policy(deadlines=[{"title": "t", "due_at": "2026-12-31", "remind_days": [7, 3, 7, 0]}]),
        zone=ZONE,
    )

    assert draft.deadlines[0].remind == ("7d", "3d", "0d")


def test_a_deadline_reads_its_ladder_in_working_days_and_days():
    draft = parse_policy(
        policy(deadlines=[{"title": "t", "due_at": "2026-12-31", "remind": ["5WD", "2wd", "0d"]}]),
        zone=ZONE,
    )
    assert draft.deadlines[0].remind == ("5wd", "2wd", "0d")


def test_a_deadline_without_a_ladder_takes_the_setting():
    draft = parse_policy(policy(deadlines=[{"title": "t", "due_at": "2026-12-31"}]), zone=ZONE)
    assert draft.deadlines[0].remind is None


@pytest.mark.parametrize(
    ("remind", "problem"),
    [
        (["2w"], "is not a rung"),
        (["99wd"], "more than 60"),
        ("2wd", "must be a list"),
        ([2], "must be a list"),
        ([f"{n}d" for n in range(11)], "at most 10"),
    ],
)
def test_a_bad_rung_is_one_error_naming_the_field(remind, problem):
    with pytest.raises(InputError) as caught:
        parse_policy(
            policy(deadlines=[{"title": "t", "due_at": "2026-12-31", "remind": remind}]), zone=ZONE
        )
    assert caught.value.field == "deadlines[0].remind"
    assert problem in str(caught.value)


def test_remind_and_remind_days_together_are_refused():
    item = {"title": "t", "due_at": "2026-12-31", "remind": ["1wd"], "remind_days": [1]}
    with pytest.raises(InputError, match="not both"):
        parse_policy(policy(deadlines=[item]), zone=ZONE)


GUIDE = {
    "eligibility": "规上企业\n上年度技改投入超过500万元",
    "materials": "申报表、发票复印件",
    "office_address": "北仑区行政服务中心3楼",
    "apply_url": "https://zwfw.example.gov.cn/apply/1",
    "enquiry_phone": "0574-86781234",
}


def test_the_guide_fields_are_read_into_the_draft_and_blank_ones_are_none():
    draft = parse_policy(policy(**GUIDE), zone=ZONE)
    assert draft.guide.as_dict() == GUIDE
    assert parse_policy(policy(eligibility="  "), zone=ZONE).guide.eligibility is None
    hotline = parse_policy(policy(enquiry_phone="12345"), zone=ZONE)
    assert hotline.guide.enquiry_phone == "12345"  # the government hotline


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"apply_url": "javascript:alert(1)"}, "apply_url", "须为 http(s) 网址"),
        ({"apply_url": "ftp://example.cn/a"}, "apply_url", "须为 http(s) 网址"),
        ({"enquiry_phone": "电话"}, "enquiry_phone", "不是电话号码"),
        ({"enquiry_phone": "0574-123"}, "enquiry_phone", "不是有效的电话号码"),
        ({"office_address": "楼" * 301}, "office_address", "at most 300"),
        ({"materials": "材" * 5001}, "materials", "at most 5000"),
        ({"eligibility": 3}, "eligibility", "must be a string"),
    ],
)
def test_a_bad_guide_field_is_refused_naming_it(changes, field, words):
    with pytest.raises(InputError) as refused:
        parse_policy(policy(**changes), zone=ZONE)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ") and words in str(refused.value)


@pytest.mark.parametrize(
    ("given", "ladder"),
    [
        ("2个工作日、5个工作日", (2, 5)),
        ("5 working days, 2 working days", (2, 5)),
        ([5, 2, 5], (2, 5)),
        (["2wd"], (2,)),
        ("2 5", (2, 5)),
        ("3个工作日后", (3,)),
        ("无", ()),
        ([], ()),
        (None, None),
    ],
)
def test_the_reach_ladder_is_read_in_words_or_as_working_days(given, ladder):
    assert parse_policy(policy(reach_ladder=given), zone=ZONE).reach_ladder == ladder
    assert parse_policy(policy(), zone=ZONE).reach_ladder is None  # absent: the setting


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("3天", "须为发布后的工作日数"),
        ("当天", "须为发布后的工作日数"),
        ("下周", "不是提醒时间"),
        ([0], "须为发布后的工作日数"),
        ([61], "more than 60 days"),
        ([1, 2, 3, 4, 5, 6], "最多 5 个"),
        ([True], "不是工作日数"),
        (3, "must be working days"),
    ],
)
def test_a_bad_reach_ladder_is_refused_naming_the_field(given, words):
    with pytest.raises(InputError) as refused:
        parse_policy(policy(reach_ladder=given), zone=ZONE)
    assert refused.value.field == "reach_ladder"
    assert words in str(refused.value)
