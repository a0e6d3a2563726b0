"""The connect-time guard (notifier.channels.netguard) against real sockets on 127.0.0.1; no mocks
of
requests. Where DNS must lie (rebinding), only netguard's view of ``socket`` is replaced."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from pydantic import SecretStr

from notifier.channels import netguard
from notifier.channels.base import Message, ProviderEnvironment
from notifier.channels.sms import SmsGatewayProvider
from notifier.channels.sources import sms_config, webhook_config
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.config import SmsSettings, WebhookSettings
from notifier.errors import PermanentError, TransientError

from support.peers import LOOPBACK, SilentPeer, SmsGateway, TlsFiles, make_tls_files

SMS_KEY = "test-app-key"
SMS_SECRET = "test-app-secret"
LOOPBACK_ALLOWED = ["127.0.0.0/8"]
PUBLIC_ADDRESS = "93.184.216.34"
GATEWAY_NAME = "gateway.sms.test"


class KeepAliveSmsGateway(SmsGateway):
    """The SMS gateway over HTTP/1.1 keep-alive (optionally TLS), counting TCP connections."""

    def __init__(self, *, tls: TlsFiles | None = None) -> None:
        super().__init__(key=SMS_KEY, secret=SMS_SECRET)
        self.connections = 0
        self._count_lock = threading.Lock()
        gateway = self

        class Handler(self._server.RequestHandlerClass):  # type: ignore[name-defined,misc]
            protocol_version = "HTTP/1.1"  # the peers' default, HTTP/1.0, closes every time

            def setup(self) -> None:
                with gateway._count_lock:
                    gateway.connections += 1
                super().setup()

        self._server.RequestHandlerClass = Handler
        if tls:
            self._server.socket = tls.server_context().wrap_socket(
                self._server.socket, server_side=True
            )
        self.scheme = "https" if tls else "http"

    @property
    def port(self) -> int:
        return urlsplit(super().url).port or 0

    def url_for(self, host: str = LOOPBACK) -> str:
        return f"{self.scheme}://{host}:{self.port}{self.path}"


@pytest.fixture
def gateway() -> Iterator[KeepAliveSmsGateway]:
    with KeepAliveSmsGateway() as peer:
        yield peer


def message(number: int = 1) -> Message:
    return Message(
        delivery_id=number,
        idempotency_key=f"policy:7:enterprise:91330206MA2AXXXX1X:sms:{number}",
        to="+8613800138000",
        text="【北仑企服】关于2024年度高新技术企业认定申报的通知，截止日期6月30日。",
    )


def sms_channel(
    url: str, *, allowed: list[str] | None = None, session: requests.Session | None = None
) -> SmsGatewayProvider:
    settings = SmsSettings(
        provider="http", url=url, app_key=SMS_KEY, app_secret=SecretStr(SMS_SECRET), timeout=5.0
    )
    allowed = LOOPBACK_ALLOWED if allowed is None else allowed
    environment = ProviderEnvironment(allowed_provider_targets=tuple(allowed))
    return SmsGatewayProvider.from_config(
        sms_config(settings), environment=environment, session=session
    )


def trusting(ca: Path) -> requests.Session:
    """A session that trusts ``ca`` (REQUESTS_CA_BUNDLE in the environment would win)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca)
    return session


def guarded_session(allowed: list[str], *, verify: Path | None = None) -> requests.Session:
    session = trusting(verify) if verify else requests.Session()
    return netguard.guard_session(session, allowed=allowed)


def lying_dns(monkeypatch: pytest.MonkeyPatch, *answers: str | Exception) -> list[str]:
    """Make netguard's getaddrinfo give ``answers`` in turn; return the hosts it was asked."""
    asked: list[str] = []
    queue = list(answers)

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[Any]:
        asked.append(host)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, port))]

    # Only netguard's namespace: requests, urllib3 and the peers keep the real resolver.
    fake_socket = SimpleNamespace(**{**vars(socket), "getaddrinfo": getaddrinfo})
    monkeypatch.setattr(netguard, "socket", fake_socket)
    return asked


