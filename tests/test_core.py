"""The core, as staff meet it: preview before publishing, clear words when a part is missing.

Preview counts are checked against the deliveries a publish then makes; broker trouble and a
missing worker are told in one line; a trigger of an unknown kind ends with its reason.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_cli import Notifier, _notifier, assert_one_line_error

from notifier.inputs.policy_file import parse_policy
from notifier.services import demo
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.kinds import Kind
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import migrate as migrations
from notifier.store import triggers
from notifier.store.models import Trigger
from notifier.store.models.base import utcnow

from factories import Enqueued, Firm, enterprise_csv, policy, sweep_now


@pytest.fixture
def notifier(database_url: str, tmp_path: Path):
    """The command on a migrated, empty database (SQLite, then PostgreSQL)."""
    yield from _notifier(database_url, tmp_path)


@pytest.fixture
def sqlite_notifier(tmp_path: Path):
    """The command on a migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    migrations.upgrade(url)
    yield from _notifier(url, tmp_path)


def demo_park(notifier: Notifier) -> None:
    notifier("enterprises", "import", notifier.file("demo.csv", demo.enterprises_csv()))
    notifier("enterprises", "unsubscribe", demo.UNSUBSCRIBED)


@pytest.mark.parametrize("index", range(len(demo.POLICIES)))
def test_preview_counts_per_channel_are_what_the_publish_then_creates_in_the_demo_park(
    notifier, index
):
    demo_park(notifier)
    path = notifier.file("p.json", json.dumps(demo.POLICIES[index], ensure_ascii=False))

    preview = notifier.json("policies", "preview", path)
    published = notifier.json("policies", "publish", path)

    rows = notifier.json("deliveries", "list", "--policy", str(published["id"]), "--all")
    made = Counter(row["channel"] for row in rows)
    assert preview["deliveries"] == len(rows) > 0
    assert {ch: n for ch, n in preview["recipients"].items() if n} == dict(made)
    assert preview["enterprises"] == len({row["credit_code"] for row in rows})


