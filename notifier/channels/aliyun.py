"""Alibaba Cloud SMS (Dysmsapi ``SendSms``, version 2017-05-25), kind ``aliyun-sms``.

Requests are signed with the V3 signature, ``ACS3-HMAC-SHA256``
(https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature): the one
the current SDK (``alibabacloud-tea-openapi``) uses by default. Unlike the older RPC signature
(HMAC-SHA1 over the query only) it covers the headers and a hash of the body, so we sign it here
with our own session (connection reuse, the netguard) and a test checks it equals the SDK's.

The request: ``POST {endpoint}/?PhoneNumbers=..&SignName=..&TemplateCode=..&TemplateParam=..
&OutId=..`` with an empty body; ``OutId`` is the delivery's stable message id (it comes back in
delivery reports). The answer is JSON ``{"Code": "OK", "BizId": "...", "Message": ...}``;
``BizId`` is the id delivery reports name.

Options: ``access_key_id``, ``sign_name``, ``endpoint`` (default
``https://dysmsapi.aliyuncs.com``), ``templates`` (see :mod:`notifier.channels.vendor_sms`),
``timeout``, ``max_length``, ``max_param_length`` (35); secrets: ``access_key_secret``,
``callback_token`` (the token of our callback URLs, see :mod:`notifier.channels.receipts`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote, urlsplit

import phonenumbers
import requests
from pydantic import Field

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment, SendResult
from notifier.channels.http import retry_after
from notifier.channels.options import KindOptions, parse_config
from notifier.channels.vendor_sms import (
    DAILY_PER_ACCOUNT,
    DAILY_PER_NUMBER,
    PER_HOUR,
    PER_MINUTE,
    CodeTable,
    VendorSmsOptions,
    VendorSmsProvider,
    Window,
)
from notifier.errors import ChannelError

ALGORITHM = "ACS3-HMAC-SHA256"
ACTION = "SendSms"
VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# https://help.aliyun.com/zh/sms/developer-reference/api-error-codes (API错误码,
# https://help.aliyun.com/document_detail/101346.html):
# - isv.BUSINESS_LIMIT_CONTROL 业务限流: the per-number flow control (default 1 a minute,
#   5 an hour, 10 a day for codes; 50 a day per template for notices). Its Message names the
#   window hit: "触发分钟级流控Permits:1", "触发小时级流控Permits:5", "触发天级流控Permits:10".
# - isv.DAY_LIMIT_CONTROL 触发日发送限额: the account's daily total set in the console; it
#   lifts the next day. isv.MONTH_LIMIT_CONTROL (monthly) cannot lift within a delivery's
#   life: permanent, like every other isv. code.
# - Throttling, Throttling.User, Throttling.Api: the API's own request rate; backoff.
BUSINESS_WINDOWS = (("分钟级", PER_MINUTE), ("小时级", PER_HOUR), ("天级", DAILY_PER_NUMBER))

CODES = CodeTable(
    windows={"isv.DAY_LIMIT_CONTROL": DAILY_PER_ACCOUNT},
    exact={
        "OK": "sent",
        "isv.BUSINESS_LIMIT_CONTROL": "throttled",
        "isv.DAY_LIMIT_CONTROL": "throttled",
        "Throttling": "throttled",
        "Throttling.User": "throttled",
        "Throttling.Api": "throttled",
        "isv.MOBILE_NUMBER_ILLEGAL": "permanent",
        "isv.MOBILE_COUNT_OVER_LIMIT": "permanent",
        "isv.OUT_OF_SERVICE": "permanent",
        # The balance comes back when staff top the account up: worth retrying until then.
        "isv.AMOUNT_NOT_ENOUGH": "transient",
        "SignatureDoesNotMatch": "permanent",
        "IncompleteSignature": "permanent",
        "InvalidAccessKeyId.NotFound": "permanent",
        "InvalidAccessKeyId.Inactive": "permanent",
        "isp.RAM_PERMISSION_DENY": "permanent",
        # A fresh nonce and time are made for every try.
        "SignatureNonceUsed": "transient",
        "InvalidTimeStamp.Expired": "transient",
        "isp.SYSTEM_ERROR": "transient",
        "ServiceUnavailable": "transient",
        "InternalError": "transient",
    },
    prefixes={"isv.": "permanent", "isp.": "transient", "InvalidAccessKeyId": "permanent"},
)


class AliyunSmsOptions(VendorSmsOptions):
    """The Alibaba Cloud account's options."""

    access_key_id: str = Field(min_length=1)
    endpoint: str = DEFAULT_ENDPOINT


class AliyunSmsSecrets(KindOptions):
    """The AccessKey secret."""

    access_key_secret: str = Field(min_length=1)
    # Ours, not the vendor's: the ``token`` of the callback URLs set at the vendor.
    callback_token: str | None = Field(default=None, min_length=16)


def percent(value: str) -> str:
    """RFC 3986 encoding as the V3 signature wants it (space as %20, ``~`` kept)."""
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(query: Mapping[str, str]) -> str:
    """The query sorted by name, names and values percent-encoded, joined with ``&``."""
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(query.items()))


