"""The follow-up list (回访名单): for a community, exactly the firms an open policy has not
reached (unreachable), has not opened within the working-day window, or that asked a
question, by nearest deadline then firm name; a logged call moves a firm out or keeps it in
as its outcome says."""

from __future__ import annotations

import pytest

from notifier.domain.time_source import ManualTime
from notifier.errors import InputError, NotFoundError
from notifier.services.reach.calls import log_call
from notifier.services.reach.followups import firm_id, followups, read_outcome

from support.factories import acting, credit_code
from support.reach import MONDAY, REGION, THURSDAY, WEDNESDAY, seed_district
from support.reach import firm_id as firm_of


@pytest.fixture
def district(make_runtime, database_url):
    clock = ManualTime(MONDAY)
    runtime = make_runtime(database_url=database_url, time_source=clock)
    near, far = seed_district(runtime)
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
    log_call(acting(runtime), near, firm_of(runtime, 1), read_outcome("无人接听"), "下午再打")
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
        log_call(context, policy_id, firm_of(runtime, number), read_outcome(word))
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
        acting(runtime), str(firm_of(runtime, 4))
    )