# --- refusals at connect time --------------------------------------------------------------


def test_a_loopback_target_is_refused_when_connecting_even_without_check_url(
    gateway: KeepAliveSmsGateway,
) -> None:
    session = guarded_session(allowed=[])
    with pytest.raises(netguard.TargetRefused, match="127.0.0.1 resolves to loopback address"):
        session.post(gateway.url_for(), data=b"{}")
    assert gateway.connections == 0


def test_an_allowed_loopback_target_is_reached_through_the_guard(
    gateway: KeepAliveSmsGateway,
) -> None:
    response = guarded_session(LOOPBACK_ALLOWED).post(gateway.url_for(), data=b"{}")
    assert response.status_code == 401  # the gateway itself answered: unsigned request
    assert gateway.connections == 1


@pytest.mark.parametrize(
    ("allowed", "reached"),
    [([], False), (["localhost"], True), (["127.0.0.0/8", "::1/128"], True)],
)
def test_a_name_resolving_to_loopback_is_refused_when_connecting_unless_allowed(
    gateway: KeepAliveSmsGateway, allowed: list[str], reached: bool
) -> None:
    session = guarded_session(allowed)
    if reached:
        assert session.post(gateway.url_for("localhost"), data=b"{}").status_code == 401
    else:
        with pytest.raises(netguard.TargetRefused, match="localhost resolves to loopback"):
            session.post(gateway.url_for("localhost"), data=b"{}")
    assert gateway.connections == int(reached)


def test_dns_rebinding_between_check_and_connect_is_refused(
    monkeypatch: pytest.MonkeyPatch, gateway: KeepAliveSmsGateway
) -> None:
    # check_url sees a public address; the connection, resolving again, gets loopback.
    asked = lying_dns(monkeypatch, PUBLIC_ADDRESS, LOOPBACK)
    channel = sms_channel(gateway.url_for(GATEWAY_NAME), allowed=[])
    with pytest.raises(PermanentError, match=f"{GATEWAY_NAME} resolves to loopback address"):
        channel.send(message())
    assert asked == [GATEWAY_NAME, GATEWAY_NAME]
    assert gateway.connections == 0
    assert gateway.messages == []


def test_a_dns_failure_when_connecting_is_transient(
    monkeypatch: pytest.MonkeyPatch, gateway: KeepAliveSmsGateway
) -> None:
    lying_dns(monkeypatch, PUBLIC_ADDRESS, socket.gaierror(socket.EAI_AGAIN, "try again"))
    channel = sms_channel(gateway.url_for(GATEWAY_NAME), allowed=[])
    with pytest.raises(TransientError, match=f"connection error talking to {GATEWAY_NAME}"):
        channel.send(message())


def test_a_request_through_a_proxy_is_refused(gateway: KeepAliveSmsGateway) -> None:
    session = guarded_session(LOOPBACK_ALLOWED)
    proxies = {"http": gateway.url_for()}
    with pytest.raises(netguard.TargetRefused, match="proxy"):
        session.post("http://hooks.enterprise.test/", data=b"{}", proxies=proxies)
    assert gateway.connections == 0


def test_post_refuses_a_session_without_the_guard(gateway: KeepAliveSmsGateway) -> None:
    with pytest.raises(PermanentError, match="no connection guard"):
        netguard.post(
            requests.Session(),
            gateway.url_for(),
            allowed=LOOPBACK_ALLOWED,
            data=b"{}",
            headers={},
            timeout=5.0,
        )
    assert gateway.connections == 0


ChannelFactory = Callable[[requests.Session], object]


