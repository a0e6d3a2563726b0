"""The ``notifier`` command, driven as a user drives it, on SQLite and on PostgreSQL.

Commands run in this process through click's runner (the real ``cli`` group, settings from the
environment); the checks that need a fresh process run the installed ``notifier`` script.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from conftest import POSTGRES_ADMIN_URL, service_missing

from notifier.domain.records import EnterpriseRecord
from notifier.store import enterprises as enterprise_store
from notifier.store import migrate
from notifier.store.db import create_db_engine, create_session_factory

from support.cli import Notifier, assert_one_line_error, run_notifier
from support.factories import Firm, credit_code, enterprise_csv, policy

HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
DELIVERY_FIELDS = {
    "id",
    "policy_id",
    "trigger",
    "credit_code",
    "channel",
    "status",
    "attempts",
    "last_error",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"notifier_cli_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["credit_code"]: row for row in rows}


def bad_row(number: int, **cells: str) -> list[str]:
    """A CSV row for ``Firm(number)`` with some cells replaced by bad values."""
    row = Firm(number).row()
    columns = ["credit_code", "name", "sectors", "region", "size", "phone", "email"]
    for column, value in cells.items():
        row[columns.index(column)] = value
    return row


def wrong_check_digit(number: int) -> str:
    code = credit_code(number)
    return code[:-1] + ("1" if code[-1] != "1" else "2")


# --- db ---------------------------------------------------------------------------------------


def test_db_upgrade_brings_a_new_database_to_the_newest_revision(unmigrated_url, tmp_path):
    notifier = Notifier({"NOTIFIER_DATABASE_URL": unmigrated_url}, tmp_path)

    assert notifier("db", "current").stdout.strip() == "not migrated"
    assert HEAD in notifier("db", "upgrade").stdout
    assert notifier("db", "current").stdout.strip() == HEAD
    assert HEAD in notifier("db", "upgrade").stdout  # a second upgrade is harmless


def test_an_unmigrated_database_is_reported_with_the_command_that_fixes_it(
    unmigrated_url, tmp_path
):
    notifier = Notifier({"NOTIFIER_DATABASE_URL": unmigrated_url}, tmp_path)

    result = notifier("enterprises", "list", status=2)

    assert_one_line_error(result, "run `notifier db upgrade`")


# --- enterprises ------------------------------------------------------------------------------


def test_import_stores_good_rows_and_lists_every_bad_row_by_spreadsheet_row(notifier):
    csv_text = enterprise_csv(
        [Firm(1), Firm(2)],
        extra_rows=[
            bad_row(3, credit_code=wrong_check_digit(3), size="huge"),  # row 4: two bad fields
            [],  # row 5: blank, still counted
            bad_row(6, sectors="Z99"),  # row 6
        ],
    )
    report = notifier.json("enterprises", "import", notifier.file("firms.csv", csv_text), status=1)

    assert report["created"] == 2
    assert report["updated"] == 0
    assert report["bad_rows"] == 2
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (4, "credit_code"),
        (4, "size"),
        (6, "sectors"),
    ]
    assert all(set(e) == {"row", "field", "reason", "message"} for e in report["errors"])
    assert all(e["message"].startswith(f"第 {e['row']} 行 ") for e in report["errors"])
    assert "huge" in report["errors"][1]["reason"]
    listed = notifier.json("enterprises", "list")
    assert [row["credit_code"] for row in listed] == [credit_code(1), credit_code(2)]
    assert listed[0]["subscribed"] == ["email", "sms", "webhook"]


def test_import_of_a_clean_file_exits_zero_and_says_how_many(notifier):
    path = notifier.file("firms.csv", enterprise_csv([Firm(1), Firm(2), Firm(3)]))

    assert (
        "imported 3 enterprises (3 new, 0 updated); 0 bad rows"
        in notifier("enterprises", "import", path).stdout
    )


def test_import_dry_run_reports_the_same_counts_but_stores_nothing(notifier):
    path = notifier.file(
        "firms.csv", enterprise_csv([Firm(1), Firm(2)], extra_rows=[bad_row(3, size="huge")])
    )

    dry = notifier.json("enterprises", "import", path, "--dry-run", status=1)

    assert notifier.json("enterprises", "list") == []
    real = notifier.json("enterprises", "import", path, status=1)
    assert dry["dry_run"] is True and real["dry_run"] is False
    assert {k: v for k, v in dry.items() if k != "dry_run"} == {
        k: v for k, v in real.items() if k != "dry_run"
    }
    assert dry["created"] == 2


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_a_tag_or_topic_too_long_for_the_database_is_one_bad_row_never_a_traceback(
    notifier, dry_run
):
    """PostgreSQL refused the 51-character tag: a traceback, and every row of the file lost."""
    csv_text = enterprise_csv(
        [Firm(1), Firm(2, tags="专精特新" * 13), Firm(3, topics="补" * 51), Firm(4, name="\u3164")]
    )
    path = notifier.file("firms.csv", csv_text)
    options = ["--dry-run"] if dry_run else []

    report = notifier.json("enterprises", "import", path, *options, status=1)

    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "tags"),
        (4, "topics"),
        (5, "name"),
    ]
    assert "50" in report["errors"][0]["reason"] and "U+3164" in report["errors"][2]["reason"]
    assert report["created"] == 1
    listed = notifier.json("enterprises", "list")
    assert [row["credit_code"] for row in listed] == ([] if dry_run else [credit_code(1)])


def test_import_of_a_file_without_required_columns_is_refused_naming_them(notifier):
    path = notifier.file("firms.csv", "credit_code,name\n")

    result = notifier("enterprises", "import", path, status=2)

    assert_one_line_error(result, "missing required columns", "sectors")


def test_reimport_updates_by_credit_code_and_keeps_unsubscribes(notifier):
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1), Firm(2)])))
    notifier("enterprises", "unsubscribe", credit_code(1))
    notifier("enterprises", "unsubscribe", credit_code(2), "--channel", "sms")

    again = enterprise_csv([Firm(1, name="宁波改名后有限公司"), Firm(2)])
    report = notifier.json("enterprises", "import", notifier.file("b.csv", again))

    assert (report["created"], report["updated"], report["kept_unsubscribed"]) == (0, 2, 2)
    listed = by_code(notifier.json("enterprises", "list"))
    assert listed[credit_code(1)]["name"] == "宁波改名后有限公司"
    assert listed[credit_code(1)]["subscribed"] == []
    assert listed[credit_code(2)]["subscribed"] == ["email", "webhook"]


def test_unsubscribe_of_an_unknown_credit_code_names_it_and_fails(notifier):
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1)])))

    result = notifier("enterprises", "unsubscribe", credit_code(1), credit_code(9), status=2)

    assert "unsubscribed 1 enterprises" in result.stdout
    assert_one_line_error(result, credit_code(9))


def test_enterprises_list_by_sector_keeps_only_codes_under_that_prefix(notifier):
    firms = [
        Firm(1, sectors="C3670"),
        Firm(2, sectors="C3610"),
        Firm(3, sectors="C3812"),
        Firm(4, sectors="C2614;C3640"),
        Firm(5, sectors="I6513"),
    ]
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv(firms)))

    c36 = notifier.json("enterprises", "list", "--sector", "C36")
    lower = notifier.json("enterprises", "list", "--sector", "c36")

    expected = [credit_code(1), credit_code(2), credit_code(4)]
    assert [row["credit_code"] for row in c36] == expected
    assert [row["credit_code"] for row in lower] == expected
    assert len(notifier.json("enterprises", "list", "--sector", "C")) == 4
    assert_one_line_error(notifier("enterprises", "list", "--sector", "Z99", status=2), "--sector")


def store_names_as_an_old_import_left_them(database_url: str, names: list[str]) -> None:
    """Names stored before the CSV reader refused control characters."""
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    records = [
        EnterpriseRecord(
            row=number + 2, credit_code=credit_code(number + 1), name=name, sectors=("C3670",),
            region="浙江省/宁波市/北仑区/灵峰工业社区\x1b]0;pwned\x07", size="small", phone=None,
            email=None, webhook_url=None, topics=(), channels=(), tags=("[bold]规上[/bold]",),
        )  # fmt: skip
        for number, name in enumerate(names)
    ]
    with sessions() as session:
        enterprise_store.upsert_enterprises(session, records)
        session.commit()
    engine.dispose()


def test_enterprises_list_prints_no_control_characters_and_no_markup(notifier):
    names = [
        "\x1b[2J\x1b[31m假冒企业",
        "=cmd|' /C calc'!A0",
        "[red]红色[/red]企业",
        "正常\u202e企业\x9b",
    ]
    store_names_as_an_old_import_left_them(notifier.env["NOTIFIER_DATABASE_URL"], names)

    table = notifier("enterprises", "list").stdout
    listing = notifier("enterprises", "list", "--format", "json").stdout

    for output in (table, listing):
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(output)
    assert "[red]红色[/red]企业" in table  # shown as written, not turned into colour
    assert "=cmd|' /C calc'!A0" in table  # kept as is: only CSV files get the quote
    assert [row["name"] for row in json.loads(listing)][1] == "=cmd|' /C calc'!A0"


# --- policies and deliveries -------------------------------------------------------------------


def test_publish_prints_the_policy_id_and_finishes_delivery_before_exiting(notifier):
    firms = [
        Firm(1, sectors="C3670"),
        Firm(2, sectors="C3610", channels="sms"),
        Firm(3, sectors="C3812"),  # not under C36
    ]
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv(firms)))

    published = notifier.json("policies", "publish", notifier.file("p.json", json.dumps(policy())))

    assert published["created"] is True
    rows = notifier.json("deliveries", "list", "--policy", str(published["id"]))
    assert set(rows[0]) >= DELIVERY_FIELDS
    assert sorted((r["credit_code"], r["channel"]) for r in rows) == [
        (credit_code(1), "email"),
        (credit_code(1), "sms"),
        (credit_code(1), "webhook"),
        (credit_code(2), "sms"),
    ]
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["policy_id"] for r in rows} == {published["id"]}
    assert all(r["attempts"] == 1 and r["last_error"] is None for r in rows)
    assert len({r["trigger"] for r in rows}) == 1


def test_publish_takes_a_short_region_and_refuses_one_the_register_does_not_hold(notifier):
    firms = [Firm(1), Firm(2, region="浙江省/宁波市/北仑区/新碶街道/算山社区")]
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv(firms)))
    short = policy(targets={"regions": ["北仑区/新碶街道"]})
    published = notifier.json("policies", "publish", notifier.file("p.json", json.dumps(short)))
    rows = notifier.json("deliveries", "list", "--policy", str(published["id"]))
    assert {r["credit_code"] for r in rows} == {credit_code(2)}
    shown = notifier.json("policies", "show", str(published["id"]))
    assert shown["targets"]["regions"] == ["浙江省/宁波市/北仑区/新碶街道"]
    unknown = policy(targets={"regions": ["霞浦街道"]})
    path = notifier.file("q.json", json.dumps(unknown))
    refused = notifier("policies", "publish", path, status=2)
    assert_one_line_error(refused, "targets.regions", "霞浦街道", "不在企业名录")


def test_publishing_the_same_file_twice_gives_the_same_policy_and_no_new_deliveries(notifier):
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1), Firm(2)])))
    path = notifier.file("p.json", json.dumps(policy()))

    first = notifier.json("policies", "publish", path)
    before = notifier.json("deliveries", "list", "--all")
    second = notifier.json("policies", "publish", path)

    assert second["id"] == first["id"]
    assert second["created"] is False
    assert notifier.json("deliveries", "list", "--all") == before
    assert len(before) == 6
    assert "already published; nothing sent twice" in notifier("policies", "publish", path).stdout


def test_unsubscribed_enterprises_get_nothing_from_a_publish(notifier):
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1), Firm(2)])))
    notifier("enterprises", "unsubscribe", credit_code(1))
    notifier("enterprises", "unsubscribe", credit_code(2), "--channel", "sms")

    published = notifier.json("policies", "publish", notifier.file("p.json", json.dumps(policy())))

    rows = notifier.json("deliveries", "list", "--policy", str(published["id"]))
    assert sorted((r["credit_code"], r["channel"]) for r in rows) == [
        (credit_code(2), "email"),
        (credit_code(2), "webhook"),
    ]


def test_deliveries_list_filters_by_status_channel_and_limit(notifier):
    # 20 firms x 3 channels = 60 deliveries, more than the default limit of 50. Webhooks point at
    # loopback, which the real webhook provider refuses: those fail, the dry-run rest are sent.
    firms = [Firm(n, webhook_url=f"http://127.0.0.1:9/hook/{n}") for n in range(1, 21)]
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv(firms)))
    publish_env = {"NOTIFIER_WEBHOOK__PROVIDER": "http"}
    path = notifier.file("p.json", json.dumps(policy()))
    notifier("policies", "publish", path, "--format", "json", env=publish_env)

    everything = notifier.json("deliveries", "list", "--all")
    failed = notifier.json("deliveries", "list", "--status", "failed", "--all")
    sms = notifier.json("deliveries", "list", "--channel", "sms")
    newest = notifier.json("deliveries", "list", "--limit", "2")

    assert len(everything) == 60
    assert len(notifier.json("deliveries", "list")) == 50
    assert len(failed) == 20
    assert {(r["channel"], r["status"]) for r in failed} == {("webhook", "failed")}
    assert all(r["last_error"] for r in failed)
    assert len(sms) == 20 and {(r["channel"], r["status"]) for r in sms} == {("sms", "sent")}
    assert [r["id"] for r in newest] == [r["id"] for r in everything[:2]]
    assert newest[0]["id"] > newest[1]["id"]  # newest first
    assert notifier.json("deliveries", "list", "--status", "queued") == []


def test_status_reports_counts_and_deliveries_per_channel(notifier):
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1), Firm(2)])))
    notifier("policies", "publish", notifier.file("p.json", json.dumps(policy())))

    status = notifier.json("status")

    assert status["schema"] == HEAD
    assert status["broker"] == "embedded"
    assert status["timezone"] == "Asia/Shanghai"
    assert (status["enterprises"], status["policies"], status["triggers"]) == (2, 1, 1)
    assert status["deliveries"] == {ch: {"sent": 2} for ch in ("sms", "email", "webhook")}
    assert status["providers"] == {
        f"{channel}-dry-run": {"channel": channel, "kind": "dry-run"}
        for channel in ("sms", "email", "webhook")
    }


# --- demo -------------------------------------------------------------------------------------


def test_demo_prints_the_per_channel_summary_and_a_second_run_sends_nothing_new(notifier, tmp_path):
    text = notifier("demo").stdout

    assert "deliveries per channel" in text
    for channel in ("sms", "email", "webhook"):
        assert channel in text
    first = notifier.json("deliveries", "list", "--all")
    assert first and {r["status"] for r in first} == {"sent"}
    assert any((tmp_path / "var" / "outbox").rglob("*.json"))  # the dry-run provider wrote them

    again = notifier.json("demo")

    assert notifier.json("deliveries", "list", "--all") == first
    assert again["enterprises"] == 12
    summarised = [
        count
        for item in again["policies"].values()
        for per_status in item["channels"].values()
        for count in per_status.values()
    ]
    assert sum(summarised) == len(first)  # the summary accounts for every delivery


# --- errors a user makes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (json.dumps({k: v for k, v in policy().items() if k != "title"}), "title"),
        (json.dumps(policy(url="ftp://www.bl.gov.cn/p")), "url"),
        (json.dumps(policy(targets={"sectors": ["Z99"]})), "targets.sectors"),
        ('{"title": "汽车零部件", ', "not valid JSON"),
        (json.dumps(policy(published_at="[/b] soon")), "published_at"),  # not read as markup
        (json.dumps(policy(), ensure_ascii=False).encode("gbk"), "not UTF-8"),
        (b" " * 1_000_001, "at most 1000000"),
    ],
    ids=[
        "missing-title",
        "bad-url",
        "unknown-sector",
        "bad-json",
        "markup-like-value",
        "gbk",
        "too-large",
    ],
)
def test_a_bad_policy_file_is_refused_with_one_line_naming_the_field(
    sqlite_notifier, content, needle
):
    path = sqlite_notifier.file("p.json", content)

    result = sqlite_notifier("policies", "publish", path, status=2)

    assert_one_line_error(result, needle)
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("NOTIFIER_TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'"),
        # The URL is not echoed (it may hold a password); the accepted schemes are.
        ("NOTIFIER_DATABASE_URL", "mysql://x", "sqlite:// or postgresql://"),
    ],
)
def test_a_bad_setting_stops_the_command_naming_the_variable(tmp_path, variable, value, hint):
    # A fresh process: the installed script, as a deployment runs it.
    env = {
        "PATH": "/usr/bin:/bin",
        "NOTIFIER_CONFIG_DIR": str(tmp_path / "no-config"),
        "NOTIFIER_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        variable: value,
    }
    done = run_notifier("status", env=env, timeout=60)

    assert done.returncode == 2
    assert variable in done.stderr
    assert hint in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_worker_without_redis_refuses_and_points_to_notifier_run(sqlite_notifier):
    result = sqlite_notifier("worker", status=2)

    assert_one_line_error(result, "NOTIFIER_REDIS_URL", "notifier run")


def test_a_policy_file_saved_with_a_bom_by_notepad_is_published(sqlite_notifier):
    path = sqlite_notifier.file("p.json", "\ufeff".encode() + json.dumps(policy()).encode())

    result = sqlite_notifier("policies", "publish", path, "--format", "json")

    assert json.loads(result.stdout)["id"] == 1


def _one_deferred_delivery(notifier) -> int:
    """Publish to one firm, then make its first delivery deferred with a hostile error text."""
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1)])))
    notifier("policies", "publish", notifier.file("p.json", json.dumps(policy())))
    engine = sa.create_engine(notifier.env["NOTIFIER_DATABASE_URL"])
    with engine.begin() as connection:
        delivery_id = connection.scalar(sa.text("SELECT min(id) FROM deliveries"))
        connection.execute(
            sa.text(
                "UPDATE deliveries SET status = 'deferred', next_attempt_at = :at,"
                " last_error = :error WHERE id = :id"
            ),
            {"at": "2030-01-01 00:00:00", "error": "boom\x1b[2J[red]x[/red]\x07",
             "id": delivery_id},
        )
        connection.execute(
            sa.text("UPDATE delivery_attempts SET error = :error WHERE delivery_id = :id"),
            {"error": "timeout\x1b]0;owned\x07", "id": delivery_id},
        )
    engine.dispose()
    return delivery_id


def test_deliveries_list_and_show_give_the_next_attempt_in_local_time_and_every_attempt(notifier):
    delivery_id = _one_deferred_delivery(notifier)

    (row,) = [r for r in notifier.json("deliveries", "list") if r["id"] == delivery_id]
    shown = notifier.json("deliveries", "show", str(delivery_id))
    wide = {"COLUMNS": "250"}
    text = notifier("deliveries", "list", env=wide).stdout
    detail = notifier("deliveries", "show", str(delivery_id), env=wide).stdout

    assert row["next_attempt_at"] == "2030-01-01T08:00:00+08:00"
    assert shown["id"] == delivery_id and shown["status"] == "deferred"
    assert shown["next_attempt_at"] == "2030-01-01T08:00:00+08:00"
    assert shown["reason"]
    (attempt,) = shown["attempts"]
    assert attempt["number"] == 1 and attempt["outcome"] == "sent"
    assert attempt["error"] == "timeout\x1b]0;owned\x07"
    assert attempt["started_at"].endswith("+08:00") and attempt["finished_at"].endswith("+08:00")
    assert "2030-01-01 08:00" in text and "2030-01-01 08:00" in detail
    for output in (text, detail):
        assert "\x1b" not in output and "\x07" not in output
    assert "[red]x[/red]" in detail and "\\x1b" in detail


def test_deliveries_show_of_an_unknown_id_and_list_of_an_unknown_policy_are_one_line_errors(
    notifier,
):
    assert_one_line_error(notifier("deliveries", "show", "424242", status=2), "424242")
    assert_one_line_error(notifier("deliveries", "list", "--policy", "424242", status=2), "424242")
    too_big = notifier("deliveries", "list", "--policy", "99999999999999999999", status=2)
    assert "Traceback" not in too_big.output and "--policy" in too_big.output
    too_big = notifier("deliveries", "show", "99999999999999999999", status=2)
    assert "Traceback" not in too_big.output
