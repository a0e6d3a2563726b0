"""Corrections (更正): a changed file under a published ref is refused, a revision keeps the
history and moves deadlines and their unsent rungs, a correction reaches exactly the
enterprise-and-channel pairs the policy reached (once), and a scheduled policy can be withdrawn
while a published one cannot. On SQLite and PostgreSQL, on a clock the tests move.
"""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from notifier.domain.time_source import ManualTime
from notifier.errors import InputError
from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.corrections import Revised, cancel_policy, describe, revise
from notifier.services.policies.publishing import publish, scan_published
from notifier.store import enterprises, triggers
from notifier.store.models import Deadline, Delivery, DeliveryStatus, Policy, Trigger, TriggerStatus

from support.cli import assert_one_line_error
from support.deadlines import SHANGHAI, Park, at
from support.factories import (
    Enqueued,
    Firm,
    acting,
    credit_code,
    enterprise_csv,
    policy,
    send_batch,
)

APPLY = {"title": "申报截止", "due_at": "2026-11-20T17:00", "remind": ["5wd", "2wd", "0d"]}
PAPERS = {"title": "材料补交", "due_at": "2026-11-30T17:00", "remind": ["0d"]}


class Office(Park):
    """Enterprises, one policy (ref ``p1``) and the pipeline run by hand on a moved clock."""

    def __init__(self, runtime, time_source: ManualTime, firms: list[Firm], **fields) -> None:
        self.runtime, self.time_source = runtime, time_source
        self.import_firms(firms)
        self.fields = {"ref": "p1", **fields}
        self.published = publish(runtime.sessions, Enqueued(), self.draft(),
        time_source=time_source)
        self.policy_id = self.published.policy_id

    def import_firms(self, firms: list[Firm]) -> None:
        csv_text = enterprise_csv(firms)
        import_enterprises(self.runtime.sessions, io.StringIO(csv_text), dry_run=False)

    def draft(self, **changes):
        return parse_policy(policy(**{**self.fields, **changes}), zone=SHANGHAI)

    def revise(self, *, notify: bool = False, **changes):
        return revise(acting(self.runtime, Enqueued()), self.draft(**changes), notify=notify)

    def deliveries(self, trigger_id: int) -> list[tuple[str, str, str]]:
        with self.runtime.sessions() as session:
            rows = session.scalars(select(Delivery).where(Delivery.trigger_id == trigger_id))
            return sorted((d.enterprise.credit_code, d.channel, d.status) for d in rows)


@pytest.fixture
def office(database_url, make_runtime):
    def build(
        firms: list[Firm], now: str = "2026-09-28 08:00", settings: dict | None = None, **fields
    ) -> Office:
        time_source = ManualTime(at(now))
        runtime = make_runtime(database_url=database_url, time_source=time_source, **(settings or
        {}))
        return Office(runtime, time_source, firms, **fields)

    return build


def test_publishing_a_changed_file_under_a_published_ref_is_refused_and_points_to_revise(office):
    office = office([Firm(1)], published_at="2026-09-01T09:00")

    again = publish(office.runtime.sessions, Enqueued(), office.draft(),
    time_source=office.time_source)
    assert again.policy_id == office.policy_id and not again.created

    with pytest.raises(InputError, match="notifier policies revise FILE.json") as refused:
        publish(
            office.runtime.sessions,
            Enqueued(),
            office.draft(summary="补助比例改为15%。"),
            time_source=office.time_source,
        )
    assert str(refused.value).startswith("ref: 政策")
    assert describe(office.runtime.sessions, office.policy_id, zone=SHANGHAI)["summary"] == (
        "按设备投资额的10%给予补助。"
    )


