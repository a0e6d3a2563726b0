"""Chat robots as enterprises' webhook endpoints: flavour from the URL, signs the robots check,
their throttling codes, and each robot's messages a minute counted per endpoint."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.registry import build_providers
from notifier.channels.robots import (
    DINGTALK,
    FEISHU,
    STANDARD,
    WECOM,
    dingtalk_sign,
    feishu_sign,
    fit,
    parse_endpoint,
    robot_error,
)
from notifier.channels.webhook import StandardWebhooksProvider
from notifier.domain.channel_names import WEBHOOK
from notifier.domain.time_source import ManualTime
from notifier.errors import (
    ConfigError,
    InputError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from notifier.guards.backends import MemoryBackend
from notifier.guards.endpoint_limits import EndpointLimiter, endpoint_limiter
from notifier.rendering.messages import Link, markdown_text
from notifier.runtime import Runtime
from notifier.store.models import Delivery

from support.deliveries import fanned_out
from support.factories import Firm, send_batch
from support.peers import WebhookReceiver
from support.vendor_peers import RobotPeer, robot_sign
from support.web_harness import web_app

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
    environment = ProviderEnvironment(allowed_webhook_targets=("127.0.0.0/8:*",))
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
    sender = provider(EndpointLimiter(MemoryBackend(), time_source=ticks))
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
    one, two = (
        endpoint_limiter(redis_url, namespace=namespace, time_source=ticks) for _ in range(2)
    )
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
    environment = ProviderEnvironment(allowed_webhook_targets=("127.0.0.0/8:*",))
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


# --- what data may put in a robot's markdown -------------------------------------------------

PHISH = "[点此领取补贴](https://evil.example/phish) <at id=all>"
# A markdown link and where it points.
LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")


def robot_firm_delivery(
    make_runtime: Any, database_url: str, peer: RobotPeer, *, name: str | None = None,
    **policy_fields: Any,
) -> tuple[Runtime, int]:
    """A firm whose webhook is the ``peer`` robot, reached by a published policy."""
    runtime = make_runtime(
        ManualTime(datetime.now(UTC)), database_url=database_url,
        webhook={"provider": "http", "secret": WEBHOOK_SECRET},
    )
    firm = Firm(1, channels="webhook", name=name,
                webhook_url=f"{peer.url}?key=k#robot={peer.flavour}")
    (delivery_id,) = fanned_out(runtime, [firm], **policy_fields)
    return runtime, delivery_id


def test_a_firm_name_with_a_link_and_a_mention_reaches_the_robot_as_inert_text(
    make_runtime: Any, database_url: str, wecom: RobotPeer
) -> None:
    runtime, delivery_id = robot_firm_delivery(make_runtime, database_url, wecom, name=PHISH)

    send_batch(runtime, [delivery_id])
    assert status(runtime, delivery_id) == "sent", last_error(runtime, delivery_id)

    [(_, body)] = wecom.received
    content = body["markdown"]["content"]
    assert "点此领取补贴" in content and "evil.example/phish" in content  # shown, as text
    assert "<at" not in content and "](https://evil" not in content
    assert "https://evil" not in content  # not even a bare link a client would underline
    public = runtime.settings.public_url.rstrip("/")
    targets = [target for _, target in LINK.findall(content)]
    # The full text, the firm's page, unsubscribe.
    assert targets == ["https://www.bl.gov.cn/policy/1", targets[1], targets[-1]]
    assert targets[1].startswith(f"{public}/p/") and targets[-1].startswith(f"{public}/u/")


def robot_markdown(flavour: str, body: dict[str, Any]) -> str:
    """The markdown a robot's request body carries."""
    if flavour == FEISHU:
        return str(body["card"]["elements"][0]["content"])
    return str(body["markdown"]["text" if flavour == DINGTALK else "content"])


@pytest.mark.parametrize("flavour", [WECOM, DINGTALK, FEISHU])
def test_each_robots_policy_message_links_the_firms_page_which_opens(
    make_runtime: Any, database_url: str, flavour: str
) -> None:
    with RobotPeer(flavour=flavour) as peer:
        runtime, delivery_id = robot_firm_delivery(make_runtime, database_url, peer)
        send_batch(runtime, [delivery_id])
        [(_, body)] = peer.received
    public = runtime.settings.public_url.rstrip("/")
    pages = [
        target
        for words, target in LINK.findall(robot_markdown(flavour, body))
        if words == "办事指引与回复"
    ]
    assert len(pages) == 1 and pages[0].startswith(f"{public}/p/")
    page = TestClient(web_app(runtime)).get(pages[0].removeprefix(public))
    assert page.status_code == 200 and "汽车零部件技术改造补助申报通知" in page.text