@pytest.mark.parametrize(
    "make_channel",
    [
        lambda session: sms_channel("http://127.0.0.1/", session=session),
        lambda session: StandardWebhooksProvider.from_config(
            webhook_config(
                WebhookSettings(
                    provider="http", secret=SecretStr("whsec_dGVzdC1zZWNyZXQ="), timeout=5.0
                )
            ),
            environment=ProviderEnvironment(),
            session=session,
        ),
    ],
    ids=["sms", "webhook"],
)
def test_channels_mount_the_guard_on_a_session_they_are_given(
    make_channel: ChannelFactory,
) -> None:
    session = requests.Session()
    make_channel(session)
    for url in ("http://hooks.enterprise.test/", "https://hooks.enterprise.test/"):
        assert isinstance(session.get_adapter(url), netguard.GuardedAdapter)


# --- what urllib3 passes is honoured ---------------------------------------------------------


def test_the_connection_applies_timeout_source_address_and_socket_options() -> None:
    with SilentPeer() as peer:
        connection = netguard.GuardedHTTPConnection(
            peer.host,
            peer.port,
            allow_list=netguard.AllowList.parse(LOOPBACK_ALLOWED),
            timeout=2.5,
            source_address=("127.0.0.2", 0),
            socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)],
        )
        connection.connect()
        try:
            assert connection.sock is not None
            assert connection.sock.gettimeout() == 2.5
            assert connection.sock.getsockname()[0] == "127.0.0.2"
            assert connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        finally:
            connection.close()


# --- TLS -----------------------------------------------------------------------------------


def test_tls_to_a_name_connects_to_the_vetted_address_and_verifies_the_name(
    tls_files: TlsFiles,
) -> None:
    with KeepAliveSmsGateway(tls=tls_files) as peer:
        session = guarded_session(LOOPBACK_ALLOWED, verify=tls_files.ca)
        assert session.post(peer.url_for("localhost"), data=b"{}").status_code == 401


def test_tls_checks_the_certificate_against_the_name_not_the_address(
    monkeypatch: pytest.MonkeyPatch, tls_files: TlsFiles
) -> None:
    # The certificate names 127.0.0.1 and localhost; the URL names another host at 127.0.0.1.
    lying_dns(monkeypatch, LOOPBACK)
    with KeepAliveSmsGateway(tls=tls_files) as peer:
        session = guarded_session(LOOPBACK_ALLOWED, verify=tls_files.ca)
        with pytest.raises(requests.exceptions.SSLError, match="match"):
            session.post(peer.url_for(GATEWAY_NAME), data=b"{}")


def test_tls_to_a_server_from_an_untrusted_ca_fails(tmp_path: Path, tls_files: TlsFiles) -> None:
    other_ca = make_tls_files(tmp_path / "other", ca_name="some other CA").ca
    with KeepAliveSmsGateway(tls=tls_files) as peer:
        session = guarded_session(LOOPBACK_ALLOWED, verify=other_ca)
        with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
            session.post(peer.url_for(), data=b"{}")


# --- pooling -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_two_sms_sends_through_one_channel_use_one_connection(
    tls_files: TlsFiles, scheme: str
) -> None:
    with KeepAliveSmsGateway(tls=tls_files if scheme == "https" else None) as peer:
        session = trusting(tls_files.ca)
        channel = sms_channel(peer.url_for(), session=session)  # mounts the guard on it
        try:
            first = channel.send(message(1))
            second = channel.send(message(2))
        finally:
            session.close()
    assert [first.provider_message_id, second.provider_message_id] == ["gw-1", "gw-2"]
    assert peer.connections == 1


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:3fff:fdd2",  # Teredo, server 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::a00:1",
    ],
)
def test_ipv6_forms_embedding_a_non_public_ipv4_are_refused(address: str) -> None:
    with pytest.raises(netguard.TargetRefused, match="refused"):
        netguard.check_url(f"http://[{address}]/", allowed=[])


@pytest.mark.parametrize(
    "address", ["2002:808:808::", "::ffff:8.8.8.8", "64:ff9b::808:808", "2606:4700:4700::1111"]
)
def test_ipv6_forms_embedding_a_public_ipv4_are_not_refused(address: str) -> None:
    netguard.AllowList.parse([]).vet("host", [netguard.plain_ip(address)])
