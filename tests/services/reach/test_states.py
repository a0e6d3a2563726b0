"""A firm's reach state follows its deliveries, receipts, page events and staff calls, and
never goes back once the firm acted."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifier.domain.reach import CallOutcome, call_outcome
from notifier.domain.time_source import ManualTime
from notifier.inputs.firm_answers import Question
from notifier.inputs.policy_file import parse_policy
from notifier.services.deadlines.operations import mark_done, report
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.retention import purge
from notifier.services.policies.publishing import publish_policy
from notifier.services.reach import calls, events
from notifier.services.reach.report import policy_reach
from notifier.services.reach.states import refresh_open_policies
from notifier.store import enterprises as enterprise_store
from notifier.store import reach as reach_events
from notifier.store import reach_states
from notifier.store.models import Delivery, PolicyReach
from notifier.store.receipts import apply_receipt

from support.factories import (
    Enqueued,
    Firm,
    acting,
    credit_code,
    enter_plain_years,
    policy,
    send_batch,
)
from support.web_harness import seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def runtime(make_runtime, database_url):
    built = make_runtime(database_url=database_url, time_source=ManualTime(MONDAY))
    # 1: SMS and email; 2: no channel at all; 3: SMS only; 4: not in the policy's sector.
    seed(
        built,
        [Firm(1, channels="sms;email"), Firm(2, channels=""), Firm(3, channels="sms"),
         Firm(4, sectors="F5191")],
    )  # fmt: skip
    enter_plain_years(built, 2031)
    return built


def _published(runtime) -> int:
    """Publish a policy due in a week and send it (fan-out and sending, in this process)."""
    queue = Enqueued(on_batch=lambda ids: send_batch(runtime, ids))
    context = acting(runtime, queue)
    draft = parse_policy(
        policy(ref="reach", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]),
        zone=runtime.settings.zone,
    )
    published = publish_policy(context, draft)
    fan_out(runtime.sessions, queue, published.trigger_id, settings=runtime.settings.delivery)
    return published.policy_id


def _firm(runtime, number: int) -> int:
    with runtime.sessions() as session:
        return enterprise_store.get_by_credit_code(session, credit_code(number)).id


def _state(runtime, policy_id: int, number: int) -> tuple[str, bool]:
    with runtime.sessions() as session:
        row = reach_states.get(session, policy_id, _firm(runtime, number))
        assert row is not None, f"firm {number} has a reach row"
        return row.state, row.question_open


def _receipt(runtime, policy_id: int, number: int, channel: str, status: str) -> None:
    with runtime.sessions.begin() as session:
        delivery = (
            session.query(Delivery)
            .filter_by(policy_id=policy_id, enterprise_id=_firm(runtime, number), channel=channel)
            .one()
        )
        assert apply_receipt(
            session, provider=delivery.provider, provider_message_id=delivery.provider_message_id,
            status=status,
        )  # fmt: skip


def test_states_follow_deliveries_and_receipts_and_never_undo_what_a_firm_did(runtime):
    policy_id = _published(runtime)
    assert _state(runtime, policy_id, 1) == ("sent", False)
    assert _state(runtime, policy_id, 2) == ("unreachable", False)  # no channel
    assert _state(runtime, policy_id, 3) == ("sent", False)
    with runtime.sessions() as session:
        assert reach_states.get(session, policy_id, _firm(runtime, 4)) is None  # not for it

    _receipt(runtime, policy_id, 3, "sms", "delivered")
    assert _state(runtime, policy_id, 3)[0] == "delivered"
    # Firm 1's SMS failed on the operator's side; its email still went: still sent.
    _receipt(runtime, policy_id, 1, "sms", "failed")
    assert _state(runtime, policy_id, 1)[0] == "sent"

    context = acting(runtime)
    events.confirm(context, policy_id, _firm(runtime, 1))
    assert _state(runtime, policy_id, 1)[0] == "confirmed"
    # A late failure report for the email does not take back what the firm did.
    _receipt(runtime, policy_id, 1, "email", "failed")
    events.record_opened(context, policy_id, _firm(runtime, 1))
    assert _state(runtime, policy_id, 1)[0] == "confirmed"


def test_a_failed_only_message_makes_the_firm_unreachable(runtime):
    policy_id = _published(runtime)
    _receipt(runtime, policy_id, 3, "sms", "failed")
    assert _state(runtime, policy_id, 3)[0] == "unreachable"


def test_a_question_stays_open_until_a_call_answers_it(runtime):
    policy_id = _published(runtime)
    firm = _firm(runtime, 3)
    context = acting(runtime)
    events.ask(context, policy_id, firm, Question("材料是否需要原件？", "13800138000"))
    assert _state(runtime, policy_id, 3) == ("question", True)
    assert calls.log_call(context, policy_id, firm, CallOutcome.NO_ANSWER).question_open
    assert _state(runtime, policy_id, 3) == ("question", True)
    logged = calls.log_call(context, policy_id, firm, call_outcome("已电话告知"), "已解答")
    assert (logged.state, logged.question_open) == ("confirmed", False)
    with runtime.sessions() as session:
        kinds = [e.kind for e in reach_events.of_firm(session, policy_id=policy_id,
                                                       enterprise_id=firm)]  # fmt: skip
    assert kinds.count("call") == 2


def test_a_wrong_number_makes_a_firm_that_has_not_acted_unreachable(runtime):
    policy_id = _published(runtime)
    context = acting(runtime)
    _receipt(runtime, policy_id, 3, "sms", "delivered")
    calls.log_call(context, policy_id, _firm(runtime, 3), CallOutcome.WRONG_NUMBER, "空号")
    assert _state(runtime, policy_id, 3)[0] == "unreachable"
    # A firm that confirmed stays confirmed whatever a call finds.
    events.confirm(context, policy_id, _firm(runtime, 1))
    calls.log_call(context, policy_id, _firm(runtime, 1), CallOutcome.WRONG_NUMBER)
    assert _state(runtime, policy_id, 1)[0] == "confirmed"
    # 不适用 by phone.
    calls.log_call(context, policy_id, _firm(runtime, 2), call_outcome("不适用"))
    assert _state(runtime, policy_id, 2)[0] == "not_applicable"


def test_call_outcomes_are_read_in_chinese_or_as_codes_and_others_refused():
    assert call_outcome("无人接听") is CallOutcome.NO_ANSWER
    assert call_outcome(" needs_help ") is CallOutcome.NEEDS_HELP
    with pytest.raises(ValueError, match="outcome"):
        call_outcome("打过了")


def test_the_report_counts_confirmed_before_the_first_deadline(runtime):
    policy_id = _published(runtime)
    context = acting(runtime)
    events.confirm(context, policy_id, _firm(runtime, 1))
    runtime.time_source.advance(timedelta(days=10))  # past the deadline
    events.confirm(context, policy_id, _firm(runtime, 3))
    report = policy_reach(context, policy_id).as_json()
    assert report["firms"] == 3
    assert report["states"]["confirmed"] == 2 and report["states"]["unreachable"] == 1
    assert report["confirmed_before_deadline"] == 1
    assert report["share_confirmed_before_deadline"] == round(1 / 3, 4)
    community = report["communities"][0]
    assert community["name"] == "灵峰工业社区" and community["firms"] == 3


def test_retention_purges_page_and_call_events_but_keeps_the_states(runtime):
    policy_id = _published(runtime)
    context = acting(runtime)
    events.ask(context, policy_id, _firm(runtime, 1), Question("何时受理？", "13800138000"))
    runtime.time_source.advance(timedelta(days=200))
    purged = purge(runtime.sessions, days=180, time_source=runtime.time_source)
    assert purged.reach_events == 2  # the question and the view it implies
    with runtime.sessions() as session:
        assert reach_events.of_firm(session, policy_id=policy_id,
                                    enterprise_id=_firm(runtime, 1)) == []  # fmt: skip
    assert _state(runtime, policy_id, 1) == ("question", True)


def test_staff_marking_a_deadline_done_for_a_firm_makes_it_done(runtime):
    policy_id = _published(runtime)
    deadline_id = report(acting(runtime))[0]["id"]
    assert mark_done(acting(runtime), deadline_id, credit_code(3))
    assert _state(runtime, policy_id, 3)[0] == "done"


def test_the_clock_makes_rows_for_an_older_policy_and_catches_deliveries_no_send_recorded(runtime):
    policy_id = _published(runtime)
    firm = _firm(runtime, 3)
    with runtime.sessions.begin() as session:
        # As a policy published before reach was kept: no rows; and firm 3's SMS failed by
        # a path that records no send (the sweeper gives up on a stuck one).
        session.query(PolicyReach).filter_by(policy_id=policy_id).delete()
        session.query(Delivery).filter_by(policy_id=policy_id, enterprise_id=firm).update(
            {"status": "failed"}
        )
    assert refresh_open_policies(runtime.sessions, now=runtime.time_source.now(), days=90) == 1
    assert _state(runtime, policy_id, 1)[0] == "sent"
    assert _state(runtime, policy_id, 2)[0] == "unreachable"
    assert _state(runtime, policy_id, 3)[0] == "unreachable"
