"""Delivery reports and replies pushed by the SMS vendors: read, checked, applied, never
downgraded; a TD reply stops SMS to the number and the enterprise still gets email."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.channels.receipts import (
    CallbackRefused,
    aliyun_replies,
    aliyun_reports,
    is_stop_word,
    tencent_replies,
    tencent_reports,
)
from notifier.channels.sources import provider_configs_from_settings
from notifier.domain.channel_names import EMAIL, SMS
from notifier.errors import InputError
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.worker import start_worker
from notifier.runtime import Runtime
from notifier.services.delivery.progress import follow
from notifier.services.delivery.receipts import callback_target, handle_replies, handle_reports
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.preview import preview_policy
from notifier.services.policies.publishing import publish
from notifier.store import migrate
from notifier.store.models import Delivery, InboundReply
from notifier.web.app import create_app

from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    Firm,
    acting,
    enterprise_csv,
    policy,
)
from support.vendor_peers import AliyunSmsPeer

TOKEN = "callback-token-0123456789"


# --- reading the vendors' pushes ------------------------------------------------------------


def test_aliyun_reports_and_replies_are_read_as_documented() -> None:
    reports = aliyun_reports(json.dumps([
        {"phone_number": "13800138000", "send_time": "2026-11-25 10:00:00",
         "report_time": "2026-11-25 10:00:08", "success": True, "err_code": "DELIVERED",
         "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "biz-1", "out_id": "abc"},
        {"phone_number": "13800138001", "report_time": "2026-11-25 10:00:09",
         "success": False, "err_code": "MK:0001", "err_msg": "空号", "biz_id": "biz-2"},
    ], ensure_ascii=False).encode()).taken
    assert [(r.provider_message_id, r.status) for r in reports] == [
        ("biz-1", "delivered"), ("biz-2", "failed")]
    assert reports[0].at is not None and reports[0].at.isoformat() == "2026-11-25T10:00:08+08:00"
    assert reports[1].error == "MK:0001 空号"
    [reply] = aliyun_replies(json.dumps([
        {"phone_number": "13800138000", "send_time": "2026-11-25 10:05:00", "content": "TD",
         "sign_name": "北仑企服", "dest_code": "1234", "sequence_id": 1}]).encode()).taken
    assert (reply.phone, reply.text) == ("+8613800138000", "TD")


def test_tencent_reports_and_replies_are_read_as_documented() -> None:
    [ok, failed] = tencent_reports(json.dumps([
        {"user_receive_time": "2026-11-25 10:00:08", "nationcode": "86",
         "mobile": "13800138000", "report_status": "SUCCESS", "errmsg": "DELIVRD",
         "description": "用户短信送达成功", "sid": "serial-1"},
        {"user_receive_time": "2026-11-25 10:00:09", "nationcode": "86",
         "mobile": "13800138001", "report_status": "FAIL", "errmsg": "MI:0013",
         "description": "用户停机", "sid": "serial-2"},
    ]).encode()).taken
    assert (ok.provider_message_id, ok.status, failed.status) == ("serial-1", "delivered", "failed")
    [reply] = tencent_replies(json.dumps({"extend": "", "mobile": "13800138000",
                                          "nationcode": "86", "sign": "北仑企服",
                                          "text": "退订", "time": 1764036000}).encode()).taken
    assert (reply.phone, reply.text) == ("+8613800138000", "退订")
    assert reply.at is not None and reply.at.timestamp() == 1764036000


@pytest.mark.parametrize(
    "text", ["TD", "td", " T ", "退订", "n", "STOP", "Stop", "ＴＤ", "ｓｔｏｐ", "退订\n"]
)
def test_stop_words_whatever_the_case_width_and_spaces(text: str) -> None:
    assert is_stop_word(text)


@pytest.mark.parametrize("text", ["TD退订了吗", "谢谢", "NO", "stopped", ""])
def test_other_replies_are_not_stop_words(text: str) -> None:
    assert not is_stop_word(text)


def test_a_push_that_is_not_the_vendors_shape_names_the_problem() -> None:
    with pytest.raises(InputError, match="not JSON"):
        aliyun_reports(b"<xml/>")
    batch = aliyun_reports(b'[{"biz_id": "1", "success": true}, {"success": true}]')
    assert [r.provider_message_id for r in batch.taken] == ["1"]
    assert [str(r) for r in batch.rejected] == ["第 2 条 record 2: 缺少 biz_id / lacks biz_id"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"report_status": "SUCCESS"}, "缺少 sid / lacks sid"),
        ({"sid": "s\u0000"}, "sid 含控制字符 / sid contains a control character (U+0000 at "
                             "position 2)"),
        ({"sid": ["s"]}, "sid 应为文字或数字 / sid must be text or a number"),
        ({"sid": "x" * 201}, "sid 应为 1-200 个字符 / sid must be 1-200 characters"),
        ({"sid": "s", "errmsg": "\u202e"}, "errmsg 含控制字符 / errmsg contains a control "
                                           "character (U+202E at position 1)"),
        ("serial-9", "应为 JSON 对象 / must be a JSON object"),
    ],
)
def test_a_bad_record_is_rejected_with_its_reason_and_the_others_are_taken(
    record: Any, reason: str
) -> None:
    good = {"sid": "serial-1", "report_status": "SUCCESS", "user_receive_time": "x"}
    batch = tencent_reports(json.dumps([good, record, good]).encode())
    assert [r.provider_message_id for r in batch.taken] == ["serial-1", "serial-1"]
    assert [(r.record, r.reason) for r in batch.rejected] == [(2, reason)]


def test_numbers_of_thousands_of_digits_and_odd_times_reject_only_their_record() -> None:
    digits = "7" * 5000
    body = ('[{"sid": ' + digits + '}, {"sid": 12345678901234567890, "report_status": "FAIL"}]')
    batch = tencent_reports(body.encode())
    assert [r.provider_message_id for r in batch.taken] == ["12345678901234567890"]
    assert batch.rejected[0].reason == "sid 数字过长 / sid is a number of 5000 digits"
    for stamp in (digits, "1" * 12, 10**300, "²", -5, 1.5):
        reply = {"mobile": "13800138000", "text": "收到", "time": stamp}
        [taken] = tencent_replies(json.dumps(reply).encode()).taken
        assert taken.at is None  # a time that is not one: unknown, the reply kept


def test_a_push_over_the_record_limit_is_read_up_to_it_and_the_rest_counted() -> None:
    body = json.dumps([{"biz_id": str(n), "success": True} for n in range(7)]).encode()
    batch = aliyun_reports(body, max_records=5)
    assert ([r.provider_message_id for r in batch.taken], batch.skipped) == (
        ["0", "1", "2", "3", "4"], 2)


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture
def aliyun_peer() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
        yield peer


@pytest.fixture
def system(database_url: str, make_runtime: Any, aliyun_peer: AliyunSmsPeer) -> Iterator[Runtime]:
    """SMS through Alibaba Cloud (loopback), email dry-run, an embedded broker."""
    runtime = make_runtime(
        database_url=database_url,
        providers=[{
            "name": "ali", "channel": SMS, "kind": "aliyun-sms",
            "options": {"access_key_id": KEY_ID, "sign_name": "北仑企服",
                        "endpoint": aliyun_peer.url, "templates": ALIYUN_TEMPLATES},
            "secrets": {"access_key_secret": KEY_SECRET, "callback_token": TOKEN},
        }],
    )
    migrate.upgrade(runtime.settings.database_url)
    firms = [Firm(1, channels="sms;email"), Firm(2, channels="sms;email")]
    report = import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)),
                                dry_run=False)
    assert report.errors == []
    worker = start_worker(runtime.queue.broker, threads=2)
    yield runtime
    worker.stop()


def publish_and_wait(runtime: Runtime, **fields: Any) -> int:
    draft = parse_policy(policy(**fields), zone=runtime.settings.zone)
    result = publish(runtime.sessions, runtime.dispatch, draft)
    assert result.trigger_id is not None
    follow(runtime.sessions, result.trigger_id, show=False, timeout=60)
    return result.trigger_id


def deliveries(runtime: Runtime, trigger_id: int) -> list[Delivery]:
    with runtime.sessions() as session:
        return list(session.scalars(
            select(Delivery).where(Delivery.trigger_id == trigger_id).order_by(Delivery.id)))


def report(biz_id: str, success: bool) -> bytes:
    return json.dumps([{"phone_number": "13800000001", "report_time": "2026-11-25 10:00:08",
                        "success": success, "err_code": "DELIVERED" if success else "MK:1",
                        "err_msg": "", "biz_id": biz_id}]).encode()


def test_a_late_or_repeated_report_never_moves_a_delivered_delivery(system: Runtime) -> None:
    trigger_id = publish_and_wait(system)
    sms = [d for d in deliveries(system, trigger_id) if d.channel == SMS]
    assert [d.status for d in sms] == ["sent", "sent"]
    assert all(d.provider == "ali" and d.provider_message_id for d in sms)
    target = callback_target(provider_configs_from_settings(system.settings), "ali")
    first, second = (d.provider_message_id or "" for d in sms)

    handled = handle_reports(system.sessions, target, token=TOKEN, body=report(first, True))
    assert (handled.received, handled.applied) == (1, 1)
    assert handled.answer == {"code": 0, "msg": "成功"}
    again = handle_reports(system.sessions, target, token=TOKEN, body=report(first, True))
    late = handle_reports(system.sessions, target, token=TOKEN, body=report(first, False))
    assert (again.applied, late.applied) == (0, 0)
    failed = handle_reports(system.sessions, target, token=TOKEN, body=report(second, False))
    unknown = handle_reports(system.sessions, target, token=TOKEN, body=report("nope", True))
    assert (failed.applied, unknown.applied) == (1, 0)

    by_id = {d.provider_message_id: d for d in deliveries(system, trigger_id)}
    assert by_id[first].status == "delivered"
    assert by_id[second].status == "failed"
    assert "MK:1" in (by_id[second].last_error or "")


def test_a_push_without_our_token_changes_nothing(system: Runtime) -> None:
    trigger_id = publish_and_wait(system)
    biz_id = next(d.provider_message_id for d in deliveries(system, trigger_id)
                  if d.channel == SMS)
    target = callback_target(provider_configs_from_settings(system.settings), "ali")
    for token in (None, "", "callback-token-wrong-one"):
        with pytest.raises(CallbackRefused, match="token"):
            handle_reports(system.sessions, target, token=token, body=report(biz_id or "", True))
    assert {d.status for d in deliveries(system, trigger_id) if d.channel == SMS} == {"sent"}
    with pytest.raises(InputError, match="no provider 'sms-gateway'"):
        callback_target(provider_configs_from_settings(system.settings), "sms-gateway")


def test_td_stops_sms_to_that_number_and_the_next_policy_still_reaches_it_by_email(
    system: Runtime,
) -> None:
    target = callback_target(provider_configs_from_settings(system.settings), "ali")
    reply = json.dumps([{"phone_number": "13800000001", "send_time": "2026-11-25 10:05:00",
                         "content": " td ", "sign_name": "北仑企服", "dest_code": "1",
                         "sequence_id": 7}]).encode()
    handled = handle_replies(system.sessions, target, token=TOKEN, body=reply)
    assert (handled.received, handled.applied) == (1, 1)
    handle_replies(system.sessions, target, token=TOKEN, body=reply)  # repeated: harmless
    thanks = json.dumps([{"phone_number": "13800000002", "content": "收到，谢谢"}],
                        ensure_ascii=False).encode()
    assert handle_replies(system.sessions, target, token=TOKEN, body=thanks).applied == 0

    trigger_id = publish_and_wait(system)
    sent = {(d.address, d.channel): d.status for d in deliveries(system, trigger_id)}
    assert sent[("firm1@example.cn", EMAIL)] == "sent"
    assert sent.get(("+8613800000001", SMS)) in (None, "suppressed")  # no SMS to that number
    assert sent[("+8613800000002", SMS)] == "sent"  # the other firm still gets SMS
    with system.sessions() as session:
        replies = session.scalars(select(InboundReply).order_by(InboundReply.id)).all()
        assert [(r.phone, r.text.strip(), r.unsubscribed, r.enterprises) for r in replies] == [
            ("+8613800000001", "td", True, 1),
            ("+8613800000001", "td", True, 1),
            ("+8613800000002", "收到，谢谢", False, 0),
        ]


def test_the_preview_shows_the_vendor_template_as_the_phone_will(system: Runtime) -> None:
    draft = parse_policy(policy(), zone=system.settings.zone)
    shown = preview_policy(acting(system), draft)
    sms = shown.renderings[SMS]
    assert sms.text == (
        "【北仑企服】测试企业1有限公司：北仑区经济和信息化局发布《汽车零部件技术改造补助申报通知》，"
        "请登录政务网查看。回TD退订"
    )
    assert (sms.sms_length, sms.sms_parts) == (len(sms.text), 1)
    assert shown.sms_billed_parts == 2  # two firms, one part each


def test_the_callback_routes_check_the_token_and_answer_as_the_vendor_expects(
    system: Runtime,
) -> None:
    trigger_id = publish_and_wait(system)
    biz_id = next(d.provider_message_id for d in deliveries(system, trigger_id)
                  if d.channel == SMS and d.address == "+8613800000002")
    client = TestClient(create_app(system))
    url = "/callbacks/ali/reports"
    assert client.post(url, content=report(biz_id or "", True)).status_code == 403
    wrong = client.post(url, params={"token": "x" * 20}, content=report(biz_id or "", True))
    assert wrong.status_code == 403 and "token" in wrong.json()["error"]["reason"]
    unknown = client.post("/callbacks/nope/reports", params={"token": TOKEN})
    assert (unknown.status_code, unknown.json()) == (403, wrong.json())
    bad = client.post(url, params={"token": TOKEN}, content=b"not json")
    assert bad.status_code == 400
    ok = client.post(url, params={"token": TOKEN}, content=report(biz_id or "", True))
    assert (ok.status_code, ok.json()) == (200, {"code": 0, "msg": "成功"})
    reply = json.dumps([{"phone_number": "13800000002", "content": "退订"}],
                       ensure_ascii=False).encode()
    answered = client.post("/callbacks/ali/replies", params={"token": TOKEN}, content=reply)
    assert answered.status_code == 200
    statuses = {d.address: d.status for d in deliveries(system, trigger_id) if d.channel == SMS}
    assert statuses["+8613800000002"] == "delivered"
    with system.sessions() as session:
        [stored] = session.scalars(select(InboundReply)).all()
        assert (stored.phone, stored.unsubscribed) == ("+8613800000002", True)


def test_one_bad_record_leaves_the_good_reports_of_its_batch_applied_and_is_named(
    system: Runtime,
) -> None:
    trigger_id = publish_and_wait(system)
    first, second = (d.provider_message_id or "" for d in deliveries(system, trigger_id)
                     if d.channel == SMS)
    good = json.loads(report(first, True)) + json.loads(report(second, False))
    batch = [good[0], {"success": True}, {"biz_id": "biz\u0000", "success": True}, good[1]]
    client = TestClient(create_app(system))
    answer = client.post("/callbacks/ali/reports", params={"token": TOKEN},
                         content=json.dumps(batch).encode())
    # The vendor's success (it would retry a refusal, and lose nothing but the bad records).
    assert answer.status_code == 200
    assert answer.json() == {
        "code": 0, "msg": "成功", "rejected": 2,
        "reasons": ["第 2 条 record 2: 缺少 biz_id / lacks biz_id",
                    "第 3 条 record 3: biz_id 含控制字符 / biz_id contains a control character "
                    "(U+0000 at position 4)"],
    }
    statuses = {d.provider_message_id: d.status for d in deliveries(system, trigger_id)}
    assert (statuses[first], statuses[second]) == ("delivered", "failed")
    only_bad = client.post("/callbacks/ali/reports", params={"token": TOKEN},
                           content=json.dumps(batch[1:3]).encode())
    assert only_bad.status_code == 400
    assert "no usable record" in only_bad.json()["error"]["reason"]
