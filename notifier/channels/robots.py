"""Group chat robots an enterprise may give as its webhook endpoint: WeCom, DingTalk, Feishu/Lark.

An enterprise's webhook address is read by :func:`parse_endpoint`. Its flavour comes from the
URL's host and path, or is set in the URL's fragment, which is never sent:

* ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..``: WeCom (企业微信) group robot,
  markdown of at most 4,096 bytes; 20 messages a minute per robot; ``errcode`` 45009 is its
  throttling.
* ``https://oapi.dingtalk.com/robot/send?access_token=..#secret=SEC..``: DingTalk (钉钉)
  robot, markdown; with a secret each request carries ``timestamp`` (ms) and ``sign`` =
  base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) in the query; 20 a minute; ``errcode``
  130101 is its throttling, which locks the robot for 10 minutes.
* ``https://open.feishu.cn/open-apis/bot/v2/hook/..#secret=..`` (or ``open.larksuite.com``):
  Feishu/Lark bot, a markdown card in a body of at most 20 KB; with a secret the body carries
  ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""));
  100 a minute; ``code`` 11232 is its throttling, 9499 a bad request.
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
import re
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

# The size each robot takes, in UTF-8 bytes, and what it is measured on:
# - WeCom: markdown.content "最长不超过4096个字节，必须是utf8编码"; more is errcode 40058
#   "markdown.content exceed max length 4096" (a permanent failure).
# - Feishu: "请求体大小不能超过20k" (the whole JSON body); more is code 9499 "Bad Request".
# - DingTalk documents no size for a custom robot's markdown: held to WeCom's 4,096 bytes.
MAX_CONTENT_BYTES = {WECOM: 4096, DINGTALK: 4096}
MAX_BODY_BYTES = {FEISHU: 20_000}
ELLIPSIS = "…"

_DETECT = (
    (WECOM, ("qyapi.weixin.qq.com",), "/cgi-bin/webhook/send"),
    (DINGTALK, ("oapi.dingtalk.com",), "/robot/send"),
    (FEISHU, ("open.feishu.cn", "open.larksuite.com"), "/open-apis/bot/v2/hook/"),
)
# Each robot's throttling codes, with the seconds until it takes messages again:
# - WeCom 45009 "api freq out of limit": 20 a minute per robot, so the minute passes.
# - DingTalk 130101 "send too fast, exceed 20 times per minute": "每个机器人每分钟最多发送20条
#   消息到群里，如果超过20条，会限流10分钟" (custom robot access guide): 10 minutes.
# - Feishu 11232 "frequency limited": 100 a minute and 5 a second per bot, and at busy round
#   times ("建议发送消息尽量避开诸如 10:00、17:30 等整点及半点时间，否则可能出现因系统压力导致的
#   11232 限流错误", open.feishu.cn frequency-control guide): a minute. Feishu's 9499 "Bad
#   Request" is a body it cannot take (wrong shape, over 20 KB): permanent, like any code below.
_THROTTLED: dict[str, dict[int, float]] = {
    WECOM: {45009: 60.0}, DINGTALK: {130101: 600.0}, FEISHU: {11232: 60.0}
}
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


# A markdown link [..](..); a line of nothing but links (and separators) is a line of links.
_LINK = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)")
_SEPARATORS = " \t·|/、，,"


def _only_links(line: str) -> bool:
    return not _LINK.sub("", line).strip(_SEPARATORS)


# What a cut never splits: a link, a **bold** span, an HTML-like element or tag, a flag, and a
# character with the marks, variation selectors, skin tones and joined emoji that follow it.
_ATOM = re.compile(
    r"\[[^\]\n]*\]\([^)\n]*\)"
    r"|\*\*[^*\n]*\*\*"
    r"|<([A-Za-z]+)[^>\n]*>[^<\n]*</\1>|<[^>\n]*>"
    r"|[\U0001F1E6-\U0001F1FF]{2}"
    r"|.[\u0300-\u036f\u20d0-\u20ff\ufe00-\ufe0f\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]*"
    r"(?:\u200d.[\u0300-\u036f\ufe00-\ufe0f\U0001F3FB-\U0001F3FF]*)*",
    re.DOTALL,
)


def fit(text: str, fits: Callable[[str], bool]) -> str:
    """``text`` cut so that ``fits`` holds: the body is cut (with an ellipsis) and the trailing
    lines of links (full text, the firm's page, unsubscribe, done) are kept whole; a cut never
    splits a character, an emoji or a markdown construct."""
    if fits(text):
        return text
    lines = text.split("\n")
    start = len(lines)
    while start > 0 and _only_links(lines[start - 1]):
        start -= 1
    body, links = "\n".join(lines[:start]), "\n".join(lines[start:]).strip("\n")
    if links:
        cut = _cut(body, f"{ELLIPSIS}\n\n{links}", fits)
        if cut is not None:
            return cut
    # The links alone are too long (or there are none): cut the whole text.
    return _cut(text, ELLIPSIS, fits) or ELLIPSIS


def _cut(body: str, ending: str, fits: Callable[[str], bool]) -> str | None:
    """The longest start of ``body``, in whole atoms, that fits with ``ending``; None if even
    ``ending`` alone does not."""
    atoms = [match.group(0) for match in _ATOM.finditer(body)]
    low, high = 0, len(atoms)  # bisection: fits() may build a whole request body
    while low < high:
        middle = (low + high + 1) // 2
        if fits("".join(atoms[:middle]).rstrip() + ending):
            low = middle
        else:
            high = middle - 1
    cut = "".join(atoms[:low]).rstrip() + ending
    return cut if fits(cut) else None


def _content_fits(flavour: str) -> Callable[[str], bool]:
    limit = MAX_CONTENT_BYTES.get(flavour)
    if limit is None:
        return lambda text: True
    return lambda text: len(text.encode("utf-8")) <= limit


def robot_request(
    endpoint: Endpoint, text: str, *, now: Callable[[], float] = time.time
) -> tuple[str, bytes]:
    """The URL and JSON body that post ``text`` (markdown) to the robot ``endpoint``, cut to
    the robot's size limit (:func:`fit`)."""
    text = fit(text, _content_fits(endpoint.flavour))
    if endpoint.flavour in MAX_BODY_BYTES:
        limit = MAX_BODY_BYTES[endpoint.flavour]
        text = fit(text, lambda cut: len(_robot_body(endpoint, cut, now)[1]) <= limit)
    return _robot_body(endpoint, text, now)


def _robot_body(
    endpoint: Endpoint, text: str, now: Callable[[], float]
) -> tuple[str, bytes]:
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
        return ThrottledError(reason, retry_after=_THROTTLED[flavour][code])
    if code in _TRANSIENT[flavour]:
        return TransientError(reason)
    return PermanentError(reason)
