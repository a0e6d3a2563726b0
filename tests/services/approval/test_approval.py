"""Approval before a mass send (issue 18), on SQLite and PostgreSQL: an SMS policy to 4,000
firms published by staff waits 待审核 with nothing queued; its author cannot approve it (nor
anyone not an approver); another approver's approval sends it; a returned one sends nothing and
keeps its reason; a decided request never changes; corrections and campaigns wait too."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.clock import refresh_reach, scan_deadline_reminders, send_reach_ladders
from notifier.services.approval.deciding import approve, return_
from notifier.services.approval.listings import approval_state, list_approvals, show_approval
from notifier.services.campaigns.operations import create_campaign, scan_due_campaigns
from notifier.services.context import Actor
from notifier.services.delivery.fanout import fan_out
from notifier.services.policies.corrections import revise
from notifier.services.policies.publishing import publish, publish_policy, scan_published
from notifier.services.reach.firm_page import firm_page
from notifier.services.reach.states import refresh_open_policies
from notifier.store.models import AuditEntry, Campaign, Delivery, Enterprise, Trigger

from support.factories import Enqueued, Firm, credit_code, policy, send_batch
from support.web_harness import seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor(name="大碶 张科员", role="staff", face="console")
APPROVER = Actor(name="李审核", role="approver", face="console")
ADMIN = Actor(name="王管理", role="admin", face="console")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


class Office:
    """A register, a clock the test moves and the broker's stand-in, acting as named people."""

    def __init__(self, runtime, time_source: ManualTime, firms: int, channels: str) -> None:
        self.runtime, self.time_source = runtime, time_source
        self.dispatch = Enqueued()
        seed(runtime, [Firm(n, channels=channels) for n in range(1, firms + 1)])

    def as_(self, actor: Actor):
        return replace(self.runtime, _queue=self.dispatch).context(actor)

    def draft(self, **fields):
        return parse_policy(policy(**{"ref": "p1", **fields}), zone=SHANGHAI)

    def count(self, model) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def fan_out(self, trigger_id: int) -> int:
        runtime = self.runtime
        return fan_out(runtime.sessions, self.dispatch, trigger_id,
                       settings=runtime.settings.delivery)  # fmt: skip


@pytest.fixture
def office(database_url, make_runtime, monkeypatch):
    # The tests' environment turns approval off (tests/conftest.py); the environment wins.
    monkeypatch.setenv("NOTIFIER_APPROVAL__ENABLED", "true")

    def build(
        firms: int = 3, now: str = "2026-10-12 10:00", channels: str = "sms;email", **approval
    ) -> Office:
        time_source = ManualTime(at(now))
        runtime = make_runtime(
            database_url=database_url, time_source=time_source, approval=approval
        )
        return Office(runtime, time_source, firms, channels)

    return build


def test_an_sms_policy_to_4000_firms_waits_with_nothing_queued_until_another_approver_approves(
    office,
):
    park = office(firms=4_000)

    published = publish_policy(park.as_(CLERK), park.draft())

    assert published.held and published.trigger_id is None
    assert park.count(Trigger) == park.count(Delivery) == 0
    assert park.dispatch.fan_outs == []
    # Nor does the clock pick it, nor do firms see it.
    assert scan_published(park.runtime.sessions, park.dispatch,
                          time_source=park.time_source) == []  # fmt: skip
    with park.runtime.sessions() as session:
        firm = session.scalar(select(Enterprise.id).limit(1))
    with pytest.raises(NotFoundError):
        firm_page(park.as_(CLERK), published.policy_id, firm)
    waiting = show_approval(park.runtime.context(Actor.operator()), published.approval_id)
    assert waiting["status"] == "pending" and waiting["kind"] == "publish"
    assert waiting["author"] == "大碶 张科员" and "sms" in waiting["rules"]
    frozen = waiting["preview"]
    assert frozen["firms"] == 4_000
    assert frozen["recipients"]["sms"] == frozen["recipients"]["email"] == 4_000
    sms = frozen["renderings"]["sms"]
    assert "汽车零部件技术改造补助申报通知" in sms["text"]
    assert sms["sms_parts"] >= 1 and frozen["sms"]["parts"] >= 4_000
    assert frozen["sms"]["cost_yuan"] == round(frozen["sms"]["parts"] * 5 / 100, 2)
    assert approval_state(park.runtime.sessions, policy_id=published.policy_id)["status"] == (
        "pending"
    )

    with pytest.raises(NotAllowedError, match="审核员"):
        approve(park.as_(CLERK), published.approval_id)
    assert park.count(Trigger) == 0

    park.time_source.advance(timedelta(hours=2))
    decided = approve(park.as_(APPROVER), published.approval_id)

    assert park.dispatch.fan_outs == [decided.trigger_id]
    with park.runtime.sessions() as session:
        trigger = session.get(Trigger, decided.trigger_id)
        assert trigger.due_at == park.time_source.now()  # its time had passed: sent at approval
    assert park.fan_out(decided.trigger_id) == 8_000
    assert park.count(Delivery) == 8_000
    shown = show_approval(park.runtime.context(Actor.operator()), published.approval_id)
    assert shown["status"] == "approved" and shown["decided_by"] == "李审核"
    firm_page(park.as_(CLERK), published.policy_id, firm)  # firms see it now


