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

A push is read record by record: a record the vendor's document does not allow (a missing id,
a nested value, a control character, a number of hundreds of digits) is rejected with its
reason and the others are taken (see :class:`Batch`).
"""

from __future__ import annotations

import hmac
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers

from notifier.domain.plaintext import first_control_character, shown
from notifier.errors import InputError

ReportStatus = Literal["delivered", "failed"]
DELIVERED: ReportStatus = "delivered"
FAILED: ReportStatus = "failed"
VENDOR_ZONE = ZoneInfo("Asia/Shanghai")
# The replies that mean "no more SMS": 退订 and the carriers' TD / T / N, and STOP.
STOP_WORDS = frozenset({"TD", "T", "退订", "N", "STOP"})
# The replies that refuse marketing SMS only (the "拒收请回复R" marketing messages carry).
REFUSE_WORDS = frozenset({"R", "拒收", "拒收R"})
# A reply holding this word is a complaint, whatever else it says.
COMPLAINT_WORD = "投诉"
ReplyKind = Literal["unsubscribe", "refuse", "complaint", "other"]
# The longest message id a delivery keeps (``deliveries.provider_message_id``).
MAX_ID_LENGTH = 200
# Digits past which a JSON integer is not read as a number (ids and unix times are far shorter).
MAX_NUMBER_DIGITS = 40
# A reply's text may hold line breaks and tabs; no other control character.
TEXT_ALLOWED = "\n\r\t"


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


Record = TypeVar("Record", Receipt, Reply)


class CallbackRefused(InputError):
    """A push without our token, with another one, or for no provider that takes callbacks:
    one message for all, so that a push cannot tell which providers exist."""

    def __init__(self) -> None:
        super().__init__(
            "回调地址或令牌不对 / no such callback URL, or its token is missing or wrong",
            field="token",
        )


def _utf8(text: str) -> bytes:
    # Bytes, since compare_digest takes only ASCII str; a lone surrogate passes unharmed.
    return text.encode("utf-8", "surrogatepass")


def check_token(expected: str | None, given: str | None) -> None:
    """Refuse a push whose ``token`` is not ours (or when no token is configured); the
    comparison takes the same time wherever the two differ.

    Raises:
        CallbackRefused: no token configured, none given, or a different one.
    """
    same = hmac.compare_digest(_utf8(expected or ""), _utf8(given or ""))
    if not (expected and given and same):
        raise CallbackRefused()


def _word(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


def is_stop_word(text: str) -> bool:
    """True for TD, T, 退订, N or STOP, whatever the case, width or spaces around."""
    return _word(text) in STOP_WORDS


def reply_kind(text: str) -> ReplyKind:
    """What a reply means: ``unsubscribe`` (TD family: no more SMS), ``refuse`` (R, 拒收: no
    more marketing SMS), ``complaint`` (it holds 投诉), else ``other``."""
    word = _word(text)
    if word in STOP_WORDS:
        return "unsubscribe"
    if word in REFUSE_WORDS:
        return "refuse"
    return "complaint" if COMPLAINT_WORD in word else "other"


class _BadRecord(Exception):
    """One record of a push that cannot be taken; the others still are."""


class _LongNumber(str):
    """A JSON integer of more digits than any vendor sends, kept as its digits: ``int()`` of
    thousands of digits is slow, and refused past Python's 4,300-digit limit."""


def _json_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= MAX_NUMBER_DIGITS else _LongNumber(digits)


def _records(body: bytes) -> list[Any]:
    """The records of a push: a JSON array, or one object (Tencent's reply callback).

    Raises:
        InputError: not UTF-8 JSON, nested too deeply, or neither an array nor an object.
    """
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_json_int)
    except RecursionError:
        # The C parser stops at the interpreter's recursion limit: a vendor's push is two deep.
        raise InputError("回调 JSON 嵌套过深 / callback JSON is nested too deeply",
                         field="body") from None
    except (UnicodeDecodeError, ValueError) as exc:
        reason = shown(str(exc), limit=120)
        raise InputError(f"回调不是 JSON / callback is not JSON: {reason}", field="body") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise InputError("回调应为 JSON 对象或数组 / callback must be an object or an array",
                     field="body")


def _text(item: dict[str, Any], key: str, *, allowed: str = "") -> str | None:
    """The field ``key`` of a record as text, None when absent or null.

    Raises:
        _BadRecord: the value is an array or object, a number of too many digits, or text
            holding control characters (a NUL aborts a PostgreSQL transaction).
    """
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, _LongNumber):
        raise _BadRecord(f"{key} 数字过长 / {key} is a number of {len(value)} digits")
    if isinstance(value, dict | list):
        raise _BadRecord(f"{key} 应为文字或数字 / {key} must be text or a number")
    text = str(value)
    control = first_control_character(text, allowed=allowed)
    if control:
        raise _BadRecord(f"{key} 含控制字符 / {key} contains a control character ({control})")
    return text


def _required(item: dict[str, Any], key: str, *, allowed: str = "") -> str:
    text = _text(item, key, allowed=allowed)
    if text is None:
        raise _BadRecord(f"缺少 {key} / lacks {key}")
    return text