def test_preview_shows_why_each_sample_is_reached_and_what_each_channel_reads(notifier):
    demo_park(notifier)
    path = notifier.file("p.json", json.dumps(demo.POLICIES[0], ensure_ascii=False))

    preview = notifier.json("policies", "preview", path)

    assert {s["reason"]["sector"][:3] for s in preview["samples"]} == {"C36"}
    sms = preview["renderings"]["sms"]
    assert sms["text"].startswith("【北仑企服】")
    assert sms["sms_length"] == len(sms["text"])
    assert sms["sms_parts"] == (1 if sms["sms_length"] <= 70 else -(-sms["sms_length"] // 67))
    assert preview["sms_billed_parts"] == sms["sms_parts"] * preview["recipients"]["sms"]
    assert "【政策发布】" in preview["renderings"]["email"]["subject"]
    assert preview["warnings"] == []


def test_publish_dry_run_previews_and_stores_nothing(notifier):
    demo_park(notifier)
    path = notifier.file("p.json", json.dumps(demo.POLICIES[1], ensure_ascii=False))

    preview = notifier.json("policies", "publish", "--dry-run", path)

    assert preview["deliveries"] > 0
    assert notifier.json("policies", "list") == []
    assert notifier.json("deliveries", "list", "--all") == []


def test_preview_warns_when_a_policy_reaches_no_one_or_a_target_matches_no_enterprise(notifier):
    demo_park(notifier)
    typo = policy(targets={"sectors": ["A01"], "tags": ["专精特新", "不存在的标签"]})

    preview = notifier.json("policies", "preview", notifier.file("p.json", json.dumps(typo)))

    assert preview["deliveries"] == 0
    assert any("reaches no enterprise" in w for w in preview["warnings"])
    assert any("targets.sectors" in w and "A01" in w for w in preview["warnings"])
    assert any("targets.tags" in w and "不存在的标签" in w for w in preview["warnings"])
    assert not any("专精特新" in w for w in preview["warnings"])


def test_preview_warns_when_a_policy_reaches_everyone(notifier):
    demo_park(notifier)
    everyone = policy(targets={})

    preview = notifier.json("policies", "preview", notifier.file("p.json", json.dumps(everyone)))

    assert any("reaches every enterprise" in w for w in preview["warnings"])


def test_publish_with_the_broker_unreachable_says_so_and_the_clock_queues_it_later(
    sqlite_notifier, make_runtime, redis_url
):
    sqlite_notifier(
        "enterprises", "import", sqlite_notifier.file("a.csv", enterprise_csv([Firm(1)]))
    )
    path = sqlite_notifier.file("p.json", json.dumps(policy()))
    down = {"NOTIFIER_REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}

    result = sqlite_notifier("policies", "publish", path, status=2, env=down)

    assert_one_line_error(result, "NOTIFIER_REDIS_URL", "stored", "clock")
    assert "hunter2" not in result.output
    [stored] = sqlite_notifier.json("policies", "list")
    # Once the broker is back, the clock's sweep queues the trigger that never went out.
    runtime = make_runtime(
        database_url=sqlite_notifier.env["NOTIFIER_DATABASE_URL"],
        redis_url=redis_url,
        delivery={"stuck_after_seconds": 0.001},
    )
    assert sweep_now(runtime).triggers == 1
    with runtime.sessions() as session:
        [trigger] = session.scalars(select(Trigger)).all()
        assert trigger.policy_id == stored["id"]


def test_worker_and_clock_with_the_broker_unreachable_stop_with_one_line(sqlite_notifier):
    down = {"NOTIFIER_REDIS_URL": "redis://127.0.0.1:1/0"}
    for command in ("worker", "clock"):
        result = sqlite_notifier(command, status=2, env=down)
        assert_one_line_error(result, "NOTIFIER_REDIS_URL", "127.0.0.1:1")


def test_publish_wait_with_no_worker_running_says_so_within_seconds(sqlite_notifier, redis_url):
    sqlite_notifier(
        "enterprises", "import", sqlite_notifier.file("a.csv", enterprise_csv([Firm(1)]))
    )
    path = sqlite_notifier.file("p.json", json.dumps(policy()))

    result = sqlite_notifier(
        "policies",
        "publish",
        path,
        "--wait",
        "--wait-for-worker",
        "1",
        status=2,
        env={"NOTIFIER_REDIS_URL": redis_url},
    )

    assert_one_line_error(result, "no worker", "notifier worker")


def test_a_trigger_of_a_kind_nothing_handles_fails_for_good_with_its_reason(
    database_url, make_runtime
):
    runtime = make_runtime(database_url=database_url)
    with runtime.sessions.begin() as session:
        trigger_id = triggers.ensure(session, key="mystery:1", kind="mystery", due_at=utcnow()).id

    queued = Enqueued()
    assert fan_out(runtime.sessions, queued, trigger_id, settings=runtime.settings.delivery) == 0
    assert fan_out(runtime.sessions, queued, trigger_id, settings=runtime.settings.delivery) == 0

    assert queued.batches == []
    with runtime.sessions() as session:
        trigger = session.get(Trigger, trigger_id)
        assert trigger.status == "failed"
        assert "no handler for kind 'mystery'" in trigger.error


def test_two_publishes_of_one_policy_at_once_store_it_once_and_neither_fails(
    postgres_database, make_runtime
):
    runtime = make_runtime(database_url=postgres_database)
    csv = io.StringIO(enterprise_csv([Firm(1)]))
    assert import_enterprises(runtime.sessions, csv, dry_run=False).errors == []
    draft = parse_policy(policy(ref="same-policy"), zone=runtime.settings.zone)
    results, errors = [], []
    start = threading.Barrier(4)

    def publish_once() -> None:
        start.wait()
        try:
            results.append(publish(runtime.sessions, Enqueued(), draft))
        except Exception as exc:  # the failure this test guards against
            errors.append(exc)

    threads = [threading.Thread(target=publish_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len({r.policy_id for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, False, True]


def test_a_trigger_that_fails_every_fan_out_stops_as_failed_with_its_reason(
    database_url, make_runtime
):
    runtime = make_runtime(database_url=database_url, delivery={"fan_out_max_attempts": 3})
    with runtime.sessions.begin() as session:
        trigger_id = triggers.ensure(session, key="poison:1", kind="poison", due_at=utcnow()).id

    def audience(trigger):
        raise RuntimeError("statement too complex")  # as a huge target list once did

    kinds = {"poison": Kind(audience=audience, context=lambda trigger, zone, now: {})}
    policy_ = runtime.settings.delivery
    for _ in range(3):  # the actor's retries and the sweeper bring it back each time
        with pytest.raises(RuntimeError):
            fan_out(runtime.sessions, Enqueued(), trigger_id, settings=policy_, kinds=kinds)
    assert fan_out(runtime.sessions, Enqueued(), trigger_id, settings=policy_, kinds=kinds) == 0

    with runtime.sessions() as session:
        trigger = session.get(Trigger, trigger_id)
        assert (trigger.status, trigger.attempts) == ("failed", 3)
        assert (
            trigger.error == "gave up after 3 fan-out attempts: RuntimeError: statement too complex"
        )
    with runtime.sessions.begin() as session:  # and the sweeper leaves it alone from now on
        session.get(Trigger, trigger_id).heartbeat_at = utcnow() - timedelta(days=1)
    assert sweep_now(runtime).triggers == 0


def test_csv_exports_of_enterprises_and_deliveries_never_carry_a_live_formula(notifier):
    firms = [Firm(1, name='=HYPERLINK("http://evil.example/","点我")', channels="email"), Firm(2)]
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv(firms)))
    notifier("policies", "publish", notifier.file("p.json", json.dumps(policy())))

    listed = notifier("enterprises", "list", "--format", "csv").stdout
    logged = notifier("deliveries", "list", "--all", "--format", "csv").stdout

    for text in (listed, logged):
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        cells = [value for row in rows[1:] for value in row]
        assert not any(value.startswith(("=", "+", "-", "@")) for value in cells)
        assert "'=HYPERLINK(\"http://evil.example/\",\"点我\")" in cells
    assert len(list(csv.reader(io.StringIO(logged)))) == 1 + 4  # header + 1 email + 3 channels