def test_a_revision_keeps_the_history_and_moves_deadlines_and_their_unsent_rungs(office):
    office = office(
        [Firm(1, channels="email"), Firm(2, channels="email")],
        published_at="2026-09-01T09:00",
        deadlines=[APPLY, PAPERS],
    )
    (five,) = office.tick("2026-11-13 09:00")  # 5wd before Friday 20 November
    assert len(office.sent_to(five)) == 2
    office.time_source.set(at("2026-11-18 09:00"))  # 2wd: made, its fan-out not yet run
    (stale,) = office.scan()

    revised = office.revise(
        summary="补助比例改为15%。",
        deadlines=[
            {**APPLY, "due_at": "2026-11-27T17:00"},  # a week later
            {"title": "现场核查", "due_at": "2026-12-10T17:00", "remind": ["0d"]},
        ],  # 材料补交 dropped
    )

    assert (revised.revision, revised.new) == (1, True)
    assert revised.changed == ("summary", "deadlines")
    assert (revised.moved, revised.added, revised.removed) == (1, 1, 1)
    assert revised.trigger_id is None  # no --notify
    office.fan_out_and_send(stale)  # the message still on its way does nothing
    assert office.trigger(stale).status == TriggerStatus.CANCELLED
    assert office.sent_to(stale) == []
    assert office.tick("2026-11-20 09:00") == []  # 5wd of the new date: it went out already
    (two,) = office.tick("2026-11-25 09:00")  # 2wd before Friday 27 November
    assert len(office.sent_to(two)) == 2
    assert office.tick("2026-11-30 09:00") == []  # the dropped deadline's day: nothing

    shown = describe(office.runtime.sessions, office.policy_id, zone=SHANGHAI)
    assert shown["summary"] == "补助比例改为15%。"
    (revision,) = shown["revisions"]
    assert revision["number"] == 1 and revision["changed_words"] == ["摘要", "截止时间"]
    assert revision["previous"]["summary"] == "按设备投资额的10%给予补助。"
    assert [d["title"] for d in revision["previous"]["deadlines"]] == ["申报截止", "材料补交"]
    deadlines = {d["title"]: (d["due_at"], d["cancelled"]) for d in shown["deadlines"]}
    assert deadlines == {
        "申报截止": ("2026-11-27 17:00", False),
        "材料补交": ("2026-11-30 17:00", True),
        "现场核查": ("2026-12-10 17:00", False),
    }
    # The same file again changes nothing and keeps no second revision.
    again = office.revise(
        summary="补助比例改为15%。",
        deadlines=[
            {**APPLY, "due_at": "2026-11-27T17:00"},
            {"title": "现场核查", "due_at": "2026-12-10T17:00", "remind": ["0d"]},
        ],
    )
    assert (again.new, again.revision) == (False, 1)


def test_a_revision_that_moves_a_deadline_into_the_past_changes_nothing(office):
    office = office([Firm(1)], published_at="2026-09-01T09:00", deadlines=[APPLY])

    with pytest.raises(InputError, match=r"deadlines\[0\]\.due_at"):
        office.revise(summary="改", deadlines=[{**APPLY, "due_at": "2026-09-01T17:00"}])

    shown = describe(office.runtime.sessions, office.policy_id, zone=SHANGHAI)
    assert shown["revisions"] == [] and shown["summary"] == "按设备投资额的10%给予补助。"


def test_a_correction_reaches_once_each_enterprise_and_channel_the_policy_reached(office):
    office = office(
        [
            Firm(1, channels="sms;email"),
            Firm(2, sectors="C3610", channels="email"),
            Firm(3, channels="sms;email"),
            Firm(4, sectors="C3812"),  # not targeted
        ],
        deadlines=[{**APPLY, "due_at": "2026-10-30T17:00"}],
        # Fan-out reads the audience in pages of two: the reach condition keeps its paging.
        settings={"delivery": {"fan_out_chunk": 2, "batch_size": 2}},
    )
    office.fan_out_and_send(office.published.trigger_id)
    reached = office.deliveries(office.published.trigger_id)
    assert [(code, channel) for code, channel, _ in reached] == [
        (credit_code(1), "email"),
        (credit_code(1), "sms"),
        (credit_code(2), "email"),
        (credit_code(3), "email"),
        (credit_code(3), "sms"),
    ]
    # Since then: firm 2 took SMS too, firm 3 left everything, firm 5 joined (it matches).
    office.import_firms([Firm(2, sectors="C3610", channels="sms;email"), Firm(5)])
    with office.runtime.sessions.begin() as session:
        enterprises.unsubscribe(session, [credit_code(3)])

    # The revision narrows the targets to C3670: firm 2 (C3610) was reached, so it is told.
    correction = {
        "targets": {"sectors": ["C3670"]},
        "deadlines": [{**APPLY, "due_at": "2026-11-06T17:00"}],
    }
    revised = office.revise(notify=True, **correction)
    assert revised.trigger_id is not None and revised.revision == 1
    assert revised.changed == ("targets", "deadlines")
    queued = Enqueued()  # fanned out, queued, not yet sent
    delivery = office.runtime.settings.delivery
    fan_out(office.runtime.sessions, queued, revised.trigger_id, settings=delivery)
    assert [len(batch) for batch in queued.batches] == [2, 1]  # two pages
    with office.runtime.sessions.begin() as session:  # firm 1 leaves SMS before the send
        enterprises.unsubscribe(session, [credit_code(1)], channel="sms")
    for batch in queued.batches:
        send_batch(office.runtime, batch)

    corrections = office.deliveries(revised.trigger_id)
    assert corrections == [
        (credit_code(1), "email", DeliveryStatus.SENT),
        (credit_code(1), "sms", DeliveryStatus.SUPPRESSED),
        (credit_code(2), "email", DeliveryStatus.SENT),
    ]
    # Run again, and the same revision asked to notify again: nothing made or sent twice.
    again = Enqueued(on_batch=lambda ids: send_batch(office.runtime, ids))
    total = fan_out(office.runtime.sessions, again, revised.trigger_id, settings=delivery)
    assert total == 3 and again.batches == []
    assert office.revise(notify=True, **correction) == Revised(office.policy_id, 1, False)
    assert office.deliveries(revised.trigger_id) == corrections

    outbox = office.runtime.settings.outbox_dir / "email"
    mails = [json.loads(path.read_text("utf-8")) for path in outbox.glob("*.json")]
    (mail,) = [m for m in mails if "更正" in m["subject"] and m["to"] == "firm1@example.cn"]
    assert "截止时间由 2026-10-30 17:00 改为 2026-11-06 17:00" in mail["text"]


