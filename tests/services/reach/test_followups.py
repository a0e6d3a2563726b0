"""The follow-up list (回访名单): for a community, exactly the firms an open policy has not
reached (unreachable), has not opened within the working-day window, or that asked a
question, by nearest deadline then firm name; a logged call moves a firm out or keeps it in
as its outcome says."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from notifier.cli.policies import embedded_worker
from notifier.domain.time_source import ManualTime
from notifier.errors import InputError, NotFoundError
from notifier.inputs.firm_answers import Question
from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.progress import follow
from notifier.services.policies.publishing import publish_policy
from notifier.services.reach import events
from notifier.services.reach.calls import log_call
from notifier.services.reach.followups import firm_id, followups, read_outcome
from notifier.store import enterprises as enterprise_store

from support.factories import REGION, Firm, acting, credit_code, enter_plain_years, policy
from support.web_harness import seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)
WEDNESDAY = datetime(2031, 3, 5, 9, 0, tzinfo=SHANGHAI)
THURSDAY = datetime(2031, 3, 6, 9, 0, tzinfo=SHANGHAI)  # 3 working days after Monday
STREET = REGION.rsplit("/", 1)[0]  # 大碶街道
ELSEWHERE = f"{STREET}/新碶工业社区"
OTHER_STREET = "浙江省/宁波市/北仑区/小港街道/渡头社区"


def publish_and_send(runtime, **fields) -> int:
    """Publish a policy and send it for real (the embedded worker, outbox providers)."""
    draft = parse_policy(policy(**fields), zone=runtime.settings.zone)
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=60)
    return published.policy_id


def firm(runtime, number: int) -> int:
    with runtime.sessions() as session:
        enterprise = enterprise_store.get_by_credit_code(session, credit_code(number))
        assert enterprise is not None
        return enterprise.id


@pytest.fixture
def district(make_runtime, database_url):
    """Firms 1, 3, 4, 6 reachable and 2 with no channel in 灵峰工业社区; 5 (no channel) in
    another community of the street, 7 (no channel) in another street. Two policies: one due
    on 10 March, one with no deadline; firm 3 opened both, firm 4 asked about the first."""
    clock = ManualTime(MONDAY)
    runtime = make_runtime(database_url=database_url, time_source=clock)
    seed(
        runtime,
        [Firm(1), Firm(2, channels=""), Firm(3), Firm(4), Firm(5, channels="", region=ELSEWHERE),
         Firm(6), Firm(7, channels="", region=OTHER_STREET)],
    )  # fmt: skip
    enter_plain_years(runtime, 2031)
    far = publish_and_send(runtime, ref="far", title="数字化改造奖励")
    near = publish_and_send(
        runtime, ref="near", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]
    )
    context = acting(runtime)
    for policy_id in (near, far):
        events.record_opened(context, policy_id, firm(runtime, 3))
    events.ask(context, near, firm(runtime, 4), Question("二手设备可以申报吗？", "13800001234"))
    return runtime, clock, near, far


def listed(runtime, community: str | None = REGION, policy_id: int | None = None):
    items = followups(acting(runtime), community, policy_id, size=1000).page.rows
    return [(item.policy.id, item.firm["credit_code"], item.reasons) for item in items]


def test_on_publication_day_only_the_unreachable_and_the_question_are_listed(district):
    runtime, _, near, far = district
    assert listed(runtime, "灵峰工业社区") == [
        (near, credit_code(2), ["unreachable"]),
        (near, credit_code(4), ["question"]),
        (far, credit_code(2), ["unreachable"]),
    ]


def test_three_working_days_on_the_firms_that_have_not_opened_join_by_deadline(district):
    runtime, clock, near, far = district
    clock.set(WEDNESDAY)
    assert len(listed(runtime)) == 3  # two working days: not yet
    clock.set(THURSDAY)
    assert listed(runtime) == [
        (near, credit_code(1), ["not_opened"]),
        (near, credit_code(2), ["unreachable"]),
        (near, credit_code(4), ["question"]),
        (near, credit_code(6), ["not_opened"]),
        (far, credit_code(1), ["not_opened"]),
        (far, credit_code(2), ["unreachable"]),
        (far, credit_code(4), ["not_opened"]),
        (far, credit_code(6), ["not_opened"]),
    ]
    assert listed(runtime, policy_id=far) == listed(runtime)[4:]
    # Firms 5 and 7 are of other communities: a street covers its communities, not others.
    street = {code for _, code, _ in listed(runtime, "大碶街道")}
    assert credit_code(5) in street and credit_code(7) not in street
    assert {code for _, code, _ in listed(runtime, None)} >= {credit_code(5), credit_code(7)}


def test_each_item_carries_the_contacts_the_attempts_and_the_question(district):
    runtime, clock, near, _ = district
    clock.set(THURSDAY)
    log_call(acting(runtime), near, firm(runtime, 1), read_outcome("无人接听"), "下午再打")
    items = followups(acting(runtime), REGION, near).page.rows
    first, asked = items[0], items[2]
    assert first.firm["name"] == "测试企业1有限公司" and first.policy.ref == "near"
    assert first.policy.deadline is not None
    assert first.contacts["sms"] == ["+8613800000001"]
    assert first.contacts["email"] == ["firm1@example.cn"]
    assert sorted(d.channel for d in first.deliveries) == ["email", "sms", "webhook"]
    assert {d.status for d in first.deliveries} == {"sent"}
    assert [(c.outcome, c.note) for c in first.calls] == [("no_answer", "下午再打")]
    assert first.calls[0].by.startswith("cli:")
    assert asked.question is not None and asked.question.callback == "13800001234"
    assert asked.as_json()["question"]["text"] == "二手设备可以申报吗？"
    assert items[1].deliveries == [] and items[1].state == "unreachable"


def test_a_logged_call_moves_the_firm_out_or_keeps_it_in_as_its_outcome_says(district):
    runtime, clock, near, far = district
    clock.set(THURSDAY)
    context = acting(runtime)
    for number, policy_id, word in [
        (1, near, "已电话告知"),
        (6, near, "不适用"),
        (4, near, "informed"),  # answers the question
        (1, far, "无人接听"),
        (6, far, "号码错误"),
        (4, far, "需要帮助"),
    ]:
        log_call(context, policy_id, firm(runtime, number), read_outcome(word))
    assert listed(runtime) == [
        (near, credit_code(2), ["unreachable"]),
        (far, credit_code(1), ["not_opened"]),
        (far, credit_code(2), ["unreachable"]),
        (far, credit_code(4), ["question"]),
        (far, credit_code(6), ["unreachable"]),
    ]


def test_bad_input_is_refused_naming_the_field(district):
    runtime, _, near, _ = district
    with pytest.raises(InputError) as outcome:
        read_outcome("打过了")
    assert outcome.value.field == "outcome" and "打过了" in str(outcome.value)
    with pytest.raises(InputError) as community:
        followups(acting(runtime), "没有这个社区")
    assert community.value.field == "community" and str(community.value).startswith("community:")
    with pytest.raises(NotFoundError):
        followups(acting(runtime), None, 999)
    with pytest.raises(NotFoundError):
        firm_id(acting(runtime), "91330206MA2999999X")
    assert firm_id(acting(runtime), credit_code(4)) == firm_id(
        acting(runtime), str(firm(runtime, 4))
    )
