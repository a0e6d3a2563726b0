"""``notifier approvals`` (issue 18): a policy published from the shell waits 待审核; the
operator decides as a named approver or admin (``--as``; staff and unknown names refused); a
return needs a reason and is shown with it. On SQLite and PostgreSQL. (The author's own
approval is refused in the service whatever the face: tests/services/approval.)"""

from __future__ import annotations

import json

import pytest

from support.cli import assert_one_line_error
from support.factories import Firm, enterprise_csv, policy

ON = {"NOTIFIER_APPROVAL__ENABLED": "true"}


@pytest.fixture
def office(notifier):
    notifier("enterprises", "import", notifier.file("firms.csv", enterprise_csv(
        [Firm(n, channels="sms;email") for n in range(1, 4)])))  # fmt: skip
    for name, role in (("李审核员", "approver"), ("王科员", "staff")):
        notifier("users", "add", "--name", name, "--role", role, "--password-stdin",
                 input="a password 123\n")  # fmt: skip
    return notifier


def _publish(notifier, **fields) -> dict:
    path = notifier.file("p.json", json.dumps(policy(**fields), ensure_ascii=False))
    result = notifier("policies", "publish", path, "--format", "json", env=ON)
    return json.loads(result.stdout)


def test_a_policy_published_from_the_shell_waits_and_a_named_approver_sends_it(office):
    published = _publish(office)
    assert published["held"] and published["trigger_id"] is None
    approval_id = str(published["approval_id"])

    listed = json.loads(office("approvals", "list", "--format", "json", env=ON).stdout)
    assert [row["id"] for row in listed] == [published["approval_id"]]
    shown = office("approvals", "show", approval_id, env=ON).stdout
    assert "企业 firms: 3" in shown and "汽车零部件技术改造补助申报通知" in shown

    staff = office("approvals", "approve", approval_id, "--as", "王科员", status=2, env=ON)
    assert_one_line_error(staff, "审核员")
    nobody = office("approvals", "approve", approval_id, "--as", "没有这个人", status=2, env=ON)
    assert_one_line_error(nobody, "--as")
    approved = office("approvals", "approve", approval_id, "--as", "李审核员", "--format", "json",
                      env=ON)  # fmt: skip
    assert json.loads(approved.stdout)["trigger_id"] is not None
    again = office("approvals", "return", approval_id, "--reason", "晚了", "--as", "李审核员",
                   status=2, env=ON)  # fmt: skip
    assert_one_line_error(again, "已处理")


def test_a_return_from_the_shell_needs_a_reason_and_leaves_the_policy_held_with_it(office):
    published = _publish(office)
    approval_id = str(published["approval_id"])
    blank = office("approvals", "return", approval_id, "--reason", " ", "--as", "李审核员",
                   status=2, env=ON)  # fmt: skip
    assert_one_line_error(blank, "理由")
    returned = office("approvals", "return", approval_id, "--reason", "补助比例写错了",
                      "--as", "李审核员", env=ON)  # fmt: skip
    assert "已退回" in returned.stdout
    shown = json.loads(office("approvals", "show", approval_id, "--format", "json",
                              env=ON).stdout)  # fmt: skip
    assert shown["status"] == "returned" and shown["reason"] == "补助比例写错了"
    described = json.loads(office("policies", "show", str(published["id"]), "--format", "json",
                                  env=ON).stdout)  # fmt: skip
    assert described["held"] is True


def test_the_demo_with_approval_on_sends_its_first_policy_through_its_approver_and_leaves_one_waiting(  # noqa: E501
    notifier,
):
    summary = json.loads(notifier("demo", "--format", "json", env=ON).stdout)

    first, second = summary["policies"].values()
    assert not first["held"] and any(c.get("sent") for c in first["channels"].values())
    assert second["held"] and second["channels"] == {}
    waiting = json.loads(notifier("approvals", "list", "--format", "json", env=ON).stdout)
    assert [row["id"] for row in waiting] == [second["approval_id"]]
    approved = json.loads(notifier("approvals", "list", "--status", "approved", "--format",
                                   "json", env=ON).stdout)  # fmt: skip
    assert approved[0]["decided_by"] == "演示审核员"