def _message_id(item: dict[str, Any], key: str) -> str:
    text = _required(item, key)
    if not text or len(text) > MAX_ID_LENGTH:
        # No message of ours carries such an id: it can match nothing.
        raise _BadRecord(f"{key} 应为 1-{MAX_ID_LENGTH} 个字符 / {key} must be "
                         f"1-{MAX_ID_LENGTH} characters")
    return text


# A time that is not one is unknown (None): the record is still taken.
def _local_time(value: Any, zone: tzinfo = VENDOR_ZONE) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    except ValueError:
        return None


def _unix_time(value: Any) -> datetime | None:
    text = value if isinstance(value, str) else str(value) if type(value) is int else ""
    # Eleven digits reach the year 5138; more would overflow datetime.
    if not (text.isascii() and text.isdigit() and len(text) <= 11):
        return None
    return datetime.fromtimestamp(int(text), tz=UTC)


def _e164(number: str, country: str | None = "86") -> str:
    raw = number.strip()
    text = raw if raw.startswith("+") else f"+{(country or '86').lstrip('+')}{raw}"
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise _BadRecord(f"不是电话号码 / not a phone number: {shown(raw)!r}") from None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Rejected:
    """A record of a push that was not taken: its place (from 1) and why."""

    record: int
    reason: str

    def __str__(self) -> str:
        return f"第 {self.record} 条 record {self.record}: {self.reason}"


@dataclass(frozen=True)
class Batch(Generic[Record]):
    """What one push held: the records read, those refused, and how many were left unread
    because the push had more than ``max_records``."""

    taken: list[Record]
    rejected: list[Rejected]
    skipped: int = 0


def _each(
    body: bytes, read: Callable[[dict[str, Any]], Record], max_records: int | None
) -> Batch[Record]:
    """Every record read: a bad one is rejected with its reason, and the others still taken
    (a vendor retries a refused push whole, so refusing it for one record loses the rest)."""
    records = _records(body)
    kept = records if max_records is None else records[:max_records]
    taken: list[Record] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(kept, start=1):
        try:
            if not isinstance(item, dict):
                raise _BadRecord("应为 JSON 对象 / must be a JSON object")
            taken.append(read(item))
        except _BadRecord as exc:
            rejected.append(Rejected(index, str(exc)))
    return Batch(taken, rejected, len(records) - len(kept))


def _receipt(
    item: dict[str, Any], ok: bool, *, id_key: str, error_keys: tuple[str, str], time_key: str
) -> Receipt:
    """A report record as a Receipt; the vendor's own fields name the id, error and time."""
    error = " ".join(_text(item, key) or "" for key in error_keys).strip()
    return Receipt(
        provider_message_id=_message_id(item, id_key),
        status=DELIVERED if ok else FAILED,
        at=_local_time(item.get(time_key)),
        error=None if ok else error,
    )


@dataclass(frozen=True)
class PushReader(Generic[Record]):
    """Reads a vendor's push of one kind, each record with ``record``, which raises
    ``_BadRecord`` for a record it cannot take."""

    record: Callable[[dict[str, Any]], Record]

    def __call__(self, body: bytes, *, max_records: int | None = None) -> Batch[Record]:
        """The push read (see :func:`_each`).

        Raises:
            InputError: not JSON, or not an array or object.
        """
        return _each(body, self.record, max_records)


def _aliyun_report(item: dict[str, Any]) -> Receipt:
    ok = _text(item, "success") in ("True", "true")
    return _receipt(item, ok, id_key="biz_id", error_keys=("err_code", "err_msg"),
                    time_key="report_time")


def _aliyun_reply(item: dict[str, Any]) -> Reply:
    return Reply(_e164(_required(item, "phone_number")),
                 _required(item, "content", allowed=TEXT_ALLOWED),
                 _local_time(item.get("send_time")))


def _tencent_report(item: dict[str, Any]) -> Receipt:
    ok = (_text(item, "report_status") or "").upper() == "SUCCESS"
    return _receipt(item, ok, id_key="sid", error_keys=("errmsg", "description"),
                    time_key="user_receive_time")


def _tencent_reply(item: dict[str, Any]) -> Reply:
    return Reply(_e164(_required(item, "mobile"), _text(item, "nationcode")),
                 _required(item, "text", allowed=TEXT_ALLOWED),
                 _unix_time(item.get("time")))


aliyun_reports = PushReader(_aliyun_report)
"""Reads an Alibaba Cloud ``SmsReport`` push (a record without ``biz_id`` is rejected)."""
aliyun_replies = PushReader(_aliyun_reply)
"""Reads an Alibaba Cloud ``SmsUp`` push (a record without a number or content is rejected)."""
tencent_reports = PushReader(_tencent_report)
"""Reads a Tencent Cloud status callback (a record without ``sid`` is rejected)."""
tencent_replies = PushReader(_tencent_reply)
"""Reads a Tencent Cloud reply callback (a record without a number or text is rejected)."""


Readers = tuple[PushReader[Receipt], PushReader[Reply]]

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
