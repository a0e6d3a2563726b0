"""Delivery reports and inbound replies the SMS vendors push to us, read into plain values.

Alibaba Cloud (HTTP batch push, https://help.aliyun.com/zh/sms/developer-reference/
configure-delivery-receipts-1): ``SmsReport`` is a JSON array of
``{"phone_number", "send_time", "report_time", "success", "err_code", "err_msg", "sms_size",
"biz_id", "out_id"}``; ``SmsUp`` an array of ``{"phone_number", "send_time", "content",
"sign_name", "dest_code", "sequence_id"}``. Times are Beijing time, ``YYYY-MM-DD hh:mm:ss``.

Tencent Cloud (https://cloud.tencent.com/document/product/382/52077 and 52078): the status
callback is a JSON array of ``{"user_receive_time", "nationcode", "mobile", "report_status"
("SUCCESS"/"FAIL"), "errmsg", "description", "sid"}``, ``sid`` being the ``SerialNo``
``SendSms`` answered; the reply callback one object ``{"nationcode", "mobile", "text",
"sign", "time" (unix seconds), "extend"}``.

Neither vendor signs these pushes, so each provider's callback URL carries a secret token of
ours (``?token=...``), checked with :func:`check_token` before anything is read.
"""

from __future__ import annotations

import hmac
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers

from notifier.errors import InputError

ReportStatus = Literal["delivered", "failed"]
DELIVERED: ReportStatus = "delivered"
FAILED: ReportStatus = "failed"
VENDOR_ZONE = ZoneInfo("Asia/Shanghai")
# The replies that mean "no more SMS": 退订 and the carriers' TD / T / N, and STOP.
STOP_WORDS = frozenset({"TD", "T", "退订", "N", "STOP"})


@dataclass(frozen=True)
class Receipt:
    """A delivery report: the vendor's id of the message and what became of it."""

    provider_message_id: str
    status: ReportStatus
    at: datetime | None
    error: str | None = None


@dataclass(frozen=True)
class Reply:
    """An SMS a recipient sent back: their number (E.164), the text, when."""

    phone: str
    text: str
    at: datetime | None


class CallbackRefused(InputError):
    """A push without our token, or with another one."""


def check_token(expected: str | None, given: str | None) -> None:
    """Refuse a push whose ``token`` is not ours (or when no token is configured).

    Raises:
        CallbackRefused: no token configured, none given, or a different one.
    """
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CallbackRefused("回调令牌不对 / callback token missing or wrong", field="token")


def is_stop_word(text: str) -> bool:
    """True for TD, T, 退订, N or STOP, whatever the case, width or spaces around."""
    return unicodedata.normalize("NFKC", text).strip().upper() in STOP_WORDS


def _records(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"回调不是 JSON / callback is not JSON: {exc}", field="body") from None
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise InputError("回调应为 JSON 对象或数组 / callback must be objects", field="body")
    return items


def _local_time(text: Any, zone: tzinfo = VENDOR_ZONE) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    except ValueError:
        return None


def _e164(number: Any, country: Any = "86") -> str:
    raw = str(number or "").strip()
    text = raw if raw.startswith("+") else f"+{str(country or '86').lstrip('+')}{raw}"
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InputError(f"不是电话号码 / not a phone number: {raw!r}", field="mobile") from exc
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _each(body: bytes, read: Callable[[dict[str, Any]], Any]) -> list[Any]:
    """Every record read; a record without what it needs is an input error naming it."""
    read_all = []
    for index, item in enumerate(_records(body)):
        try:
            read_all.append(read(item))
        except (KeyError, TypeError) as exc:
            raise InputError(
                f"回调第 {index + 1} 条缺少 {exc} / record {index + 1} lacks {exc}", field="body"
            ) from None
    return read_all


def aliyun_reports(body: bytes) -> list[Receipt]:
    """Read an Alibaba Cloud ``SmsReport`` push.

    Raises:
        InputError: not JSON, or a record without ``biz_id``.
    """

    def read(item: dict[str, Any]) -> Receipt:
        ok = item.get("success") in (True, "true", "True")
        error = None if ok else f"{item.get('err_code', '')} {item.get('err_msg', '')}".strip()
        return Receipt(
            provider_message_id=str(item["biz_id"]),
            status=DELIVERED if ok else FAILED,
            at=_local_time(item.get("report_time")),
            error=error,
        )

    return _each(body, read)


def aliyun_replies(body: bytes) -> list[Reply]:
    """Read an Alibaba Cloud ``SmsUp`` push.

    Raises:
        InputError: not JSON, or a record without a number or content.
    """

    def read(item: dict[str, Any]) -> Reply:
        return Reply(_e164(item["phone_number"]), str(item["content"]),
                     _local_time(item.get("send_time")))

    return _each(body, read)


def tencent_reports(body: bytes) -> list[Receipt]:
    """Read a Tencent Cloud status callback.

    Raises:
        InputError: not JSON, or a record without ``sid``.
    """

    def read(item: dict[str, Any]) -> Receipt:
        ok = str(item.get("report_status", "")).upper() == "SUCCESS"
        error = None if ok else f"{item.get('errmsg', '')} {item.get('description', '')}".strip()
        return Receipt(
            provider_message_id=str(item["sid"]),
            status=DELIVERED if ok else FAILED,
            at=_local_time(item.get("user_receive_time")),
            error=error,
        )

    return _each(body, read)


def tencent_replies(body: bytes) -> list[Reply]:
    """Read a Tencent Cloud reply callback.

    Raises:
        InputError: not JSON, or a record without a number or text.
    """

    def read(item: dict[str, Any]) -> Reply:
        stamp = str(item.get("time"))
        at = datetime.fromtimestamp(int(stamp), tz=UTC) if stamp.isdigit() else None
        return Reply(_e164(item["mobile"], item.get("nationcode")), str(item["text"]), at)

    return _each(body, read)


Readers = tuple[Callable[[bytes], list[Receipt]], Callable[[bytes], list[Reply]]]

# Kind -> (reports reader, replies reader), and the answer each vendor expects back.
READERS: dict[str, Readers] = {
    "aliyun-sms": (aliyun_reports, aliyun_replies),
    "tencent-sms": (tencent_reports, tencent_replies),
}
ANSWERS: dict[str, dict[str, Any]] = {
    "aliyun-sms": {"code": 0, "msg": "成功"},
    "tencent-sms": {"result": 0, "errmsg": "OK"},
}


def readers_for(kind: str) -> Readers:
    """The report and reply readers of a provider kind.

    Raises:
        InputError: the kind takes no callbacks.
    """
    try:
        return READERS[kind]
    except KeyError:
        raise InputError(f"服务商类型 {kind} 没有回调 / kind {kind!r} takes no callbacks",
                         field="provider") from None
