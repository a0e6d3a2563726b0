"""``notifier communities`` and ``notifier departments``: add, list, set-regions; users get a
community or a department; a bad name or region is one line naming the field."""

from __future__ import annotations

from support.cli import assert_one_line_error
from support.factories import REGION, Firm, enterprise_csv

STREET = REGION.rsplit("/", 1)[0]


def test_communities_and_departments_are_added_listed_and_given_to_users(notifier):
    notifier("enterprises", "import", notifier.file("f.csv", enterprise_csv([Firm(1), Firm(2)])))
    added = notifier("communities", "add", "灵峰工业社区", "--region", "灵峰工业社区")
    assert REGION in added.stdout  # a short name, resolved against the register
    listed = notifier.json("communities", "list")
    assert listed == [
        {"id": listed[0]["id"], "name": "灵峰工业社区", "regions": [REGION], "staff": [],
         "firms": 2},
    ]  # fmt: skip
    notifier("communities", "set-regions", "灵峰工业社区", "--region", STREET,
             "--region", "浙江省/宁波市/北仑区/霞浦街道")  # fmt: skip
    regions = notifier.json("communities", "list")[0]["regions"]
    assert regions == [STREET, "浙江省/宁波市/北仑区/霞浦街道"]
    notifier("departments", "add", "北仑区经济和信息化局")
    notifier(
        "users", "add", "--name", "灵峰 王科员", "--community", "灵峰工业社区",
        "--password-stdin", input="clerk password\n",
    )  # fmt: skip
    notifier(
        "users", "add", "--name", "经信局 李发布", "--role", "publisher",
        "--department", "北仑区经济和信息化局", "--password-stdin", input="clerk password\n",
    )  # fmt: skip
    assert notifier.json("communities", "list")[0]["staff"] == ["灵峰 王科员"]
    assert notifier.json("departments", "list")[0]["publishers"] == ["经信局 李发布"]
    users = {u["name"]: u for u in notifier.json("users", "list")}
    assert users["灵峰 王科员"]["community"] == "灵峰工业社区"
    assert users["经信局 李发布"]["department"] == "北仑区经济和信息化局"
    assert "灵峰工业社区" in notifier("communities", "list").stdout
    placed = notifier("users", "place", "灵峰 王科员", "--community", "")
    assert "district" in placed.stdout


def test_bad_names_and_regions_are_refused_in_one_line(notifier):
    assert_one_line_error(
        notifier("communities", "add", "火星社区", "--region", "火星", status=2), "regions"
    )
    notifier("communities", "add", "甲", "--region", REGION)
    again = notifier("communities", "add", "甲", "--region", REGION, status=2)
    assert_one_line_error(again, "name")
    assert_one_line_error(
        notifier("communities", "set-regions", "乙", "--region", REGION, status=2), "name"
    )
    refused = notifier(
        "users", "add", "--name", "x", "--community", "乙", "--password-stdin",
        input="clerk password\n", status=2,
    )  # fmt: skip
    assert_one_line_error(refused, "community")