def test_an_author_cannot_approve_their_own_send_even_as_an_admin_or_through_a_key_they_own(
    office,
):
    park = office()
    published = publish_policy(park.as_(ADMIN), park.draft())
    own_key = Actor(name="ntf_abc123", role="admin", face="api", owner="王管理")

    for actor in (ADMIN, own_key, replace(ADMIN, face="cli", name="cli:root", owner="王管理")):
        with pytest.raises(NotAllowedError, match="自己"):
            approve(park.as_(actor), published.approval_id)
        with pytest.raises(NotAllowedError, match="自己"):
            return_(park.as_(actor), published.approval_id, "再看看")
    assert park.count(Trigger) == 0
    approve(park.as_(APPROVER), published.approval_id)
    assert park.count(Trigger) == 1


def test_a_returned_policy_sends_nothing_and_its_author_sees_the_reason(office):
    park = office()
    published = publish_policy(park.as_(CLERK), park.draft())

    with pytest.raises(InputError, match="理由"):
        return_(park.as_(APPROVER), published.approval_id, "  ")
    return_(park.as_(APPROVER), published.approval_id, "补助比例写错了，请核对")

    state = approval_state(park.runtime.sessions, policy_id=published.policy_id)
    assert state["status"] == "returned" and state["reason"] == "补助比例写错了，请核对"
    assert scan_published(park.runtime.sessions, park.dispatch,
                          time_source=park.time_source) == []  # fmt: skip
    assert park.count(Trigger) == park.count(Delivery) == 0


def test_a_decided_request_cannot_be_changed(office):
    park = office()
    first = publish_policy(park.as_(CLERK), park.draft()).approval_id
    second = publish_policy(park.as_(CLERK), park.draft(ref="p2", title="另一个政策")).approval_id
    approve(park.as_(APPROVER), first)
    return_(park.as_(APPROVER), second, "不发")

    for approval_id in (first, second):
        with pytest.raises(ConflictError, match="已处理"):
            approve(park.as_(ADMIN), approval_id)
        with pytest.raises(ConflictError, match="已处理"):
            return_(park.as_(ADMIN), approval_id, "改主意了")
    assert [a["status"] for a in list_approvals(park.runtime.context(Actor.operator()))] == [
        "returned", "approved",
    ]
    with park.runtime.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_type == "approval").order_by(AuditEntry.id)).all()  # fmt: skip
    assert actions == ["approval.request", "approval.request", "approval.approve",
                       "approval.return"]  # fmt: skip


def test_an_email_send_to_few_firms_needs_no_approval_and_one_to_more_than_max_firms_does(
    office,
):
    park = office(firms=4, channels="email", max_firms=3)

    few = publish_policy(park.as_(CLERK), park.draft(targets={"credit_codes": [
        credit_code(1), credit_code(2), credit_code(3)]}))  # fmt: skip
    more = publish_policy(park.as_(CLERK), park.draft(ref="p2", title="发给全部"))

    assert not few.held and few.trigger_id is not None
    assert more.held and more.trigger_id is None
    waiting = show_approval(park.runtime.context(Actor.operator()), more.approval_id)
    assert waiting["rules"] == ["max_firms"] and waiting["preview"]["firms"] == 4


def test_a_correction_waits_a_newer_one_withdraws_it_and_approval_sends_the_latest(office):
    park = office()
    # Published before approval was asked for (plain publish): it went out.
    first = publish(park.runtime.sessions, park.dispatch, park.draft(),
                    time_source=park.time_source)  # fmt: skip
    sending = Enqueued(on_batch=lambda ids: send_batch(park.runtime, ids))
    fan_out(park.runtime.sessions, sending, first.trigger_id,
            settings=park.runtime.settings.delivery)  # fmt: skip
    triggers_before = park.count(Trigger)

    one = revise(park.as_(CLERK), park.draft(summary="按设备投资额的12%给予补助。"), notify=True)
    two = revise(park.as_(CLERK), park.draft(summary="按设备投资额的15%给予补助。"), notify=True)

    assert one.trigger_id is None and two.trigger_id is None
    assert park.count(Trigger) == triggers_before
    withdrawn = show_approval(park.runtime.context(Actor.operator()), one.approval_id)
    assert withdrawn["status"] == "withdrawn"
    waiting = show_approval(park.runtime.context(Actor.operator()), two.approval_id)
    assert waiting["kind"] == "correction" and waiting["revision"] == two.revision
    assert "15%" in waiting["preview"]["renderings"]["email"]["text"]
    with pytest.raises(ConflictError):
        approve(park.as_(APPROVER), one.approval_id)

    decided = approve(park.as_(APPROVER), two.approval_id)

    assert park.count(Trigger) == triggers_before + 1
    assert park.fan_out(decided.trigger_id) > 0


