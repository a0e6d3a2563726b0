"""Loopback stand-ins for the cloud SMS vendors and the chat robots, built from their documents.

Each recomputes the request's signature from what arrived on the wire, written from the
vendor's document independently of notifier's signer, and answers a wrong one as the vendor
does. A recipient picks the answer: numbers in :data:`BEHAVIOUR` get throttling, an invalid
number or a server error; every other number is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from support.peers import HttpAnswer, _Handler, _HttpPeer, _json

THROTTLED = "13800000429"
INVALID = "13800000400"
SERVER_ERROR = "13800000500"
BEHAVIOUR = {THROTTLED: "throttled", INVALID: "invalid", SERVER_ERROR: "server-error"}


def _national(number: str) -> str:
    return number.removeprefix("+").removeprefix("86")


def _behaviour(number: str) -> str:
    return BEHAVIOUR.get(_national(number), "ok")


class _PortRecordingHandler(_Handler):
    """Notes the client's port of each request: one port for many requests is one connection.

    HTTP/1.1, as the vendors speak it, so a connection outlives its request.
    """

    protocol_version = "HTTP/1.1"
    # One write per answer: headers and body in separate packets would meet the client's
    # delayed ACK (about 40 ms a request on a kept-alive connection).
    wbufsize = 64 * 1024

    def do_POST(self) -> None:  # noqa: N802 - http.server hook name
        self.peer.client_ports.append(self.client_address[1])  # type: ignore[attr-defined]
        super().do_POST()


# --- Alibaba Cloud ------------------------------------------------------------------------


class AliyunSmsPeer(_HttpPeer):
    """Dysmsapi ``SendSms`` with V3 (ACS3-HMAC-SHA256) signatures.

    https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature:
    CanonicalRequest = method, path, sorted percent-encoded query, ``name:value`` of each
    signed header (lowercase, sorted), the signed header names, the body's SHA-256; the string
    to sign is ``ACS3-HMAC-SHA256\\n`` + hex SHA-256 of it; the signature is hex HMAC-SHA256
    with the AccessKey secret.
    """

    path = ""

    def __init__(self, *, keys: dict[str, str], max_skew: float = 900) -> None:
        super().__init__()
        self.keys = keys
        self.max_skew = max_skew
        self.sent: list[dict[str, str]] = []
        # National number -> (Code, Message) to answer it with, as the vendor's limits would.
        self.refuse: dict[str, tuple[str, str]] = {}
        self._nonces: set[str] = set()
        self.client_ports: list[int] = []
        self._server.RequestHandlerClass = type(
            "Handler", (_PortRecordingHandler,), {"peer": self}
        )

    def _refusal(self, request_path: str, headers: Any, body: bytes) -> HttpAnswer | None:
        auth = headers.get("Authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm != "ACS3-HMAC-SHA256" or not {"Credential", "SignedHeaders",
                                                   "Signature"} <= set(fields):
            return _json(400, {"Code": "IncompleteSignature", "Message": "bad Authorization"})
        secret = self.keys.get(fields["Credential"])
        if secret is None:
            return _json(404, {"Code": "InvalidAccessKeyId.NotFound",
                               "Message": "Specified access key is not found."})
        if hashlib.sha256(body).hexdigest() != headers.get("x-acs-content-sha256"):
            return _json(400, {"Code": "SignatureDoesNotMatch", "Message": "body hash"})
        signed = fields["SignedHeaders"].split(";")
        if not {"host", "x-acs-date", "x-acs-signature-nonce", "x-acs-action"} <= set(signed):
            return _json(400, {"Code": "IncompleteSignature", "Message": "headers not signed"})
        split = urlsplit(request_path)
        pairs = sorted(parse_qsl(split.query, keep_blank_values=True))
        query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
        header_lines = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in signed)
        canonical = "\n".join(["POST", split.path or "/", query, header_lines,
                               ";".join(signed), hashlib.sha256(body).hexdigest()])
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return _json(400, {"Code": "SignatureDoesNotMatch",
                               "Message": "Specified signature does not match our calculation."})
        sent_at = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        if abs(time.time() - sent_at.replace(tzinfo=UTC).timestamp()) > self.max_skew:
            return _json(400, {"Code": "InvalidTimeStamp.Expired", "Message": "expired"})
        nonce = headers.get("x-acs-signature-nonce", "")
        with self._lock:
            if nonce in self._nonces:
                return _json(400, {"Code": "SignatureNonceUsed", "Message": "nonce used"})
            self._nonces.add(nonce)
        return None

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        refusal = self._refusal(path, headers, body)
        if refusal is not None:
            return refusal
        query = dict(parse_qsl(urlsplit(path).query))
        refused = self.refuse.get(_national(query.get("PhoneNumbers", "")))
        if refused is not None:
            return _json(200, {"Code": refused[0], "Message": refused[1], "RequestId": "r"})
        behaviour = _behaviour(query.get("PhoneNumbers", ""))
        if behaviour == "server-error":
            return _json(503, {"Code": "ServiceUnavailable", "Message": "service unavailable"})
        if behaviour == "throttled":
            return _json(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})
        if behaviour == "invalid":
            return _json(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        with self._lock:
            self.sent.append(query)
            number = len(self.sent)
        return _json(200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{number}",
                           "RequestId": f"req-{number}"})


# --- Tencent Cloud ------------------------------------------------------------------------


class TencentSmsPeer(_HttpPeer):
    """``SendSms`` 2021-01-11 with TC3-HMAC-SHA256 signatures.

    https://cloud.tencent.com/document/api/382/52071: CanonicalRequest = method, path, query,
    ``content-type:..\\nhost:..\\n`` (lowercase), ``content-type;host``, hex SHA-256 of the
    body; StringToSign = algorithm, timestamp, ``date/sms/tc3_request``, hex SHA-256 of it; key
    = HMAC chain over ``TC3``+secret, date, service, ``tc3_request``.
    """

    path = "/"

    def __init__(self, *, keys: dict[str, str], max_skew: float = 300) -> None:
        super().__init__()
        self.keys = keys
        self.max_skew = max_skew
        self.sent: list[dict[str, Any]] = []
        # National number -> (Code, Message) of its SendStatus, as the vendor's limits would.
        self.refuse: dict[str, tuple[str, str]] = {}
        self.client_ports: list[int] = []
        self._server.RequestHandlerClass = type(
            "Handler", (_PortRecordingHandler,), {"peer": self}
        )

    def _error(self, code: str, message: str) -> HttpAnswer:
        return _json(200, {"Response": {"Error": {"Code": code, "Message": message},
                                        "RequestId": "req-error"}})

    def _refusal(self, headers: Any, body: bytes) -> HttpAnswer | None:
        auth = headers.get("Authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        secret_id, _, scope = fields.get("Credential", "").partition("/")
        secret = self.keys.get(secret_id)
        if algorithm != "TC3-HMAC-SHA256" or secret is None:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = headers.get("X-TC-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.max_skew:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        date = datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%d")
        if scope != f"{date}/sms/tc3_request" or fields.get("SignedHeaders") != "content-type;host":
            return self._error("AuthFailure.SignatureFailure", "bad credential scope")
        canonical = "\n".join([
            "POST", "/", "",
            f"content-type:{headers.get('Content-Type', '').lower()}\n"
            f"host:{headers.get('Host', '').lower()}\n",
            "content-type;host", hashlib.sha256(body).hexdigest(),
        ])
        to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])

        def mac(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode(), hashlib.sha256).digest()

        key = mac(mac(mac(("TC3" + secret).encode(), date), "sms"), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return self._error("AuthFailure.SignatureFailure",
                               "The provided credentials could not be validated.")
        return None

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        refusal = self._refusal(headers, body)
        if refusal is not None:
            return refusal
        request = json.loads(body)
        [number] = request["PhoneNumberSet"]
        behaviour = _behaviour(number)
        if behaviour == "server-error":
            return self._error("InternalError.Timeout", "The request timed out.")
        code, message = self.refuse.get(_national(number)) or {
            "throttled": ("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内发送频率超限"),
            "invalid": ("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"),
        }.get(behaviour, ("Ok", "send success"))
        serial = ""
        if code == "Ok":
            with self._lock:
                self.sent.append(request)
                serial = f"serial-{len(self.sent)}"
        status = {"SerialNo": serial, "PhoneNumber": number, "Fee": 1, "Code": code,
                  "Message": message, "SessionContext": request.get("SessionContext", ""),
                  "IsoCode": "CN"}
        return _json(200, {"Response": {"SendStatusSet": [status], "RequestId": "req-1"}})


# --- chat robots --------------------------------------------------------------------------


def robot_sign(secret: str, timestamp: str, *, flavour: str) -> str:
    """The robots' documented signs: DingTalk keys HMAC-SHA256 with the secret over
    ``timestamp\\nsecret``; Feishu keys it with ``timestamp\\nsecret`` over nothing."""
    text = f"{timestamp}\n{secret}".encode()
    if flavour == "dingtalk":
        digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    else:
        digest = hmac.new(text, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotPeer(_HttpPeer):
    """A WeCom, DingTalk or Feishu group robot: checks the sign where the flavour has one,
    refuses what is over its documented size (WeCom 40058 past 4,096 bytes of markdown, Feishu
    9499 past a 20 KB body) and answers its own throttling code after ``limit`` messages."""

    def __init__(self, *, flavour: str, secret: str | None = None, limit: int = 1000) -> None:
        super().__init__()
        self.flavour = flavour
        self.secret = secret
        self.limit = limit
        self.received: list[tuple[str, dict[str, Any]]] = []

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        data = json.loads(body)
        query = dict(parse_qsl(urlsplit(path).query))
        if self.flavour == "dingtalk":
            return self._dingtalk(path, query, data)
        if self.flavour == "feishu":
            if len(body) > 20_000:
                return _json(200, {"code": 9499, "msg": "Bad Request", "data": {}})
            return self._feishu(path, data)
        content = data.get("markdown", {}).get("content", "")
        if len(content.encode("utf-8")) > 4096:
            return _json(200, {"errcode": 40058, "errmsg": "markdown.content exceed max length "
                                                           "4096. invalid Request Parameter"})
        return self._accept(path, data, ok={"errcode": 0, "errmsg": "ok"},
                            throttled={"errcode": 45009, "errmsg": "api freq out of limit"})

    def _accept(self, path: str, data: dict[str, Any], *, ok: dict[str, Any],
                throttled: dict[str, Any]) -> HttpAnswer:
        with self._lock:
            if len(self.received) >= self.limit:
                return _json(200, throttled)
            self.received.append((path, data))
        return _json(200, ok)

    def _dingtalk(self, path: str, query: dict[str, str], data: dict[str, Any]) -> HttpAnswer:
        if self.secret is not None:
            timestamp = query.get("timestamp", "")
            fresh = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) < 3600_000
            expected = robot_sign(self.secret, timestamp, flavour="dingtalk")
            if not fresh or not hmac.compare_digest(expected, query.get("sign", "")):
                return _json(200, {"errcode": 310000, "errmsg": "sign not match"})
        return self._accept(path, data, ok={"errcode": 0, "errmsg": "ok"},
                            throttled={"errcode": 130101, "errmsg": "send too fast"})

    def _feishu(self, path: str, data: dict[str, Any]) -> HttpAnswer:
        if self.secret is not None:
            timestamp = str(data.get("timestamp", ""))
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 3600
            expected = robot_sign(self.secret, timestamp, flavour="feishu")
            if not fresh or not hmac.compare_digest(expected, str(data.get("sign", ""))):
                return _json(200, {"code": 19021, "msg": "sign match fail or timestamp is not "
                                                         "within one hour from current time"})
        return self._accept(path, data, ok={"code": 0, "msg": "success", "data": {}},
                            throttled={"code": 11232, "msg": "frequency limited"})
