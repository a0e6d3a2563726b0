"""Group chat robots an enterprise may give as its webhook endpoint: WeCom, DingTalk, Feishu/Lark.

An enterprise's webhook address is read by :func:`parse_endpoint`. Its flavour comes from the
URL's host and path, or is set in the URL's fragment, which is never sent:

* ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..``: WeCom (企业微信) group robot,
  markdown; 20 messages a minute per robot; ``errcode`` 45009 is its throttling.
* ``https://oapi.dingtalk.com/robot/send?access_token=..#secret=SEC..``: DingTalk (钉钉)
  robot, markdown; with a secret each request carries ``timestamp`` (ms) and ``sign`` =
  base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) in the query; 20 a minute; ``errcode``
  130101 is its throttling.
* ``https://open.feishu.cn/open-apis/bot/v2/hook/..#secret=..`` (or ``open.larksuite.com``):
  Feishu/Lark bot, a markdown card; with a secret the body carries ``timestamp`` (s) and
  ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")); 100 a minute;
  ``code`` 9499 is its throttling.
* Anything else is a Standard Webhooks endpoint. ``#robot=wecom`` (``dingtalk``, ``feishu``)
  sets the flavour of a robot behind another host (a private deployment, a proxy).

The robot's secret lives in the fragment of the address, beside the token the URL already
carries, so it is kept, shown and purged exactly like the address it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from notifier.errors import ChannelError, InputError, PermanentError, ThrottledError, TransientError

STANDARD = "standard"
WECOM = "wecom"
DINGTALK = "dingtalk"
FEISHU = "feishu"
ROBOTS = (WECOM, DINGTALK, FEISHU)

# WeCom: "每个机器人发送的消息不能超过20条/分钟"; DingTalk: "每个机器人每分钟最多发送20条";
# Feishu/Lark custom bot: "100 次/分钟，5 次/秒".
PER_MINUTE = {WECOM: 20, DINGTALK: 20, FEISHU: 100}

# WeCom markdown content is at most 4096 bytes; DingTalk and Feishu allow more, but a group
# message should stay short: past this the text is cut with an ellipsis.
MAX_CHARS = 1300

_DETECT = (
    (WECOM, ("qyapi.weixin.qq.com",), "/cgi-bin/webhook/send"),
    (DINGTALK, ("oapi.dingtalk.com",), "/robot/send"),
    (FEISHU, ("open.feishu.cn", "open.larksuite.com"), "/open-apis/bot/v2/hook/"),
)
_THROTTLED = {WECOM: {45009}, DINGTALK: {130101}, FEISHU: {9499}}
# Codes that say "busy, try later" rather than "never".
_TRANSIENT = {WECOM: {-1}, DINGTALK: {-1}, FEISHU: {-1}}


@dataclass(frozen=True)
class Endpoint:
    """An enterprise's webhook address as read: where to post, the flavour, the secret."""

    url: str
    flavour: str
    secret: str | None = None

    @property
    def is_robot(self) -> bool:
        """True for a chat robot, False for a Standard Webhooks endpoint."""
        return self.flavour != STANDARD


def parse_endpoint(address: str) -> Endpoint:
    """Read a webhook address: its URL without fragment, flavour and robot secret.

    Raises:
        InputError: the fragment names an unknown robot.
    """
    parts = urlsplit(address)
    settings = dict(parse_qsl(parts.fragment)) if parts.fragment else {}
    url = urlunsplit(parts._replace(fragment=""))
    flavour = settings.get("robot") or _detect(parts.hostname or "", parts.path)
    if flavour not in (STANDARD, *ROBOTS):
        raise InputError(
            f"未知的机器人类型 / unknown robot {flavour!r} (wecom, dingtalk, feishu)",
            field="webhook_url",
        )
    return Endpoint(url=url, flavour=flavour, secret=settings.get("secret") or None)


def _detect(host: str, path: str) -> str:
    for flavour, hosts, prefix in _DETECT:
        if host.lower() in hosts and path.startswith(prefix):
            return flavour
    return STANDARD


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign``: base64 HMAC-SHA256 keyed with the secret over
    ``f"{timestamp}\\n{secret}"`` (not yet URL-encoded)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's ``sign``: base64 HMAC-SHA256 keyed with ``f"{timestamp}\\n{secret}"`` over
    nothing."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def title_of(text: str) -> str:
    """The first line without markdown marks: the title DingTalk and Feishu show."""
    first = next((line for line in text.splitlines() if line.strip()), "通知")
    return first.strip().lstrip("#").strip().strip("*").strip() or "通知"


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def robot_request(
    endpoint: Endpoint, text: str, *, now: Callable[[], float] = time.time
) -> tuple[str, bytes]:
    """The URL and JSON body that post ``text`` (markdown) to the robot ``endpoint``."""
    text = _short(text)
    url = endpoint.url
    body: dict[str, Any]
    if endpoint.flavour == WECOM:
        body = {"msgtype": "markdown", "markdown": {"content": text}}
    elif endpoint.flavour == DINGTALK:
        body = {"msgtype": "markdown", "markdown": {"title": title_of(text), "text": text}}
        if endpoint.secret:
            stamp = int(now() * 1000)
            sign = quote(dingtalk_sign(endpoint.secret, stamp), safe="")
            url += ("&" if urlsplit(url).query else "?") + f"timestamp={stamp}&sign={sign}"
    else:
        body = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": title_of(text)}},
                "elements": [{"tag": "markdown", "content": text}],
            },
        }
        if endpoint.secret:
            stamp = int(now())
            body = {"timestamp": str(stamp), "sign": feishu_sign(endpoint.secret, stamp), **body}
    return url, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def robot_error(flavour: str, answer: Mapping[str, Any]) -> ChannelError | None:
    """The error a robot's 2xx answer reports in its body (``errcode`` / ``code``), or None."""
    code = answer.get("code" if flavour == FEISHU else "errcode", 0)
    message = answer.get("msg" if flavour == FEISHU else "errmsg", "")
    if code in (0, None):
        return None
    reason = f"{flavour} 机器人 / robot errcode {code}: {message}"[:200]
    if code in _THROTTLED[flavour]:
        return ThrottledError(reason, retry_after=60.0)
    if code in _TRANSIENT[flavour]:
        return TransientError(reason)
    return PermanentError(reason)
