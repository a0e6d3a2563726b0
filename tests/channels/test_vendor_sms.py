"""Alibaba Cloud and Tencent Cloud SMS against loopback vendors that check signatures as
documented (tests/support/vendor_peers.py), and against the vendors' own SDK signers."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from notifier.channels import aliyun, tencent
from notifier.channels.base import Message, Provider, ProviderConfig, ProviderEnvironment
from notifier.channels.registry import build_providers
from notifier.domain.channel_names import SMS
from notifier.errors import (
    ConfigError,
    InputError,
    PermanentError,
    TemplateError,
    ThrottledError,
    TransientError,
)

from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    KINDS,
    SECRET_ID,
    SECRET_KEY,
    TENCENT_TEMPLATES,
)
from support.vendor_peers import INVALID, SERVER_ERROR, THROTTLED, AliyunSmsPeer, TencentSmsPeer

CONTEXT = {
    "enterprise": {"name": "宁波港机械有限公司", "credit_code": "91330206MA2AXXXX1X"},
    "policy": {"title": "高新技术企业认定申报", "department": "区科技局"},
    "deadline": None,
}


def environment(kinds: tuple[str, ...] = KINDS) -> ProviderEnvironment:
    return ProviderEnvironment(allowed_provider_targets=("127.0.0.0/8",), message_kinds=kinds)


def aliyun_config(endpoint: str, **changes: Any) -> ProviderConfig:
    options = {"access_key_id": KEY_ID, "sign_name": "北仑企服", "endpoint": endpoint,
               "templates": ALIYUN_TEMPLATES, "timeout": 5}
    secrets = {"access_key_secret": changes.pop("secret", KEY_SECRET)}
    options.update(changes)
    return ProviderConfig(name="ali", channel=SMS, kind="aliyun-sms", options=options,
                          secrets=secrets)


def tencent_config(endpoint: str, **changes: Any) -> ProviderConfig:
    options = {"secret_id": SECRET_ID, "sms_sdk_app_id": "1400000001", "sign_name": "北仑企服",
               "endpoint": endpoint, "templates": TENCENT_TEMPLATES, "timeout": 5}
    secrets = {"secret_key": changes.pop("secret", SECRET_KEY)}
    options.update(changes)
    return ProviderConfig(name="tx", channel=SMS, kind="tencent-sms", options=options,
                          secrets=secrets)


def build(config: ProviderConfig, kinds: tuple[str, ...] = KINDS) -> Provider:
    [provider] = build_providers([config], environment=environment(kinds)).for_channel(SMS)
    return provider


def send(provider: Provider, to: str, kind: str = "policy_published") -> Any:
    composed = provider.compose_message(kind, CONTEXT, "unused free text", to=to)
    message = Message(delivery_id=1, idempotency_key=f"k:{to}", to=to, text=composed.text,
                      payload=dict(composed.payload or {}))
    return provider.send(message)


@pytest.fixture
def aliyun_peer() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
        yield peer


@pytest.fixture
def tencent_peer() -> Iterator[TencentSmsPeer]:
    with TencentSmsPeer(keys={SECRET_ID: SECRET_KEY}) as peer:
        yield peer


@pytest.fixture(params=["aliyun", "tencent"])
def vendor(request: pytest.FixtureRequest) -> Iterator[tuple[Provider, Any]]:
    """Each vendor kind, built against its loopback peer."""
    if request.param == "aliyun":
        with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
            provider = build(aliyun_config(peer.url))
            yield provider, peer
    else:
        with TencentSmsPeer(keys={SECRET_ID: SECRET_KEY}) as peer:
            provider = build(tencent_config(peer.url))
            yield provider, peer
    provider.close()


# --- against the loopback vendors ---------------------------------------------------------


def test_aliyun_sends_a_signed_templated_sms_the_vendor_accepts(aliyun_peer: AliyunSmsPeer) -> None:
    provider = build(aliyun_config(aliyun_peer.url))
    result = send(provider, "+8613800138000")
    assert (result.provider, result.provider_message_id) == ("ali", "biz-1")
    [sent] = aliyun_peer.sent
    assert sent["PhoneNumbers"] == "13800138000"
    assert sent["SignName"] == "北仑企服"
    assert sent["TemplateCode"] == "SMS_460001"
    assert json.loads(sent["TemplateParam"]) == {
        "name": "宁波港机械有限公司", "department": "区科技局", "title": "高新技术企业认定申报"
    }
    assert len(sent["OutId"]) == 32  # the delivery's stable message id


def test_tencent_sends_a_signed_templated_sms_the_vendor_accepts(
    tencent_peer: TencentSmsPeer,
) -> None:
    provider = build(tencent_config(tencent_peer.url))
    result = send(provider, "13800138000")
    assert (result.provider, result.provider_message_id) == ("tx", "serial-1")
    [sent] = tencent_peer.sent
    assert sent["PhoneNumberSet"] == ["+8613800138000"]
    assert (sent["SmsSdkAppId"], sent["SignName"], sent["TemplateId"]) == (
        "1400000001", "北仑企服", "2100001"
    )
    assert sent["TemplateParamSet"] == ["区科技局", "高新技术企业认定申报"]


def test_a_wrong_secret_is_refused_by_the_vendor_as_a_permanent_error(
    aliyun_peer: AliyunSmsPeer, tencent_peer: TencentSmsPeer
) -> None:
    wrong_ali = build(aliyun_config(aliyun_peer.url, secret="not-the-secret"))
    with pytest.raises(PermanentError, match="SignatureDoesNotMatch"):
        send(wrong_ali, "13800138000")
    wrong_tx = build(tencent_config(tencent_peer.url, secret="not-the-secret"))
    with pytest.raises(PermanentError, match="AuthFailure.SignatureFailure"):
        send(wrong_tx, "13800138000")
    unknown = build(aliyun_config(aliyun_peer.url, access_key_id="LTAIunknown"))
    with pytest.raises(PermanentError, match="InvalidAccessKeyId.NotFound"):
        send(unknown, "13800138000")
    assert aliyun_peer.sent == [] and tencent_peer.sent == []


def test_vendor_answers_map_to_throttled_permanent_and_transient(
    vendor: tuple[Provider, Any],
) -> None:
    provider, peer = vendor
    with pytest.raises(ThrottledError) as throttled:
        send(provider, THROTTLED)
    assert isinstance(throttled.value, TransientError)  # retried later, like any transient
    with pytest.raises(PermanentError):
        send(provider, INVALID)
    with pytest.raises(TransientError) as server:
        send(provider, SERVER_ERROR)
    assert not isinstance(server.value, ThrottledError)
    assert send(provider, "13800138000").provider_message_id
    assert len(peer.sent) == 1


def test_many_sends_reuse_one_connection(vendor: tuple[Provider, Any]) -> None:
    provider, peer = vendor
    for n in range(5):
        send(provider, f"1380013800{n}")
    assert len(peer.sent) == 5
    assert len(set(peer.client_ports)) == 1  # one connection carried all five


def test_a_loopback_endpoint_is_refused_unless_allowed(aliyun_peer: AliyunSmsPeer) -> None:
    config = aliyun_config(aliyun_peer.url)
    [provider] = build_providers(
        [config], environment=ProviderEnvironment(message_kinds=KINDS)
    ).for_channel(SMS)
    with pytest.raises(PermanentError, match="127.0.0.1"):
        send(provider, "13800138000")
    assert aliyun_peer.sent == []


# --- composing: the text the phone shows --------------------------------------------------


def test_a_reach_ladder_resend_without_its_own_template_sends_the_publications() -> None:
    provider = build(aliyun_config("https://dysmsapi.aliyuncs.com"))
    resent = provider.compose_message("policy_resent", CONTEXT, "ignored", to=None)
    published = provider.compose_message("policy_published", CONTEXT, "ignored", to=None)
    assert resent.text == published.text and resent.payload == published.payload


def test_preview_text_is_the_approved_template_filled_and_signed() -> None:
    provider = build(aliyun_config("https://dysmsapi.aliyuncs.com"))
    composed = provider.compose_message("policy_published", CONTEXT, "ignored", to=None)
    assert composed.text == (
        "【北仑企服】宁波港机械有限公司：区科技局发布《高新技术企业认定申报》，请登录政务网查看。回TD退订"
    )
    assert composed.sms_count is not None
    assert (composed.sms_count.length, composed.sms_count.parts) == (len(composed.text), 1)
    tx = build(tencent_config("https://sms.tencentcloudapi.com"))
    long_title = {**CONTEXT, "policy": {**CONTEXT["policy"], "title": "关于" * 20}}
    text = tx.compose_message("policy_published", long_title, "x", to="13800138000").text
    assert text == "【北仑企服】区科技局发布《关于关于关于关于关于关…》，请登录政务网查看。回TD退订"


def test_a_parameter_over_the_vendors_limit_is_a_template_error_naming_it() -> None:
    provider = build(aliyun_config("https://dysmsapi.aliyuncs.com"))
    long_name = {**CONTEXT, "enterprise": {"name": "很长的企业名称" * 6}}
    with pytest.raises(TemplateError, match=r"policy_published\.name.*42.*35"):
        provider.compose_message("policy_published", long_name, "x", to=None)


def test_a_kind_in_use_without_a_template_is_a_config_error_at_start() -> None:
    only_one = {"policy_published": ALIYUN_TEMPLATES["policy_published"]}
    with pytest.raises(ConfigError, match="no template for deadline_reminder"):
        build(aliyun_config("https://dysmsapi.aliyuncs.com", templates=only_one))
    mismatched = {**ALIYUN_TEMPLATES, "policy_published": {
        **ALIYUN_TEMPLATES["policy_published"], "params": {"name": "{{ enterprise.name }}"}}}
    with pytest.raises(ConfigError, match="templates.policy_published"):
        build(aliyun_config("https://dysmsapi.aliyuncs.com", templates=mismatched))
    bad_syntax = {**TENCENT_TEMPLATES, "deadline_reminder": {
        **TENCENT_TEMPLATES["deadline_reminder"], "params": {"1": "{{ deadline.title", "2": "x"}}}
    with pytest.raises(ConfigError, match="templates.deadline_reminder"):
        build(tencent_config("https://sms.tencentcloudapi.com", templates=bad_syntax))


def test_free_text_and_bad_numbers_are_refused_before_any_request() -> None:
    provider = build(aliyun_config("https://dysmsapi.aliyuncs.com"))
    with pytest.raises(TemplateError, match="approved templates only"):
        provider.compose("hello", to=None)
    with pytest.raises(InputError, match="not a phone number"):
        send(provider, "not-a-number")


def test_secrets_are_never_in_repr_or_errors(aliyun_peer: AliyunSmsPeer) -> None:
    provider = build(aliyun_config(aliyun_peer.url, secret="wrong-but-secret-value"))
    with pytest.raises(PermanentError) as caught:
        send(provider, "13800138000")
    assert "wrong-but-secret-value" not in str(caught.value) + repr(provider)
    with pytest.raises(ConfigError) as config_error:
        build(aliyun_config("https://x.example.cn", timeout=-1))
    assert KEY_SECRET not in str(config_error.value)


# --- the same signatures as the vendors' SDKs ----------------------------------------------


def _sdk(module: str) -> Any:
    try:
        return __import__(module, fromlist=["*"])
    except ImportError:
        if os.environ.get("CI"):
            raise  # in the test extra: it must be there under CI
        pytest.skip(f"{module} is not installed (pip install -e '.[test]' installs it)")


def test_aliyun_signature_equals_the_sdk_signers() -> None:
    utils = _sdk("alibabacloud_tea_openapi.utils")
    query = {"PhoneNumbers": "13800138000", "SignName": "北仑企服", "TemplateCode": "SMS_1",
             "TemplateParam": '{"title":"高新 技术~申报"}', "OutId": "abc"}
    headers = {"host": "dysmsapi.aliyuncs.com", "x-acs-action": "SendSms",
               "x-acs-version": "2017-05-25", "x-acs-date": "2026-11-25T09:00:00Z",
               "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
               "x-acs-content-sha256": aliyun.EMPTY_SHA256}
    request = SimpleNamespace(pathname="/", method="POST", query=query, headers=headers)
    expected = utils.Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", aliyun.EMPTY_SHA256, KEY_ID, KEY_SECRET
    )
    ours = aliyun.authorization(
        method="POST", path="/", query=query, headers=headers,
        payload_sha256=aliyun.EMPTY_SHA256, access_key_id=KEY_ID, access_key_secret=KEY_SECRET,
    )
    assert ours == expected


def test_tencent_signature_equals_the_sdk_signers() -> None:
    credential = _sdk("tencentcloud.common.credential")
    sms_client = _sdk("tencentcloud.sms.v20210111.sms_client")
    request_module = _sdk("tencentcloud.common.http.request")
    client = sms_client.SmsClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou")
    request = request_module.RequestInternal("sms.tencentcloudapi.com", "POST", "/")
    params = {"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400000001",
              "SignName": "北仑企服", "TemplateId": "2100001", "TemplateParamSet": ["区科技局"]}
    client._build_req_with_tc3_signature("SendSms", params, request)
    ours = tencent.authorization(
        method="POST", path="/", query="", content_type=request.header["Content-Type"],
        host=request.header["Host"], body=request.data.encode("utf-8"),
        timestamp=int(request.header["X-TC-Timestamp"]), secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
    )
    assert ours == request.header["Authorization"]


def test_the_empty_body_hash_is_the_documented_one() -> None:
    assert aliyun.EMPTY_SHA256 == hashlib.sha256(b"").hexdigest() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_unknown_codes_follow_the_http_status(tmp_path: Path) -> None:
    assert aliyun.CODES.outcome("isv.SOMETHING_NEW") == "permanent"
    assert aliyun.CODES.outcome("Brand.New", status=502) == "transient"
    assert tencent.CODES.outcome("LimitExceeded.AppDailyLimit") == "throttled"
    assert tencent.CODES.outcome("InternalError.SomethingElse") == "transient"
    assert tencent.CODES.outcome("LimitExceeded.PhoneNumberCountLimit") == "permanent"


@pytest.mark.parametrize(("code", "message", "seconds", "next_day", "meaning"), [
    ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", 60, False, "per-minute limit"),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", 3600, False, "hourly limit"),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", None, True, "for this number"),
    ("isv.DAY_LIMIT_CONTROL", "触发日发送限额", None, True, "the account's daily limit"),
])
def test_aliyun_throttles_wait_for_the_window_they_name(
    aliyun_peer: AliyunSmsPeer, code: str, message: str, seconds: float | None,
    next_day: bool, meaning: str,
) -> None:
    aliyun_peer.refuse["13800138000"] = (code, message)
    with pytest.raises(ThrottledError) as caught:
        send(build(aliyun_config(aliyun_peer.url)), "13800138000")
    assert (caught.value.retry_after, caught.value.next_day) == (seconds, next_day)
    assert meaning in caught.value.reason and code in caught.value.reason


@pytest.mark.parametrize(("code", "seconds", "next_day"), [
    ("LimitExceeded.PhoneNumberThirtySecondLimit", 30, False),
    ("LimitExceeded.PhoneNumberOneHourLimit", 3600, False),
    ("LimitExceeded.PhoneNumberDailyLimit", None, True),
    ("LimitExceeded.PhoneNumberSameContentDailyLimit", None, True),
    ("LimitExceeded.AppDailyLimit", None, True),
    ("RequestLimitExceeded", None, False),  # the API's own rate: backoff
])
def test_tencent_throttles_wait_for_the_window_they_name(
    tencent_peer: TencentSmsPeer, code: str, seconds: float | None, next_day: bool
) -> None:
    tencent_peer.refuse["13800138000"] = (code, "limit")
    with pytest.raises(ThrottledError) as caught:
        send(build(tencent_config(tencent_peer.url)), "13800138000")
    assert (caught.value.retry_after, caught.value.next_day) == (seconds, next_day)


def test_a_barred_country_is_permanent_not_throttled() -> None:
    assert tencent.CODES.outcome("LimitExceeded.AppCountryOrRegionInBlacklist") == "permanent"
    assert aliyun.CODES.outcome("isv.MONTH_LIMIT_CONTROL") == "permanent"
    assert aliyun.CODES.outcome("Brand.New", status=429) == "throttled"
