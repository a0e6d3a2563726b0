"""Providers against real protocol peers on 127.0.0.1 (see tests/peers.py); no mocks."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from notifier.channels import netguard
from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.dryrun import DryRunProvider
from notifier.channels.email import SmtpProvider
from notifier.channels.registry import build_providers, load_provider_kinds
from notifier.channels.sms import SmsGatewayProvider
from notifier.channels.sources import environment_from_settings, provider_configs_from_settings
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.config import load_settings
from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.errors import ConfigError, PermanentError, TransientError

from peers import (
    SilentPeer,
    SmsGateway,
    SmtpPeer,
    TlsFiles,
    WebhookReceiver,
    closed_port,
    make_tls_files,
)

SMS_KEY = "test-app-key"
SMS_SECRET = "test-app-secret"
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1mb3ItY2hhbm5lbHM="
OTHER_WEBHOOK_SECRET = "whsec_YW5vdGhlci1zZWNyZXQtdGhlLXJlY2VpdmVyLWRvZXMtbm90LWtub3c="
SENDER = "北仑企服 <noreply@notifier.test>"
LOOPBACK_ALLOWED = ["127.0.0.0/8"]
SHORT_TIMEOUT = 0.3
TlsSecurity = Literal["starttls", "ssl"]


def make_message(**changes: object) -> Message:
    values: dict[str, object] = {
        "delivery_id": 42,
        "idempotency_key": "policy:7:enterprise:91330206MA2AXXXX1X:sms",
        "to": "+8613800138000",
        "text": "【北仑企服】关于2024年度高新技术企业认定申报的通知，截止日期6月30日。",
    }
    values.update(changes)
    return Message(**values)  # type: ignore[arg-type]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    with SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as gateway:
        yield gateway


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def silent_peer() -> Iterator[SilentPeer]:
    with SilentPeer() as peer:
        yield peer


def loopback(allowed: list[str] | None = None) -> ProviderEnvironment:
    targets = LOOPBACK_ALLOWED if allowed is None else allowed
    return ProviderEnvironment(
        allowed_provider_targets=tuple(targets),
        allowed_webhook_targets=tuple(f"{target}:*" for target in targets),  # peers' any port
    )


def sms_provider_for(
    url: str, *, secret: str = SMS_SECRET, allowed: list[str] | None = None, timeout: float = 5.0
) -> SmsGatewayProvider:
    config = ProviderConfig(
        name="sms-gateway",
        channel=SMS,
        kind="sms-gateway",
        options={"url": url, "app_key": SMS_KEY, "timeout": timeout},
        secrets={"app_secret": secret},
    )
    return SmsGatewayProvider.from_config(config, environment=loopback(allowed))


def email_provider_for(
    host: str, port: int, *, timeout: float = 5.0, password: str | None = None, **options: object
) -> SmtpProvider:
    config = ProviderConfig(
        name="smtp",
        channel=EMAIL,
        kind="smtp",
        options={"host": host, "port": port, "sender": SENDER, "timeout": timeout, **options},
        secrets={} if password is None else {"password": password},
    )
    return SmtpProvider.from_config(config, environment=ProviderEnvironment())


def webhook_provider_for(
    *, secret: str = WEBHOOK_SECRET, allowed: list[str] | None = None, timeout: float = 5.0
) -> StandardWebhooksProvider:
    config = ProviderConfig(
        name="standard-webhooks",
        channel=WEBHOOK,
        kind="standard-webhooks",
        options={"timeout": timeout},
        secrets={"secret": secret},
    )
    return StandardWebhooksProvider.from_config(config, environment=loopback(allowed))


@pytest.fixture
def sms_provider(sms_gateway: SmsGateway) -> Iterator[SmsGatewayProvider]:
    channel = sms_provider_for(sms_gateway.url)
    yield channel
    channel.close()


@pytest.fixture
def email_provider(smtp_peer: SmtpPeer) -> Iterator[SmtpProvider]:
    channel = email_provider_for(
        smtp_peer.host, smtp_peer.port, unsubscribe_mailto="unsubscribe@notifier.test"
    )
    yield channel
    channel.close()


@pytest.fixture
def webhook_provider() -> Iterator[StandardWebhooksProvider]:
    channel = webhook_provider_for()
    yield channel
    channel.close()


def email_message(**changes: object) -> Message:
    values: dict[str, object] = {
        "idempotency_key": "policy:7:enterprise:91330206MA2AXXXX1X:email",
        "to": "张经理 <manager@enterprise.test>",
        "subject": "关于2024年度高新技术企业认定申报的通知",
        "text": "尊敬的企业：请于6月30日前完成申报。",
        "html": "<p>尊敬的企业：请于<b>6月30日</b>前完成申报。</p>",
        "unsubscribe_url": "https://notifier.test/unsubscribe/" + "t0k3n" * 20,
    }
    values.update(changes)
    return make_message(**values)


def webhook_message(url: str, **changes: object) -> Message:
    values: dict[str, object] = {
        "idempotency_key": "policy:7:enterprise:91330206MA2AXXXX1X:webhook",
        "to": url,
        "text": "",
        "payload": {"type": "policy.published", "title": "高新技术企业认定", "sectors": ["C36"]},
    }
    values.update(changes)
    return make_message(**values)


# --- SMS -----------------------------------------------------------------------------------


def test_sms_gateway_verifies_signature_and_records_chinese_text_with_out_id(
    sms_gateway: SmsGateway, sms_provider: SmsGatewayProvider
) -> None:
    message = make_message()
    result = sms_provider.send(message)
    assert result.provider == "sms-gateway"
    assert result.provider_message_id == "gw-1"
    assert sms_gateway.messages == [
        {"to": "+8613800138000", "text": message.text, "out_id": message.message_id}
    ]


def test_sms_gateway_rejects_a_wrong_secret_as_permanent(sms_gateway: SmsGateway) -> None:
    channel = sms_provider_for(sms_gateway.url, secret="not-the-gateway-secret")
    with pytest.raises(PermanentError, match="bad_signature"):
        channel.send(make_message())
    assert sms_gateway.messages == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_sms_rate_limit_and_server_errors_are_transient_and_a_retry_succeeds(
    sms_gateway: SmsGateway, sms_provider: SmsGatewayProvider, status: int
) -> None:
    sms_gateway.fail_next(status, body={"code": "busy", "message": "稍后再试"})
    with pytest.raises(TransientError, match=str(status)):
        sms_provider.send(make_message())
    assert sms_provider.send(make_message()).provider_message_id == "gw-1"


def test_sms_client_error_is_permanent_with_the_gateway_reason(
    sms_gateway: SmsGateway, sms_provider: SmsGatewayProvider
) -> None:
    sms_gateway.fail_next(400, body={"code": "invalid_mobile", "message": "号码格式错误"})
    with pytest.raises(PermanentError) as caught:
        sms_provider.send(make_message())
    assert "400" in caught.value.reason
    assert "invalid_mobile 号码格式错误" in caught.value.reason


def test_sms_gateway_error_text_is_trimmed_to_200_characters(
    sms_gateway: SmsGateway, sms_provider: SmsGatewayProvider
) -> None:
    sms_gateway.fail_next(422, body={"code": "too_long", "message": "长" * 1000})
    with pytest.raises(PermanentError) as caught:
        sms_provider.send(make_message())
    assert len(caught.value.reason) < 250
    assert caught.value.reason.endswith("长" * 50)


def test_sms_timeout_is_transient(silent_peer: SilentPeer) -> None:
    channel = sms_provider_for(silent_peer.url, timeout=SHORT_TIMEOUT)
    with pytest.raises(TransientError, match="timeout"):
        channel.send(make_message())


def test_sms_refused_connection_is_transient() -> None:
    channel = sms_provider_for(f"http://127.0.0.1:{closed_port()}/v1/sms")
    with pytest.raises(TransientError, match="connection"):
        channel.send(make_message())


def test_sms_gateway_on_a_loopback_address_is_refused_unless_allowed(
    sms_gateway: SmsGateway,
) -> None:
    channel = sms_provider_for(sms_gateway.url, allowed=[])
    with pytest.raises(PermanentError, match="loopback"):
        channel.send(make_message())
    assert sms_gateway.messages == []


# --- email ---------------------------------------------------------------------------------


def test_smtp_server_receives_chinese_subject_text_and_html(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    message = email_message()
    email_provider.send(message)
    [mail] = smtp_peer.messages
    assert mail.mail_from == "noreply@notifier.test"
    assert mail.rcpt_tos == ["manager@enterprise.test"]
    assert mail.message["Subject"] == message.subject
    assert str(mail.message["From"]) == SENDER
    plain = mail.message.get_body(preferencelist=("plain",))
    html = mail.message.get_body(preferencelist=("html",))
    assert plain is not None and message.text in plain.get_content()
    assert html is not None and "<b>6月30日</b>" in html.get_content()


def test_email_carries_message_id_and_one_click_list_unsubscribe(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    message = email_message()
    result = email_provider.send(message)
    headers = smtp_peer.messages[0].message
    assert headers["Message-ID"] == f"<{message.message_id}@notifier.test>"
    assert result.provider == "smtp"
    assert result.provider_message_id == headers["Message-ID"]
    # The long URL must arrive whole, not folded into encoded words.
    assert headers["List-Unsubscribe"] == (
        f"<{message.unsubscribe_url}>, <mailto:unsubscribe@notifier.test?subject=unsubscribe>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_email_without_unsubscribe_link_has_no_list_unsubscribe_headers(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    email_provider.send(email_message(unsubscribe_url=None, html=None))
    mail = smtp_peer.messages[0].message
    assert mail["List-Unsubscribe"] is None
    assert mail["List-Unsubscribe-Post"] is None
    assert mail.get_content_type() == "text/plain"


def test_email_refused_recipient_is_permanent_with_the_server_reply(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    smtp_peer.fail_next("550 5.1.1 mailbox unavailable")
    with pytest.raises(PermanentError, match="550: 5.1.1 mailbox unavailable"):
        email_provider.send(email_message())
    assert smtp_peer.messages == []


def test_email_greylisted_recipient_is_transient_and_a_retry_succeeds(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    smtp_peer.fail_next("451 4.7.1 greylisted, try again later")
    with pytest.raises(TransientError, match="451"):
        email_provider.send(email_message())
    email_provider.send(email_message())
    assert len(smtp_peer.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_logs_in_when_a_username_is_set() -> None:
    with SmtpPeer(credentials=("relay-user", "relay-pass")) as peer:
        good = email_provider_for(
            peer.host, peer.port, username="relay-user", password="relay-pass"
        )
        good.send(email_message())
        wrong = email_provider_for(
            peer.host, peer.port, username="relay-user", password="wrong"
        )
        with pytest.raises(PermanentError, match="535"):
            wrong.send(email_message())
        assert len(peer.messages) == 1


def test_email_timeout_is_transient(silent_peer: SilentPeer) -> None:
    channel = email_provider_for(silent_peer.host, silent_peer.port, timeout=SHORT_TIMEOUT)
    with pytest.raises(TransientError, match="timed out"):
        channel.send(email_message())


def test_email_refused_connection_is_transient() -> None:
    channel = email_provider_for("127.0.0.1", closed_port())
    with pytest.raises(TransientError, match="ConnectionRefusedError"):
        channel.send(email_message())


def test_email_header_injection_is_permanent(email_provider: SmtpProvider) -> None:
    with pytest.raises(PermanentError, match="header"):
        email_provider.send(email_message(subject="通知\r\nBcc: everyone@enterprise.test"))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_reaches_the_relay_and_the_relay_saw_tls(
    tls_files: TlsFiles, security: TlsSecurity
) -> None:
    with SmtpPeer(security=security, tls=tls_files) as peer:
        channel = email_provider_for(peer.host, peer.port, security=security, ca_file=tls_files.ca)
        channel.send(email_message())
        [mail] = peer.messages
    assert mail.rcpt_tos == ["manager@enterprise.test"]
    assert mail.tls_version in {"TLSv1.2", "TLSv1.3"}


def test_email_logs_in_over_starttls_when_the_relay_offers_auth_only_after_it(
    tls_files: TlsFiles,
) -> None:
    peer = SmtpPeer(credentials=("relay-user", "relay-pass"), security="starttls", tls=tls_files)
    with peer:
        channel = email_provider_for(
            peer.host,
            peer.port,
            security="starttls",
            ca_file=tls_files.ca,
            username="relay-user",
            password="relay-pass",
        )
        channel.send(email_message())
        [mail] = peer.messages
    assert mail.tls_version is not None


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_to_a_relay_not_signed_by_the_configured_ca_is_permanent_and_sends_nothing(
    tmp_path: Path, tls_files: TlsFiles, security: TlsSecurity
) -> None:
    other_ca = make_tls_files(tmp_path / "other", ca_name="some other CA").ca
    with SmtpPeer(security=security, tls=tls_files) as peer:
        channel = email_provider_for(peer.host, peer.port, security=security, ca_file=other_ca)
        with pytest.raises(PermanentError, match="certificate not trusted"):
            channel.send(email_message())
        assert peer.messages == []


def test_email_starttls_to_a_relay_without_starttls_fails_instead_of_sending_in_clear(
    smtp_peer: SmtpPeer,
) -> None:
    channel = email_provider_for(smtp_peer.host, smtp_peer.port, security="starttls")
    with pytest.raises(PermanentError, match="STARTTLS"):
        channel.send(email_message())
    assert smtp_peer.messages == []


@pytest.mark.parametrize("content", [None, "not a certificate"])
def test_email_missing_or_unusable_ca_file_is_a_config_error_naming_it(
    tmp_path: Path, content: str | None
) -> None:
    ca_file = tmp_path / "office-ca.pem"
    if content is not None:
        ca_file.write_text(content)
    with pytest.raises(ConfigError, match="provider 'smtp'.*ca_file"):
        email_provider_for("127.0.0.1", 25, security="starttls", ca_file=ca_file)


# --- webhook -------------------------------------------------------------------------------


def test_webhook_receiver_verifies_signature_and_sees_message_id(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider
) -> None:
    message = webhook_message(webhook_receiver.url)
    result = webhook_provider.send(message)
    assert result.provider == "standard-webhooks"
    assert result.provider_message_id == message.message_id
    assert webhook_receiver.received == [(message.message_id, message.payload)]


def test_webhook_body_is_compact_utf8_json(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider
) -> None:
    message = webhook_message(webhook_receiver.url)
    webhook_provider.send(message)
    [body] = webhook_receiver.raw_bodies
    assert "高新技术企业认定".encode() in body
    assert body == json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert webhook_receiver.content_types == ["application/json"]


def test_webhook_receiver_rejects_a_wrong_secret_as_permanent(
    webhook_receiver: WebhookReceiver,
) -> None:
    channel = webhook_provider_for(secret=OTHER_WEBHOOK_SECRET)
    with pytest.raises(PermanentError, match="401"):
        channel.send(webhook_message(webhook_receiver.url))
    assert webhook_receiver.received == []


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_webhook_timeouts_rate_limits_and_server_errors_are_transient(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider, status: int
) -> None:
    webhook_receiver.fail_next(status, body="unavailable")
    with pytest.raises(TransientError, match=f"HTTP {status}"):
        webhook_provider.send(webhook_message(webhook_receiver.url))


@pytest.mark.parametrize("status", [301, 302, 307, 400, 404, 410, 422])
def test_webhook_redirects_and_client_errors_are_permanent(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider, status: int
) -> None:
    webhook_receiver.fail_next(status, body="no such hook")
    with pytest.raises(PermanentError, match=f"HTTP {status}: no such hook"):
        webhook_provider.send(webhook_message(webhook_receiver.url))


def test_webhook_retry_after_a_failure_keeps_the_same_webhook_id(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider
) -> None:
    message = webhook_message(webhook_receiver.url)
    webhook_receiver.fail_next(503)
    with pytest.raises(TransientError):
        webhook_provider.send(message)
    webhook_provider.send(message)
    webhook_provider.send(message)
    assert [webhook_id for webhook_id, _ in webhook_receiver.received] == [message.message_id] * 2


def test_webhook_timeout_is_transient(silent_peer: SilentPeer) -> None:
    channel = webhook_provider_for(timeout=SHORT_TIMEOUT)
    with pytest.raises(TransientError, match="timeout"):
        channel.send(webhook_message(silent_peer.url))


def test_webhook_to_a_loopback_endpoint_is_refused_before_sending(
    webhook_receiver: WebhookReceiver,
) -> None:
    channel = webhook_provider_for(allowed=[])
    with pytest.raises(PermanentError, match="loopback"):
        channel.send(webhook_message(webhook_receiver.url))
    assert webhook_receiver.received == []


# --- netguard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://127.0.0.1:70/", "scheme 'gopher'"),
        ("ftp://127.0.0.1/", "scheme 'ftp'"),
        ("http:///no-host", "no host"),
    ],
)
def test_netguard_refuses_non_public_targets_and_other_schemes(url: str, reason: str) -> None:
    with pytest.raises(PermanentError, match=reason):
        netguard.check_url(url, allowed=[])


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/hook", ["127.0.0.0/8"]),
        ("http://10.0.0.1/hook", ["10.0.0.1"]),
        ("http://169.254.169.254/", ["169.254.0.0/16"]),
        ("https://localhost/hook", ["localhost"]),
        ("http://[::1]/hook", ["::1/128"]),
    ],
)
def test_netguard_lets_an_allowed_host_or_network_through(url: str, allowed: list[str]) -> None:
    netguard.check_url(url, allowed=allowed)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://localhost/"])
def test_netguard_refuses_other_schemes_even_for_allowed_hosts(url: str) -> None:
    with pytest.raises(PermanentError, match="scheme"):
        netguard.check_url(url, allowed=["127.0.0.0/8", "localhost"])


def test_netguard_lets_a_public_address_through() -> None:
    # An address literal: getaddrinfo answers without a lookup, and nothing connects.
    netguard.check_url("https://1.1.1.1/hook", allowed=[])


def test_netguard_dns_failure_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one stand-in: a failing resolver, so the test needs no network.
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(TransientError, match="cannot resolve hooks.enterprise.test"):
        netguard.check_url("https://hooks.enterprise.test/hook", allowed=[])


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_writes_one_file_per_message(tmp_path: Path) -> None:
    channel = DryRunProvider(name="sms-dry-run", channel=SMS, outbox_dir=tmp_path)
    first = make_message()
    second = make_message(delivery_id=43, idempotency_key="policy:7:enterprise:other:sms")
    result = channel.send(first)
    channel.send(second)
    files = sorted(path.name for path in (tmp_path / "sms").iterdir())
    assert files == sorted([f"{first.message_id}.json", f"{second.message_id}.json"])
    assert result.provider == "sms-dry-run"
    assert result.provider_message_id == first.message_id
    record = json.loads((tmp_path / "sms" / f"{first.message_id}.json").read_text("utf-8"))
    assert record["text"] == first.text
    assert record["to"] == first.to
    assert record["idempotency_key"] == first.idempotency_key
    assert record["message_id"] == first.message_id
    assert {"subject", "html", "payload"} <= record.keys()


def test_dry_run_repeated_send_leaves_one_file(tmp_path: Path) -> None:
    channel = DryRunProvider(name="email-dry-run", channel=EMAIL, outbox_dir=tmp_path)
    message = email_message()
    channel.send(message)
    channel.send(message)
    assert [path.name for path in (tmp_path / "email").iterdir()] == [f"{message.message_id}.json"]


# --- registry ------------------------------------------------------------------------------


def test_registry_finds_the_four_kinds_through_entry_points() -> None:
    kinds = load_provider_kinds()
    assert kinds["sms-gateway"] is SmsGatewayProvider
    assert kinds["smtp"] is SmtpProvider
    assert kinds["standard-webhooks"] is StandardWebhooksProvider
    assert kinds["dry-run"] is DryRunProvider


def first_provider_of_each_channel(settings) -> dict:
    providers = build_providers(
        provider_configs_from_settings(settings), environment=environment_from_settings(settings)
    )
    return {channel: providers.for_channel(channel)[0] for channel in (SMS, EMAIL, WEBHOOK)}


def test_default_settings_give_dry_run_providers_writing_to_the_outbox(tmp_path: Path) -> None:
    settings = load_settings(config_dir=tmp_path, var_dir=tmp_path / "var")
    channels = first_provider_of_each_channel(settings)
    assert {name: type(channel) for name, channel in channels.items()} == {
        SMS: DryRunProvider,
        EMAIL: DryRunProvider,
        WEBHOOK: DryRunProvider,
    }
    message = make_message()
    channels[SMS].send(message)
    assert (settings.outbox_dir / SMS / f"{message.message_id}.json").is_file()


def test_configured_sections_give_their_providers(
    tmp_path: Path, sms_gateway: SmsGateway, smtp_peer: SmtpPeer
) -> None:
    settings = load_settings(
        config_dir=tmp_path,
        var_dir=tmp_path / "var",
        allowed_provider_targets=LOOPBACK_ALLOWED,
        sms={
            "provider": "http",
            "url": sms_gateway.url,
            "app_key": SMS_KEY,
            "app_secret": SMS_SECRET,
        },
        email={"provider": "smtp", "host": smtp_peer.host, "port": smtp_peer.port},
        webhook={"provider": "http", "secret": WEBHOOK_SECRET},
    )
    channels = first_provider_of_each_channel(settings)
    assert isinstance(channels[SMS], SmsGatewayProvider)
    assert isinstance(channels[EMAIL], SmtpProvider)
    assert isinstance(channels[WEBHOOK], StandardWebhooksProvider)
    channels[SMS].send(make_message())
    channels[EMAIL].send(email_message())
    assert len(sms_gateway.messages) == 1
    assert len(smtp_peer.messages) == 1
    for channel in channels.values():
        channel.close()


def test_email_sends_one_after_another_over_one_kept_connection(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    for number in range(3):
        email_provider.send(email_message(delivery_id=number))
    assert len(smtp_peer.messages) == 3
    assert len({mail.peer for mail in smtp_peer.messages}) == 1


def test_email_opens_a_new_connection_after_a_refusal_and_still_delivers(
    smtp_peer: SmtpPeer, email_provider: SmtpProvider
) -> None:
    email_provider.send(email_message(delivery_id=1))
    smtp_peer.fail_next("550 5.1.1 no such user")
    with pytest.raises(PermanentError):
        email_provider.send(email_message(delivery_id=2))
    email_provider.send(email_message(delivery_id=3))
    first, last = smtp_peer.messages
    assert first.peer != last.peer


def test_one_enterprise_s_broken_webhook_never_opens_a_circuit_for_everyone_else(
    webhook_receiver: WebhookReceiver, webhook_provider: StandardWebhooksProvider
) -> None:
    from notifier.config import CircuitSettings
    from notifier.errors import TransientError
    from notifier.guards.backends import MemoryBackend
    from notifier.guards.circuits import ProviderCircuits
    from notifier.guards.provider_guard import ProviderGuard
    from notifier.guards.provider_limits import NoLimits
    from notifier.services.delivery.failover import route

    guard = ProviderGuard(
        ProviderCircuits(MemoryBackend(), CircuitSettings(failures=2)), NoLimits()
    )
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        broken = f"http://127.0.0.1:{closed.getsockname()[1]}/hooks"
    for _ in range(5):
        routed = route([webhook_provider], lambda p: p.send(webhook_message(broken)),
                       guard=guard, now=time.time())
        assert isinstance(routed.error, TransientError)

    routed = route([webhook_provider], lambda p: p.send(webhook_message(webhook_receiver.url)),
                   guard=guard, now=time.time())

    assert routed.result is not None and routed.open_until is None
    assert len(webhook_receiver.received) == 1
