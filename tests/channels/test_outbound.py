"""Outside parties cannot stall or bloat the sender: answers are bounded in bytes and in total
time, a batch does not wait on its slowest firm, and firms' endpoints have their own
allow-list with ports. Every peer is a real server on 127.0.0.1 (tests/support/hostile_peers.py)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from notifier.channels import netguard
from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.registry import build_providers
from notifier.channels.sources import environment_from_settings, provider_configs_from_settings
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.config import DEV_WEBHOOK_SECRET, load_settings
from notifier.domain.channel_names import SMS, WEBHOOK
from notifier.errors import ConfigError, PermanentError, TransientError
from notifier.store.models import Delivery, DeliveryAttempt

from support.deliveries import fanned_out
from support.factories import Firm, send_batch
from support.hostile_peers import DripPeer, FloodPeer, RecordingEndpoint
from support.peers import SilentPeer, SmsGateway, TlsFiles, free_port
from support.waiting import wait_until

LOOPBACK_ANY_PORT = ("127.0.0.0/8:*",)
DRIP_SECONDS = 1.0  # one byte this often: each read waits far less than the 10 s timeout
DEADLINE = 2.0  # a lone send: cut well before any read timeout could end it
# A batch: room for the five fast firms to be sent and recorded first on a busy machine.
BATCH_DEADLINE = 4.0
DEADLINE_REASON = (
    f"127.0.0.1 未在 {DEADLINE:g} 秒发送时限内答完 / no complete answer from 127.0.0.1 within "
    f"the send's deadline of {DEADLINE:g} s"
)


def webhooks(
    *, deadline: float = DEADLINE, timeout: float = 10.0, trust: Path | None = None
) -> StandardWebhooksProvider:
    config = ProviderConfig(
        name="hooks",
        channel=WEBHOOK,
        kind="standard-webhooks",
        options={"timeout": timeout},
        secrets={"secret": DEV_WEBHOOK_SECRET},
    )
    environment = ProviderEnvironment(
        allowed_webhook_targets=LOOPBACK_ANY_PORT, send_deadline=deadline
    )
    session = None
    if trust is not None:  # a session that trusts the test CA, as test_netguard's do
        session = requests.Session()
        session.trust_env = False
        session.verify = str(trust)
    return StandardWebhooksProvider.from_config(config, environment=environment, session=session)


def message(to: str, number: int = 1) -> Message:
    return Message(
        delivery_id=number,
        idempotency_key=f"policy:1:firm:{number}",
        to=to,
        text="关于技术改造补助申报的通知",
        payload={"title": "关于技术改造补助申报的通知"},
    )


# --- bytes ---------------------------------------------------------------------------------

# A worker process of its own: its peak resident memory is the figure that counts.
SEND_IN_A_PROCESS = """
import json, sys
from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.errors import ChannelError

def peak_mb():
    # VmHWM is this process's own peak; getrusage's ru_maxrss keeps the parent's peak from
    # before exec, which made the figure the size of a long pytest run.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM")

config = ProviderConfig(name="hooks", channel="webhook", kind="standard-webhooks",
                        options={"timeout": 10}, secrets={"secret": sys.argv[2]})
environment = ProviderEnvironment(allowed_webhook_targets=("127.0.0.0/8:*",))
provider = StandardWebhooksProvider.from_config(config, environment=environment)
before = peak_mb()
outcome = {"error": None}
try:
    provider.send(Message(delivery_id=1, idempotency_key="k", to=sys.argv[1], text="t"))
except ChannelError as exc:
    outcome = {"error": type(exc).__name__, "reason": exc.reason}