def test_a_cancelled_scheduled_policy_sends_nothing_when_its_time_comes(office):
    office = office(
        [Firm(1)], published_at="2026-10-10T09:00", deadlines=[{**APPLY, "due_at": "2026-10-20"}]
    )
    assert office.published.trigger_id is None  # scheduled

    withdrawn = cancel_policy(acting(office.runtime), office.policy_id)

    assert not withdrawn.already and withdrawn.deadlines == 1
    for moment in ("2026-10-10 09:00", "2026-10-14 09:00", "2026-10-20 09:00"):
        office.time_source.set(at(moment))
        runtime = office.runtime
        scanned = scan_published(runtime.sessions, Enqueued(), time_source=office.time_source)
        assert scanned == []
        assert office.scan() == []
    with office.runtime.sessions() as session:
        assert session.scalars(select(Trigger)).all() == []
        assert session.scalars(select(Delivery)).all() == []
        assert session.scalar(select(Deadline.cancelled_at)) is not None
    again = cancel_policy(acting(office.runtime), office.policy_id)
    assert again.already
    # A publish trigger that slipped through (made by a clock just before the cancel) fails.
    with office.runtime.sessions.begin() as session:
        slipped = triggers.ensure_policy_published(session, session.get(Policy, office.policy_id))
        slipped_id = slipped.id
    office.fan_out_and_send(slipped_id)
    assert office.trigger(slipped_id).status == TriggerStatus.FAILED
    assert "was cancelled" in (office.trigger(slipped_id).error or "")
    assert office.deliveries(slipped_id) == []
    with pytest.raises(InputError, match="cancelled"):
        office.revise(summary="改")
    with pytest.raises(InputError, match="cancelled"):
        publish(office.runtime.sessions, Enqueued(), office.draft(), time_source=office.time_source)


def test_a_published_policy_cannot_be_cancelled_and_is_pointed_to_revise(office):
    office = office([Firm(1)])  # published at once

    with pytest.raises(InputError, match="notifier policies revise"):
        cancel_policy(acting(office.runtime), office.policy_id)

    shown = describe(office.runtime.sessions, office.policy_id, zone=SHANGHAI)
    assert shown["cancelled_at"] is None


# --- the commands ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_policies_commands_refuse_revise_show_and_cancel(notifier):
    firms = [Firm(1, channels="sms;email"), Firm(2, channels="email")]
    notifier("enterprises", "import", notifier.file("e.csv", enterprise_csv(firms)))
    notifier("calendar", "complete", "2099")  # a far year, worked Monday to Friday
    deadline = {"title": "申报截止", "due_at": "2099-12-01"}
    first = notifier.file("p.json", json.dumps(policy(ref="p1", deadlines=[deadline])))
    published = notifier.json("policies", "publish", first)
    moved = {**deadline, "due_at": "2099-12-15"}
    changed = notifier.file("p2.json", json.dumps(policy(ref="p1", deadlines=[moved])))

    refused = notifier("policies", "publish", changed, status=2)
    assert_one_line_error(refused, "notifier policies revise FILE.json", "已存在")

    revised = notifier.json("policies", "revise", changed, "--notify")
    assert revised["revision"] == 1 and revised["changed"] == ["deadlines"]
    assert revised["deliveries"] == {"sent": 3}
    text = notifier("policies", "revise", changed, "--notify").stdout
    assert "内容未变" in text and "不重发" in text
    shown = notifier("policies", "show", str(published["id"])).stdout
    assert "修订 revision 1" in shown and "截止时间 deadlines" in shown
    assert "2099-12-15 23:59" in shown

    refused = notifier("policies", "cancel", str(published["id"]), status=2)
    assert_one_line_error(refused, "不能撤回", "notifier policies revise")
    refused = notifier(
        "policies", "revise", notifier.file("p3.json", json.dumps(policy())), status=2
    )
    assert_one_line_error(refused, "ref:", "no ref")

    later = notifier.file("l.json", json.dumps(policy(ref="p9", published_at="2099-01-01")))
    scheduled = notifier.json("policies", "publish", later)
    assert scheduled["trigger_id"] is None
    assert "已撤回" in notifier("policies", "cancel", str(scheduled["id"])).stdout
    assert notifier.json("policies", "show", str(scheduled["id"]))["cancelled_at"] is not None
    listed = {row["id"]: row for row in notifier.json("policies", "list")}
    assert listed[published["id"]]["revisions"] == 1 and listed[scheduled["id"]]["cancelled"]
    assert_one_line_error(notifier("policies", "show", "4242", status=2), "4242")