def test_an_emoji_heavy_policy_reaches_wecom_under_4096_bytes_with_its_links(
    make_runtime: Any, database_url: str, wecom: RobotPeer
) -> None:
    # Topics are names: joiners are refused there (textrules); the summary keeps the families.
    topics = [f"主题{n}" + "🏭👷🇨🇳🎯" * 8 for n in range(20)]
    runtime, delivery_id = robot_firm_delivery(
        make_runtime, database_url, wecom, title="🎉" * 150 + "技术改造补助", topics=topics,
        summary="💡👨‍👩‍👧‍👦" * 100,
    )
    full = runtime.messages.build(
        delivery(runtime, delivery_id), runtime.providers.for_channel("webhook")[0]
    ).text
    assert len(full.encode("utf-8")) > 4096  # as rendered, WeCom would refuse it (40058)

    send_batch(runtime, [delivery_id])

    assert status(runtime, delivery_id) == "sent"
    [(_, body)] = wecom.received
    content = body["markdown"]["content"]
    size = len(content.encode("utf-8"))
    print(f"\nemoji-heavy policy: {len(full.encode('utf-8'))} bytes rendered, {size} sent")
    assert size <= 4096
    [(_, full_text), (_, page), (_, unsubscribe)] = LINK.findall(content)[-3:]
    assert full_text == "https://www.bl.gov.cn/policy/1" and "/u/" in unsubscribe
    assert "/p/" in page  # the firm's page, kept whole with the other links
    assert "…" in content
    kept = content.split("…")[0]
    assert kept == full[: len(kept)]  # cut at a whole emoji: what is kept is the start as is


def test_a_feishu_card_is_cut_to_its_20_kb_body_keeping_the_links() -> None:
    text = "### 标题\n**企业**：" + "通知正文🙂" * 3000 + "\n\n[查看全文](https://x/a)\n\n[退订](https://x/u/t)"
    with RobotPeer(flavour=FEISHU) as peer:
        provider().send(Message(delivery_id=1, idempotency_key="k", to=f"{peer.url}#robot=feishu",
                                text=text))
        [(_, body)] = peer.received
    size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    content = body["card"]["elements"][0]["content"]
    assert size <= 20_000
    assert content.endswith("…\n\n[查看全文](https://x/a)\n\n[退订](https://x/u/t)")


@pytest.mark.parametrize("limit", range(40, 120, 7))
def test_a_cut_never_splits_an_emoji_or_a_link(limit: int) -> None:
    body = "**宁波🇨🇳企业**👨‍👩‍👧‍👦 [中间链接](https://x/mid) 正文é" * 4
    text = f"{body}\n\n[退订](https://x/u/t)"
    cut = fit(text, lambda t: len(t.encode("utf-8")) <= limit + 40)
    assert len(cut.encode("utf-8")) <= limit + 40
    kept = cut.split("…")[0]
    assert text.startswith(kept)
    assert kept.count("**") % 2 == 0
    assert "[中间链接](" not in kept or "[中间链接](https://x/mid)" in kept
    assert not kept.endswith(("\u200d", "\U0001F1E8", "e"))  # no half a family, flag or é
    assert cut.endswith("[退订](https://x/u/t)")


def test_markdown_text_shows_data_inert_and_keeps_links_as_targets() -> None:
    assert markdown_text("**粗** [a](b) <at id=all> `c` # d\n> e") == (
        "＊＊粗＊＊ ［a］（b） ＜at id=all＞ ｀c｀ ＃ d ＞ e"
    )
    assert markdown_text("see https://evil.example") == "see https：//evil.example"
    assert markdown_text(Link("https://x.cn/a b)(c")) == "https://x.cn/a%20b%29%28c"
    assert markdown_text(Link("javascript:alert(1)")) == "javascript:alert（1）"  # text
    assert markdown_text(None) == "None" and markdown_text(3) == "3"


def delivery(runtime: Runtime, delivery_id: int) -> Delivery:
    """The delivery with all that rendering needs, as a worker loads it."""
    from notifier.store.deliveries import load_for_sending

    with runtime.sessions() as session:
        [loaded] = load_for_sending(session, [delivery_id], now=runtime.time_source.now())
        session.expunge_all()
        return loaded


def status(runtime: Runtime, delivery_id: int) -> str:
    with runtime.sessions() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found.status


def last_error(runtime: Runtime, delivery_id: int) -> str | None:
    with runtime.sessions() as session:
        found = session.get(Delivery, delivery_id)
        return found.last_error if found else None