outcome["before_mb"] = before
outcome["peak_mb"] = peak_mb()
print(json.dumps(outcome))
"""


def test_a_600_mb_error_body_keeps_the_sending_process_small_and_fails_transiently() -> None:
    with FloodPeer(status=500, size=600 * 1024 * 1024) as flood:
        done = subprocess.run(
            [sys.executable, "-c", SEND_IN_A_PROCESS, flood.url(), DEV_WEBHOOK_SECRET],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        assert flood.wait_for_hang_ups(1)
    outcome = json.loads(done.stdout)
    print(
        f"\n600 MB body: peak RSS {outcome['peak_mb']:.0f} MB (before the send "
        f"{outcome['before_mb']:.0f} MB); the peer wrote {flood.sent / 2**20:.1f} MB"
    )
    assert outcome["error"] == "TransientError"
    assert outcome["reason"].startswith("webhook 127.0.0.1 answered HTTP 500: internal error;")
    assert outcome["peak_mb"] < 300
    assert flood.sent < flood.size  # the body was never read to its end


# --- time ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("head", "tls"),
    [(b"", False), (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", False), (b"", True)],
    ids=["status-line-dripped", "body-dripped", "status-line-dripped-over-tls"],
)
def test_a_receiver_dripping_a_byte_a_second_is_cut_at_the_send_deadline(
    head: bytes, tls: bool, tls_files: TlsFiles
) -> None:
    context = tls_files.server_context() if tls else None
    with DripPeer(interval=DRIP_SECONDS, head=head, tls=context) as drip:
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            webhooks(trust=tls_files.ca).send(message(drip.url()))
        took = time.monotonic() - started
        assert drip.wait_for_hang_ups(1)
    print(f"\ndripping receiver cut after {took:.1f} s (deadline {DEADLINE:g} s)")
    assert caught.value.reason == DEADLINE_REASON
    assert took < 30  # the whole answer would take minutes


@pytest.mark.slow
def test_a_tls_handshake_that_never_ends_is_cut_at_the_send_deadline(tls_files: TlsFiles) -> None:
    with SilentPeer() as silent:  # connects, then never says a word: no handshake
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            webhooks(timeout=60, trust=tls_files.ca).send(
                message(f"https://{silent.host}:{silent.port}/hook")
            )
    print(f"\nsilent TLS peer cut after {time.monotonic() - started:.1f} s")
    assert caught.value.reason == DEADLINE_REASON


# --- a batch and its slowest firms ---------------------------------------------------------


def statuses(runtime, ids: list[int]) -> dict[str, str]:
    with runtime.sessions() as session:
        query = select(Delivery.address, Delivery.status).where(Delivery.id.in_(ids))
        return {address: status for address, status in session.execute(query)}


@pytest.mark.slow
def test_two_dripping_firms_in_a_batch_of_seven_do_not_hold_up_the_other_five(
    database_url, make_runtime
):
    with (
        DripPeer(interval=DRIP_SECONDS) as drip_1,
        DripPeer(interval=DRIP_SECONDS) as drip_2,
        RecordingEndpoint() as endpoint,
    ):
        runtime = make_runtime(
            database_url=database_url,
            webhook={"provider": "http"},
            outbound={"deadline_seconds": BATCH_DEADLINE},
        )
        # The slow firms come first: a batch sent one by one would reach the others last.
        slow = [
            Firm(1, channels="webhook", webhook_url=drip_1.url("/slow/1")),
            Firm(2, channels="webhook", webhook_url=drip_2.url("/slow/2")),
        ]
        fast = [
            Firm(n, channels="webhook", webhook_url=endpoint.url_for(f"/fast/{n}"))
            for n in range(3, 8)
        ]
        ids = fanned_out(runtime, slow + fast)
        started = time.time()
        batch = threading.Thread(target=send_batch, args=(runtime, ids))
        batch.start()
        # The five are sent, and recorded as sent, while both slow sends still go on.
        five_sent = wait_until(
            lambda: {statuses(runtime, ids)[f.webhook_url] for f in fast} == {"sent"},
            timeout=30,
            what="the five fast firms sent",
        )
        slow_going_on = not drip_1.hung_up and not drip_2.hung_up
        batch.join()
        ended = time.time()
        assert drip_1.wait_for_hang_ups(1) and drip_2.wait_for_hang_ups(1)

    arrived = sorted(moment - started for _, moment in endpoint.received)
    cut = sorted(moment - started for moment in drip_1.hung_up + drip_2.hung_up)
    print(
        f"\nbatch of 7: the 5 fast firms got their message after {arrived[-1]:.2f} s at most; "
        f"the 2 slow ones were cut after {cut[0]:.1f} and {cut[1]:.1f} s; "
        f"batch {ended - started:.1f} s"
    )
    assert five_sent and slow_going_on
    assert sorted(path for path, _ in endpoint.received) == [f"/fast/{n}" for n in range(3, 8)]
    with runtime.sessions() as session:
        rows = {d.address: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
        tries = session.scalar(select(func.count()).select_from(DeliveryAttempt))
    for firm in slow:
        delivery = rows[firm.webhook_url]
        assert (delivery.status, delivery.attempts) == ("deferred", 1)
        assert "within the send's deadline" in delivery.last_error
    assert tries == 7  # one attempt row per try


# --- allow-lists ---------------------------------------------------------------------------


def providers_for(tmp_path: Path, **settings: object) -> dict:
    loaded = load_settings(config_dir=tmp_path / "none", var_dir=tmp_path / "var", **settings)
    built = build_providers(
        provider_configs_from_settings(loaded), environment=environment_from_settings(loaded)
    )
    return {channel: built.for_channel(channel)[0] for channel in (SMS, WEBHOOK)}


def sms(to: str = "+8613800138000") -> Message:
    return Message(delivery_id=1, idempotency_key="k", to=to, text="【北仑企服】通知")


@pytest.mark.parametrize(
    ("setting", "entry"),
    [
        ("allowed_provider_targets", "127.0.0.1:{port}"),
        # The older name, as the issue found it: one loopback address for an intranet gateway.
        ("allowed_private_targets", "127.0.0.1"),
    ],
)
def test_a_loopback_port_opened_for_the_gateway_is_closed_to_firms_webhooks(
    tmp_path: Path, setting: str, entry: str
) -> None:
    with SmsGateway(key="k", secret="s") as gateway, RecordingEndpoint() as endpoint:
        port = urlsplit(gateway.url).port
        channels = providers_for(
            tmp_path,
            **{setting: [entry.format(port=port)]},
            sms={"provider": "http", "url": gateway.url, "app_key": "k", "app_secret": "s"},
            webhook={"provider": "http"},
        )
        channels[SMS].send(sms())  # the gateway is reached
        for url in (endpoint.url_for("/hook"), gateway.url):  # another port; the gateway's own
            with pytest.raises(PermanentError, match="resolves to loopback address 127.0.0.1"):
                channels[WEBHOOK].send(message(url))
    assert len(gateway.messages) == 1
    assert endpoint.received == []


def test_a_provider_entry_with_a_port_opens_that_port_only(tmp_path: Path) -> None:
    with SmsGateway(key="k", secret="s") as gateway:
        channels = providers_for(
            tmp_path,
            allowed_provider_targets=[f"127.0.0.1:{free_port()}"],
            sms={"provider": "http", "url": gateway.url, "app_key": "k", "app_secret": "s"},
        )
        with pytest.raises(PermanentError, match="allowed on other ports than"):
            channels[SMS].send(sms())
    assert gateway.messages == []


def resolved(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "10.1.2.3"


@pytest.mark.parametrize(
    ("url", "entries", "reached"),
    [
        ("https://10.1.2.3/hook", ["10.1.2.3"], True),
        ("http://10.1.2.3/hook", ["10.1.2.3"], True),
        ("http://10.1.2.3:8080/hook", ["10.1.2.3"], False),  # bare: 80 and 443 only
        ("http://10.1.2.3:8080/hook", ["10.1.2.3:8080"], True),
        ("http://10.1.2.3:8081/hook", ["10.0.0.0/8:8080"], False),
        ("http://10.1.2.3:8081/hook", ["10.0.0.0/8:*"], True),
        ("http://[::1]:9000/hook", ["[::1]:9000"], True),
        ("http://[::1]:9001/hook", ["[::1]:9000"], False),
        ("https://hooks.internal:8443/x", ["hooks.internal:8443"], True),
        ("https://hooks.internal:9443/x", ["hooks.internal:8443"], False),
    ],
)
def test_firms_entries_open_the_ports_they_name_and_bare_ones_only_80_and_443(
    url: str, entries: list[str], reached: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Names resolve to 10.1.2.3; addresses to themselves.
    monkeypatch.setattr(netguard, "_lookup", lambda host, port, *_: [resolved(host)])
    allowed = netguard.AllowList.parse(entries, bare=netguard.WEB_PORTS)
    if reached:
        netguard.check_url(url, allowed=allowed)
    else:
        with pytest.raises(PermanentError, match="refused"):
            netguard.check_url(url, allowed=allowed)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("10.1.2.3:99999", "端口须为 1-65535 或 * / the port must be 1-65535 or *"),
        ("10.1.2.300", "不是主机名、IP 地址或网段 / not a host name, IP address or network"),
        ("::1:9000x", "不是主机名、IP 地址或网段 / not a host name, IP address or network"),
        ("[::1]9000", "方括号写法应为 [::1]:9000 / brackets go as in [::1]:9000"),
        ("http://gw.internal", "端口须为 1-65535 或 * / the port must be 1-65535 or *"),
        (" ", "空项 / an empty entry"),
    ],
)
def test_a_malformed_allow_list_entry_is_refused_naming_the_setting(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path, allowed_webhook_targets=["10.0.0.1:443", entry])
    assert "setting allowed_webhook_targets (NOTIFIER_ALLOWED_WEBHOOK_TARGETS)" in str(caught.value)
    assert problem in str(caught.value)


def test_an_allow_list_in_the_environment_that_is_not_json_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_ALLOWED_WEBHOOK_TARGETS", "10.0.0.1:443")  # not a JSON list
    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path)
    assert str(caught.value) == (
        "invalid settings:\n  setting allowed_webhook_targets (NOTIFIER_ALLOWED_WEBHOOK_TARGETS): "
        '须为 JSON，列表写作 ["a", "b"] / must be JSON in the environment, a list as ["a", "b"]'
    )