def authorization(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
    access_key_id: str,
    access_key_secret: str,
) -> str:
    """The ``Authorization`` header of a V3 (``ACS3-HMAC-SHA256``) request; every header in
    ``headers`` is signed.

    Parameters:
        method, path: the request line's method and path (``/``).
        query: the query parameters, not yet encoded.
        headers: the headers to sign (``host``, ``x-acs-*``, ``content-type`` if any).
        payload_sha256: lowercase hex SHA-256 of the body (also sent as
            ``x-acs-content-sha256``).
    """
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(str(value).strip())
    names = sorted(lowered)
    canonical_headers = "".join(f"{n}:{','.join(sorted(lowered[n]))}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [method, path or "/", canonical_query(query), canonical_headers, signed_headers,
         payload_sha256]
    )
    hashed = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{hashed}"
    signature = hmac.new(
        access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},"
        f"Signature={signature}"
    )


def acs_date(moment: float | None = None) -> str:
    """``x-acs-date``: UTC in ISO 8601, whole seconds (``2026-11-25T09:00:00Z``)."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class AliyunSmsProvider(VendorSmsProvider):
    """Sends each message as one signed ``SendSms`` request to Alibaba Cloud."""

    kind: ClassVar[str] = "aliyun-sms"
    codes: ClassVar[CodeTable] = CODES

    def __init__(
        self, *, config: ProviderConfig, options: AliyunSmsOptions, access_key_secret: str,
        environment: ProviderEnvironment, session: requests.Session | None = None,
    ) -> None:
        super().__init__(config=config, options=options, environment=environment, session=session)
        self._key_id = options.access_key_id
        self._secret = access_key_secret
        self._endpoint = options.endpoint.rstrip("/")

    @classmethod
    def from_config(
        cls, config: ProviderConfig, *, environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> AliyunSmsProvider:
        """Build the provider from its config.

        Raises:
            ConfigError: an option or the secret is missing or wrong, a kind in use has no
                template, or a template's params do not match its text.
        """
        options, secrets = parse_config(config, AliyunSmsOptions, AliyunSmsSecrets)
        return cls(
            config=config, options=options, access_key_secret=secrets.access_key_secret,
            environment=environment, session=session,
        )

    def phone_number(self, to: str) -> str:
        """Mainland numbers as 11 digits; others as country code and number, no ``+``."""
        number = self.national_number(to)
        if number.country_code == 86:
            return str(number.national_number)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]

    def send(self, message: Message) -> SendResult:
        """Send one templated SMS.

        Raises:
            ThrottledError: the vendor's flow control (``isv.BUSINESS_LIMIT_CONTROL``, with
                the window its message names) or the account's day limit.
            TransientError: timeout, connection error, a server error.
            PermanentError: an invalid number, a refused signature or key, a bad template.
        """
        if "template_code" not in message.payload:
            raise self.failure("没有短信模板 / message has no template code", transient=False)
        query = {
            "PhoneNumbers": self.phone_number(message.to),
            "SignName": self.sign_name,
            "TemplateCode": str(message.payload["template_code"]),
            "TemplateParam": json.dumps(
                message.payload.get("params", {}), ensure_ascii=False, separators=(",", ":")
            ),
            "OutId": message.message_id,
        }
        headers = {
            "host": urlsplit(self._endpoint).netloc,
            "x-acs-action": ACTION,
            "x-acs-version": VERSION,
            "x-acs-date": acs_date(),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": EMPTY_SHA256,
        }
        headers["Authorization"] = authorization(
            method="POST", path="/", query=query, headers=headers, payload_sha256=EMPTY_SHA256,
            access_key_id=self._key_id, access_key_secret=self._secret,
        )
        url = f"{self._endpoint}/?{canonical_query(query)}"
        response = self.post(url, body=b"", headers=headers, message=message)
        data = _json(response)
        code = str(data.get("Code", ""))
        if code != "OK":
            raise self._error(code, data, response.status_code)
        biz_id = data.get("BizId")
        return SendResult(provider=self.name, provider_message_id=str(biz_id) if biz_id else None)

    def error_for(self, url: str, response: requests.Response) -> ChannelError:
        """Read the vendor's ``Code`` from a non-2xx answer (signature, key, server errors)."""
        data = _json(response)
        return self._error(
            str(data.get("Code", "")), data, response.status_code, wait=retry_after(response)
        )

    def _error(
        self, code: str, data: Mapping[str, object], status: int, *, wait: float | None = None
    ) -> ChannelError:
        message = str(data.get("Message", ""))
        reason = f"阿里云短信 / aliyun sms {code or f'HTTP {status}'}: {message}"
        return self.codes.error(
            code, reason[: self.reason_limit], status=status, retry_after=wait,
            window=business_window(code, message),
        )


def business_window(code: str, message: str) -> Window | None:
    """The window an ``isv.BUSINESS_LIMIT_CONTROL`` answer's message names, if it names one."""
    if code != "isv.BUSINESS_LIMIT_CONTROL":
        return None
    return next((window for level, window in BUSINESS_WINDOWS if level in message), None)


def _json(response: requests.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
