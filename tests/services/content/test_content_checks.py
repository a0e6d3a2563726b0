"""Content rules before anything is stored or sent: a forbidden word, an unfilled variable or a
link to an unlisted domain refuses a policy, a correction or a campaign with the place named;
a sensitive word is a warning and the policy still goes out. Marketing (营销) messages carry the
opt-out text once and wait for the marketing hours; notices do neither; each delivery carries
its class. The clock is moved, nothing sleeps."""

from __future__ import annotations

import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.errors import ContentRefused
from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.clock import scan_campaign_runs
from notifier.services.campaigns.operations import create_campaign
from notifier.services.campaigns.preview import preview_draft
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.corrections import revise
from notifier.services.policies.preview import preview_policy
from notifier.services.policies.publishing import publish_policy
from notifier.store.models import Campaign, Deadline, Delivery, Policy, Trigger
from notifier.store.triggers import message_class_of

from support.factories import Enqueued, Firm, acting, enterprise_csv, policy, send_batch

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTENT = {
    "forbidden_words": ["最高级", "稳赚"],
    "sensitive_words": ["补贴"],
    "link_domains": ["gov.cn"],
}


def at(text: str) -> datetime:
    """A local time in Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def runtime(database_url, make_runtime):
    time_source = ManualTime(at("2026-12-01 10:00"))
    built = make_runtime(database_url=database_url, time_source=time_source, content=CONTENT)
    firms = [Firm(1, channels="sms;email"), Firm(2, channels="sms")]
    import_enterprises(built.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    return built


def stored_policies(runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Policy))


def refused(runtime, **fields) -> ContentRefused:
    draft = parse_policy(policy(**fields), zone=SHANGHAI)
    with pytest.raises(ContentRefused) as caught:
        publish_policy(acting(runtime, Enqueued()), draft)
    assert stored_policies(runtime) == 0  # refused before anything is stored or queued
    return caught.value


def test_a_forbidden_word_refuses_the_policy_naming_the_field_the_word_and_its_place(runtime):
    error = refused(runtime, title="全区最高级别的技术改造补助")

    assert error.field == "title"
    assert "最高级" in str(error) and "第 3 个字符" in str(error)
    (finding,) = [f for f in error.findings if f["refuses"]]
    assert finding["code"] == "forbidden_word" and finding["place"] == "title"
    assert finding["word"] == "最高级" and finding["offset"] == 2
    assert "全区最高级别的" in finding["excerpt"]


def test_an_unfilled_variable_refuses_the_policy(runtime):
    error = refused(runtime, summary="请{{企业名称}}于月底前申报。")

    assert error.field == "summary"
    (finding,) = error.findings
    assert finding["code"] == "placeholder" and finding["word"] == "{{企业名称}}"
    assert finding["offset"] == 1


def test_a_link_to_an_unlisted_domain_refuses_the_policy_and_a_gov_cn_subdomain_does_not(runtime):
    error = refused(runtime, body="详见 https://www.bl.gov.cn/a 或 http://bit.ly/x9 了解。")

    assert error.field == "body"
    (finding,) = error.findings
    assert finding["code"] == "link_domain" and finding["word"] == "bit.ly"
    assert "bit.ly" in str(error) and "gov.cn" in str(error)


def test_a_sensitive_word_is_a_warning_in_the_preview_and_the_policy_still_publishes(runtime):
    draft = parse_policy(policy(summary="设备投资补贴按10%发放。"), zone=SHANGHAI)
    context = acting(runtime, Enqueued())

    shown = preview_policy(context, draft)
    (warning,) = shown.content
    assert warning["code"] == "sensitive_word" and not warning["refuses"]
    assert warning["place"] == "summary" and warning["word"] == "补贴"
    assert shown.as_dict()["content"][0]["message"].startswith("summary: 含敏感词“补贴”")

    published = publish_policy(context, draft)
    assert published.created and stored_policies(runtime) == 1


def test_a_correction_with_a_forbidden_word_is_refused_and_the_policy_is_kept(runtime):
    context = acting(runtime, Enqueued())
    publish_policy(context, parse_policy(policy(ref="p-1"), zone=SHANGHAI))
    worse = parse_policy(policy(ref="p-1", summary="稳赚不赔的补助"), zone=SHANGHAI)

    with pytest.raises(ContentRefused, match="稳赚") as caught:
        revise(context, worse, notify=True)

    assert caught.value.field == "summary"
    with runtime.sessions() as session:
        assert session.scalars(select(Policy.summary)).one() == "按设备投资额的10%给予补助。"


def test_an_sms_over_the_parts_limit_is_refused(database_url, make_runtime):
    runtime = make_runtime(database_url=database_url, content={"sms_max_parts": 1})
    draft = parse_policy(policy(title="技术改造" * 20), zone=SHANGHAI)

    with pytest.raises(ContentRefused) as caught:
        publish_policy(acting(runtime, Enqueued()), draft)

    codes = {(f["code"], f["place"]) for f in caught.value.findings}
    assert ("sms_parts", "sms") in codes


# --- campaigns -----------------------------------------------------------------------------------


def campaign_file(**fields) -> dict:
    data = {
        "name": "spring-fair",
        "title": "春季产销对接会",
        "channels": ["短信"],
        "targets": {"sectors": ["C36"]},
        "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}报名中"}},
        "schedule": {"once_at": "2026-12-01T21:00", "timezone": "Asia/Shanghai"},
    }
    data.update(fields)
    return data


def drafted(runtime, **fields):
    return parse_campaign(campaign_file(**fields), zone=SHANGHAI, now=runtime.time_source.now())


def test_a_campaign_template_printing_an_empty_link_is_refused_and_nothing_stored(runtime):
    sms = {"body": "{{ campaign.title }}，详见 {{ campaign.url }}"}
    draft = drafted(runtime, templates={"sms": sms})
    context = acting(runtime, Enqueued())

    shown = preview_draft(context, draft)  # the form's preview shows it before saving
    assert [f["code"] for f in shown.content if f["refuses"]] == ["empty_variable"]
    with pytest.raises(ContentRefused, match="campaign.url") as caught:
        create_campaign(context, draft)

    assert caught.value.field == "templates.sms"
    assert caught.value.findings[0]["excerpt"].endswith("{{ campaign.url }}")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_campaign_with_a_forbidden_word_in_its_text_is_refused(runtime):
    draft = drafted(runtime, templates={"sms": {"body": "稳赚好项目：{{ campaign.title }}"}})

    with pytest.raises(ContentRefused) as caught:
        create_campaign(acting(runtime, Enqueued()), draft)

    (finding,) = caught.value.findings
    assert (finding["place"], finding["word"], finding["offset"]) == ("sms", "稳赚", 6)


def run_campaign(runtime, when: str) -> list[Delivery]:
    """Scan the clock at ``when``, fan the run out and send its batches; the deliveries."""
    runtime.time_source.set(at(when))
    (run,) = scan_campaign_runs(runtime)
    queued = Enqueued(on_batch=lambda ids: send_batch(runtime, ids))
    fan_out(runtime.sessions, queued, run, settings=runtime.settings.delivery)
    return deliveries(runtime)


def deliveries(runtime) -> list[Delivery]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def sent_texts(runtime) -> list[str]:
    outbox = sorted((runtime.settings.outbox_dir / "sms").glob("*.json"))
    return [json.loads(path.read_text("utf-8"))["text"] for path in outbox]


def test_a_marketing_campaign_due_at_2100_sends_nothing_until_0800_and_then_carries_the_opt_out(
    runtime,
):
    create_campaign(acting(runtime), drafted(runtime, message_class="营销"))

    rows = run_campaign(runtime, "2026-12-01 21:00")

    assert [(d.message_class, d.status, d.attempts) for d in rows] == [
        ("marketing", "deferred", 0), ("marketing", "deferred", 0),
    ]  # fmt: skip
    assert {d.next_attempt_at for d in rows} == {at("2026-12-02 08:00")}
    assert all("营销时段" in d.last_error for d in rows)
    assert sent_texts(runtime) == []
    runtime.time_source.set(at("2026-12-02 07:59"))
    send_batch(runtime, [d.id for d in rows])
    assert sent_texts(runtime) == []

    runtime.time_source.set(at("2026-12-02 08:00"))
    send_batch(runtime, [d.id for d in rows])

    assert {d.status for d in deliveries(runtime)} == {"sent"}
    texts = sent_texts(runtime)
    assert len(texts) == 2
    assert all(text.endswith("报名中拒收请回复R") for text in texts)
    assert all(text.count("拒收请回复R") == 1 for text in texts)


def test_a_marketing_template_that_has_the_opt_out_carries_it_once(runtime):
    sms = {"body": "{{ campaign.title }}报名中，拒收请回复R"}
    create_campaign(
        acting(runtime),
        drafted(runtime, message_class="marketing", templates={"sms": sms},
                schedule={"once_at": "2026-12-01T10:00"}),
    )  # fmt: skip

    run_campaign(runtime, "2026-12-01 10:00")

    texts = sent_texts(runtime)
    assert len(texts) == 2 and all(text.count("拒收请回复R") == 1 for text in texts)


def test_a_notice_campaign_at_2100_goes_out_without_the_opt_out(runtime):
    create_campaign(acting(runtime), drafted(runtime))  # a notice: the default

    rows = run_campaign(runtime, "2026-12-01 21:00")

    assert [(d.message_class, d.status) for d in rows] == [("notice", "sent"), ("notice", "sent")]
    assert all("拒收" not in text for text in sent_texts(runtime))


def test_a_marketing_policy_puts_its_class_on_every_delivery_and_the_preview_counts_the_opt_out(
    runtime,
):
    draft = parse_policy(policy(message_class="营销"), zone=SHANGHAI)
    notice = parse_policy(policy(), zone=SHANGHAI)
    context = acting(runtime, Enqueued())
    marketing_sms = preview_policy(context, draft).renderings["sms"]
    notice_sms = preview_policy(context, notice).renderings["sms"]
    assert marketing_sms.text.endswith("拒收请回复R") and "拒收" not in notice_sms.text
    assert marketing_sms.sms_length == notice_sms.sms_length + len("拒收请回复R")

    published = publish_policy(context, draft)
    queued = Enqueued()
    fan_out(runtime.sessions, queued, published.trigger_id, settings=runtime.settings.delivery)

    rows = deliveries(runtime)
    assert len(rows) == 3 and {d.message_class for d in rows} == {"marketing"}
    with runtime.sessions() as session:
        assert session.get(Policy, published.policy_id).message_class == "marketing"


def test_changing_only_the_class_is_a_correction_of_that_field(runtime):
    context = acting(runtime, Enqueued())
    publish_policy(context, parse_policy(policy(ref="p-2"), zone=SHANGHAI))

    revised = revise(
        context, parse_policy(policy(ref="p-2", message_class="营销"), zone=SHANGHAI),
        notify=False,
    )  # fmt: skip

    assert revised.new and list(revised.changed) == ["message_class"]
    with runtime.sessions() as session:
        assert session.scalars(select(Policy.message_class)).one() == "marketing"


def test_a_reminder_a_correction_and_a_campaign_run_take_their_own_class():
    marketing = Policy(message_class="marketing")
    assert message_class_of(Trigger(deadline=Deadline(policy=marketing))) == "marketing"
    assert message_class_of(Trigger(policy=marketing)) == "marketing"
    assert message_class_of(Trigger(campaign=Campaign(message_class="marketing"))) == "marketing"
    assert message_class_of(Trigger()) == "notice"
