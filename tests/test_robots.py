"""Chat robots as enterprises' webhook endpoints: flavour from the URL, signs the robots check,
their throttling codes, and each robot's messages a minute counted per endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from notifier.channel_names import WEBHOOK
from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.endpoint_limits import LocalWindow, RedisWindow
from notifier.channels.registry import build_providers
from notifier.channels.robots import (
    DINGTALK,
    FEISHU,
    STANDARD,
    WECOM,
    dingtalk_sign,
    feishu_sign,
    parse_endpoint,
    robot_error,
)
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.errors import (
    ConfigError,
    InputError,
    PermanentError,
    ThrottledError,
    TransientError,
)

from peers import WebhookReceiver
from vendor_peers import RobotPeer, robot_sign

WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1mb3ItY2hhbm5lbHM="
ROBOT_SECRET = "SEC0123456789abcdef-robot-secret"
TEXT = (
    "### 【政策发布】高新技术企业认定申报\n**宁波港机械**：区科技局发布新政策。\n\n"
    "[退订](https://x/u/t)"
)


class Ticks:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider(limiter: object | None = None) -> StandardWebhooksProvider:
    config = ProviderConfig(name="hooks", channel=WEBHOOK, kind="standard-webhooks",
                            options={"timeout": 5}, secrets={"secret": WEBHOOK_SECRET})
    environment = ProviderEnvironment(allowed_private_targets=("127.0.0.0/8",))
    built = StandardWebhooksProvider.from_config(config, environment=environment)
    if limiter is not None:
        built._limiter = limiter  # type: ignore[assignment]
    return built


def message(to: str, n: int = 1) -> Message:
    return Message(delivery_id=n, idempotency_key=f"k{n}", to=to, text=TEXT,
                   payload={"type": "policy.published"})


@pytest.fixture
def wecom() -> Iterator[RobotPeer]:
    with RobotPeer(flavour=WECOM) as peer:
        yield peer


# --- flavours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "flavour", "secret"),
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6", WECOM, None),
        ("https://oapi.dingtalk.com/robot/send?access_token=abc#secret=SECx", DINGTALK, "SECx"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/9a2b#secret=s1", FEISHU, "s1"),
        ("https://open.larksuite.com/open-apis/bot/v2/hook/9a2b", FEISHU, None),
        ("https://hooks.example.cn/notifier", STANDARD, None),
        ("https://robot.proxy.example.cn/send?key=1#robot=wecom", WECOM, None),
        ("https://qyapi.weixin.qq.com/other/path", STANDARD, None),
    ],
)
def test_an_endpoints_flavour_comes_from_its_url_or_its_fragment(
    address: str, flavour: str, secret: str | None
) -> None:
    endpoint = parse_endpoint(address)
    assert (endpoint.flavour, endpoint.secret) == (flavour, secret)
    assert "#" not in endpoint.url  # the fragment (and the secret in it) is never sent


def test_an_unknown_robot_in_the_fragment_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown robot 'slack'"):
        parse_endpoint("https://x.example.cn/hook#robot=slack")


def test_the_signs_are_the_documented_ones() -> None:
    # DingTalk's own example: the sign of timestamp 1577262236757 with secret "SEC..."
    # is computed over "timestamp\nsecret" keyed with the secret; Feishu keys with that text.
    assert dingtalk_sign(ROBOT_SECRET, 1577262236757) == robot_sign(
        ROBOT_SECRET, "1577262236757", flavour="dingtalk")
    assert feishu_sign(ROBOT_SECRET, 1599360473) == robot_sign(
        ROBOT_SECRET, "1599360473", flavour="feishu")
    assert dingtalk_sign(ROBOT_SECRET, 1) != feishu_sign(ROBOT_SECRET, 1)


# --- sending -------------------------------------------------------------------------------


def test_a_wecom_robot_gets_the_webhook_text_as_markdown(wecom: RobotPeer) -> None:
    sender = provider()
    result = sender.send(message(f"{wecom.url}?key=abc#robot=wecom"))
    [(path, body)] = wecom.received
    assert path == "/?key=abc"
    assert body == {"msgtype": "markdown", "markdown": {"content": TEXT}}
    assert result.provider == "hooks"


@pytest.mark.parametrize("flavour", [DINGTALK, FEISHU])
def test_signed_robots_accept_the_right_secret_and_refuse_a_wrong_one(flavour: str) -> None:
    sender = provider()
    with RobotPeer(flavour=flavour, secret=ROBOT_SECRET) as peer:
        base = f"{peer.url}?access_token=t#robot={flavour}"
        sender.send(message(f"{base}&secret={ROBOT_SECRET}"))
        [(_, body)] = peer.received
        if flavour == DINGTALK:
            assert body["markdown"]["title"] == "【政策发布】高新技术企业认定申报"
        else:
            assert body["card"]["elements"][0]["content"] == TEXT
        with pytest.raises(PermanentError, match="errcode (310000|19021)"):
            sender.send(message(f"{base}&secret=wrong-secret", n=2))
        assert len(peer.received) == 1


@pytest.mark.parametrize(("flavour", "code", "wait"), [
    (WECOM, 45009, 60.0), (DINGTALK, 130101, 600.0), (FEISHU, 11232, 60.0),
])
def test_a_robots_own_throttling_code_waits_as_long_as_the_robot_locks(
    flavour: str, code: int, wait: float
) -> None:
    sender = provider()
    with RobotPeer(flavour=flavour, limit=0) as peer, pytest.raises(
        ThrottledError, match=str(code)
    ) as caught:
        sender.send(message(f"{peer.url}?k=1#robot={flavour}"))
    assert isinstance(caught.value, TransientError)
    # DingTalk locks a robot for 10 minutes after its 20 a minute: sooner would be refused.
    assert caught.value.retry_after == wait


def test_feishu_11232_is_throttling_and_9499_a_bad_request_that_fails_at_once() -> None:
    # Feishu's documented codes: 11232 "frequency limited", 9499 "Bad Request" (the body's
    # shape or size); they were swapped, so a rate limit failed for good and a bad body was
    # retried until it expired.
    answers = {11232: ThrottledError, 9499: PermanentError}
    for code, expected in answers.items():
        error = robot_error(FEISHU, {"code": code, "msg": "x"})
        assert type(error) is expected, code


def test_a_standard_endpoint_still_gets_a_signed_standard_webhook() -> None:
    with WebhookReceiver(secret=WEBHOOK_SECRET) as receiver:
        provider().send(message(receiver.url))
    [(_, payload)] = receiver.received
    assert payload == {"type": "policy.published"}


# --- messages a minute per endpoint --------------------------------------------------------


def test_a_wecom_robot_takes_20_a_minute_and_another_robot_is_counted_apart(
    wecom: RobotPeer,
) -> None:
    ticks = Ticks()
    sender = provider(LocalWindow(clock=ticks))
    first = f"{wecom.url}?key=first#robot=wecom"
    second = f"{wecom.url}?key=second#robot=wecom"
    for n in range(20):
        ticks.now += 1
        sender.send(message(first, n))
    with pytest.raises(ThrottledError) as caught:
        sender.send(message(first, 99))
    # The first of the 20 (sent at 1001) leaves the window at 1061; it is 1020 now.
    assert caught.value.retry_after == pytest.approx(41.0)
    assert len(wecom.received) == 20  # the 21st was never sent
    sender.send(message(second, 100))  # another robot has its own minute
    ticks.now += 41.5
    sender.send(message(first, 101))
    assert len(wecom.received) == 22


def test_robot_minutes_are_shared_by_processes_through_redis(redis_url: str) -> None:
    ticks = Ticks()
    namespace = os.environ["NOTIFIER_REDIS_NAMESPACE"]
    one = RedisWindow(redis_url, namespace=namespace, clock=ticks)
    two = RedisWindow(redis_url, namespace=namespace, clock=ticks)
    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=shared"
    taken = [(one if n % 2 else two).acquire(robot, 20) for n in range(20)]
    assert taken == [None] * 20
    assert one.acquire(robot, 20) == pytest.approx(60.0)
    assert two.acquire("https://oapi.dingtalk.com/robot/send?access_token=x", 20) is None
    ticks.now += 60.5
    assert two.acquire(robot, 20) is None
    one.close()
    two.close()


def test_robot_per_minute_can_be_set_and_is_checked(wecom: RobotPeer) -> None:
    config = ProviderConfig(name="hooks", channel=WEBHOOK, kind="standard-webhooks",
                            options={"robot_per_minute": {"wecom": 2}},
                            secrets={"secret": WEBHOOK_SECRET})
    environment = ProviderEnvironment(allowed_private_targets=("127.0.0.0/8",))
    [sender] = build_providers([config], environment=environment).for_channel(WEBHOOK)
    for n in range(2):
        sender.send(message(f"{wecom.url}?key=a#robot=wecom", n))
    with pytest.raises(ThrottledError):
        sender.send(message(f"{wecom.url}?key=a#robot=wecom", 3))
    wrong = ProviderConfig(name="hooks", channel=WEBHOOK, kind="standard-webhooks",
                           options={"robot_per_minute": {"slack": 2}},
                           secrets={"secret": WEBHOOK_SECRET})
    with pytest.raises(ConfigError, match="robot_per_minute"):
        build_providers([wrong], environment=environment)
