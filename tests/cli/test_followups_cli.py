"""``notifier followups list`` and ``notifier followups log``: the community's firms to call as
JSON with stable field names (or a table), a call logged by credit code or id with its
outcome in Chinese or as a code; bad input refused in one line naming the field."""

from __future__ import annotations

from support.cli import assert_one_line_error
from support.factories import Firm, credit_code, enter_plain_years
from support.reach import ELSEWHERE, firm_id, publish_and_send
from support.web_harness import seed

# A firm that has not opened is listed at once (the window's working days are tested in
# tests/services/reach, on a manual clock; the command runs on the real one).
AT_ONCE = {"NOTIFIER_REACH__FOLLOWUP_WORKING_DAYS": "0"}


def test_followups_list_and_log_as_a_clerk_uses_them(make_runtime, database_url, notifier):
    runtime = make_runtime(database_url=database_url)
    seed(runtime, [Firm(1), Firm(2, channels=""), Firm(5, region=ELSEWHERE)])
    enter_plain_years(runtime, 2031)
    policy_id = publish_and_send(
        runtime, ref="cli", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]
    )
    notifier.env.update(AT_ONCE)
    items = notifier.json("followups", "list", "--community", "灵峰工业社区")
    assert [(i["firm"]["credit_code"], i["reasons"]) for i in items] == [
        (credit_code(1), ["not_opened"]),
        (credit_code(2), ["unreachable"]),
    ]
    first = items[0]
    assert set(first) == {
        "policy", "firm", "state", "question_open", "reasons", "contacts", "deliveries",
        "calls", "question",
    }  # fmt: skip
    assert first["policy"]["id"] == policy_id and first["policy"]["ref"] == "cli"
    assert first["policy"]["deadline"].startswith("2031-03-")
    assert first["firm"]["name"] == "测试企业1有限公司" and first["state"] == "sent"
    assert first["contacts"]["sms"] == ["+8613800000001"]
    assert {d["channel"] for d in first["deliveries"]} == {"sms", "email", "webhook"}
    assert set(first["deliveries"][0]) == {"channel", "address", "status", "at", "error"}
    assert first["calls"] == [] and first["question"] is None
    assert notifier.json("followups", "list", "--policy", str(policy_id))[-1]["firm"][
        "credit_code"
    ] == credit_code(5)

    logged = notifier(
        "followups", "log", str(policy_id), credit_code(1), "--outcome", "已电话告知",
        "--note", "已告知",
    )  # fmt: skip
    assert "已电话告知" in logged.stdout and "已知晓" in logged.stdout
    notifier("followups", "log", str(policy_id), str(firm_id(runtime, 2)), "--outcome", "no_answer")
    items = notifier.json("followups", "list", "--community", "灵峰工业社区")
    assert [i["firm"]["credit_code"] for i in items] == [credit_code(2)]
    assert [(c["outcome"], c["note"]) for c in items[0]["calls"]] == [("no_answer", "")]
    table = notifier("followups", "list", "--community", "灵峰工业社区").stdout
    assert "无法送达" in table and "测试企业2有限公司" in table


def test_bad_input_is_one_line_naming_the_field(make_runtime, database_url, notifier):
    runtime = make_runtime(database_url=database_url)
    seed(runtime, [Firm(1)])
    policy_id = publish_and_send(runtime)
    bad = notifier(
        "followups", "log", str(policy_id), credit_code(1), "--outcome", "打过了", status=2
    )
    assert_one_line_error(bad, "outcome", "打过了", "无人接听")
    nobody = notifier(
        "followups", "log", str(policy_id), "not-a-firm", "--outcome", "无人接听", status=2
    )
    assert_one_line_error(nobody, "enterprise", "not-a-firm")
    unknown = notifier("followups", "list", "--community", "没有这个社区", status=2)
    assert_one_line_error(unknown, "community", "没有这个社区")
    assert_one_line_error(notifier("followups", "list", "--policy", "999", status=2), "policy")