def test_a_revision_of_a_held_policy_files_its_publication_again(office):
    park = office()
    published = publish_policy(park.as_(CLERK), park.draft())
    return_(park.as_(APPROVER), published.approval_id, "标题要写全称")

    again = revise(park.as_(CLERK), park.draft(title="北仑区汽车零部件技术改造补助申报通知"),
                   notify=True)  # fmt: skip

    waiting = show_approval(park.runtime.context(Actor.operator()), again.approval_id)
    assert waiting["kind"] == "publish" and waiting["status"] == "pending"
    assert waiting["preview"]["title"] == "北仑区汽车零部件技术改造补助申报通知"
    assert park.count(Trigger) == 0
    approve(park.as_(APPROVER), again.approval_id)
    assert park.count(Trigger) == 1


def test_a_campaign_waits_for_approval_and_the_clock_runs_it_only_after(office):
    park = office()
    draft = parse_campaign(
        {
            "name": "tech-upgrade", "title": "技术改造补助申报提醒", "channels": ["短信"],
            "targets": {"sectors": ["C36"]},
            "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"}},
            "schedule": {"once_at": "2026-10-12T11:00", "timezone": "Asia/Shanghai"},
        },
        zone=SHANGHAI, now=park.time_source.now(),
    )  # fmt: skip
    campaign_id = create_campaign(park.as_(CLERK), draft)
    settings = park.runtime.settings

    def scan() -> list[int]:
        return scan_due_campaigns(park.runtime.sessions, park.dispatch, zone=SHANGHAI,
                                  catch_up=timedelta(hours=6),
                                  time_source=park.time_source)  # fmt: skip

    park.time_source.advance(timedelta(hours=2))  # its time passes while it waits
    assert scan() == []
    state = approval_state(park.runtime.sessions, campaign_id=campaign_id)
    waiting = show_approval(park.runtime.context(Actor.operator()), state["id"])
    assert state["status"] == "pending" and "campaigns" in waiting["rules"]
    assert "技术改造补助申报提醒" in waiting["preview"]["renderings"]["sms"]["text"]
    with pytest.raises(NotAllowedError):
        approve(park.as_(CLERK), state["id"])

    approve(park.as_(APPROVER), state["id"])

    fired = scan()
    assert len(fired) == 1 and park.fan_out(fired[0]) == 3
    assert settings.approval.enabled


def test_a_returned_campaign_never_runs(office):
    park = office()
    draft = parse_campaign(
        {
            "name": "tech", "title": "提醒", "channels": ["短信"], "targets": {},
            "templates": {"sms": {"body": "{{ campaign.title }}"}},
            "schedule": {"once_at": "2026-10-12T11:00", "timezone": "Asia/Shanghai"},
        },
        zone=SHANGHAI, now=park.time_source.now(),
    )  # fmt: skip
    campaign_id = create_campaign(park.as_(CLERK), draft)
    state = approval_state(park.runtime.sessions, campaign_id=campaign_id)
    return_(park.as_(ADMIN), state["id"], "本月已发过")
    park.time_source.advance(timedelta(hours=2))
    assert scan_due_campaigns(park.runtime.sessions, park.dispatch, zone=SHANGHAI,
                              catch_up=timedelta(hours=6),
                              time_source=park.time_source) == []  # fmt: skip
    with park.runtime.sessions() as session:
        assert session.get(Campaign, campaign_id).status == "returned"


def test_the_clock_leaves_a_held_policy_alone_no_reminder_no_reach_until_approved(office):
    park = office()
    deadline = {"title": "申报截止", "due_at": "2026-10-15T17:00", "remind": ["2d", "1d"]}
    published = publish_policy(park.as_(CLERK), park.draft(deadlines=[deadline]))
    runtime = replace(park.runtime, _queue=park.dispatch)

    park.time_source.advance(timedelta(days=2))  # both reminders fall due meanwhile
    assert scan_deadline_reminders(runtime) == []
    assert send_reach_ladders(runtime) == []
    refresh_reach(runtime)
    followed = refresh_open_policies(runtime.sessions, now=park.time_source.now(), days=90)
    assert park.count(Trigger) == 0 and followed == 0
    approve(park.as_(APPROVER), published.approval_id)
    assert park.count(Trigger) >= 1
